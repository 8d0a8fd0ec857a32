"""infra/template.py reads YAML with libyaml's parser: the same documents as PyYAML's pure-Python one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from infra import template

ROOT = Path(__file__).resolve().parents[2]

# Scalars and structures whose reading depends on the resolver and constructors, not on the parser
# alone: both loaders must turn them into the same values.
EDGE_CASES = """\
AWSTemplateFormatVersion: 2010-09-09
when: 2024-01-02T03:04:05Z
flags: [yes, no, on, off, true, False, ~, null]
numbers: [0o17, 017, 0x1F, 1_000, 1e3, .inf, -.Inf, +12, 3.0]
strings: ['2010-09-09', "tab\\there", plain text, "null"]
folded: >-
  one
  two
literal: |
  line one
   line two
anchors: &shared {a: 1, b: [x, y]}
alias: *shared
merged: {<<: *shared, c: 3}
ref: !Ref Thing
attr: !GetAtt Thing.Arn
attr_list: !GetAtt [Thing, Arn]
sub: !Sub "arn:${AWS::Partition}:s3:::${Bucket}/*"
nested: !If [IsProd, !Join ["-", [a, !Ref B]], !Ref "AWS::NoValue"]
condition: !Condition IsProd
"""


class _PurePythonCfnLoader(yaml.SafeLoader):
    """CfnLoader's resolvers and constructors on PyYAML's pure-Python parser."""


_PurePythonCfnLoader.yaml_implicit_resolvers = template.CfnLoader.yaml_implicit_resolvers
_PurePythonCfnLoader.yaml_constructors = template.CfnLoader.yaml_constructors


def _pure(text: str) -> Any:
    return yaml.load(text, Loader=_PurePythonCfnLoader)  # noqa: S506 - a SafeLoader


def test_the_template_loader_parses_with_libyaml() -> None:
    assert yaml.__with_libyaml__, "PyYAML without libyaml: the template loader falls back to pure Python"
    assert issubclass(template.CfnLoader, yaml.CSafeLoader)


@pytest.mark.parametrize("text", [(ROOT / "template.yaml").read_text(encoding="utf-8"), EDGE_CASES])
def test_libyaml_reads_the_same_document_as_pure_python(text: str) -> None:
    parsed = template.parse_template(text)
    assert parsed == _pure(text)
    assert repr(parsed) == repr(_pure(text))  # the same types and key order too
