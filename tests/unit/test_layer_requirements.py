"""The layer ships exactly the locked runtime dependencies, hash-checked, without what Lambda provides."""

from __future__ import annotations

import py_compile
import re
import sys
from pathlib import Path
from typing import Any

from infra import layer_size
from infra.requirements import RUNTIME_PROVIDED, TARGET, layer_packages

ROOT = Path(__file__).resolve().parents[2]


def _pins(text: str) -> dict[str, str]:
    return dict(re.findall(r"^([a-z0-9][a-z0-9._-]*)==(\S+)", text, re.MULTILINE))


def test_the_layer_requirements_are_pinned_hashed_and_leave_out_the_runtimes_own() -> None:
    text = TARGET.read_text()
    pins = _pins(text)
    assert {"aws-lambda-powertools", "pydantic", "pydantic-core", "httpx"} <= pins.keys()
    assert not pins.keys() & {*RUNTIME_PROVIDED, "python-dateutil", "urllib3", "six"}
    requirements = [r for r in re.split(r"(?<!\\)\n", text) if r.strip() and not r.strip().startswith("#")]
    assert len(requirements) == len(pins)
    assert all("--hash=sha256:" in requirement for requirement in requirements)


def test_what_only_the_runtimes_packages_need_is_left_out_but_shared_needs_stay() -> None:
    def package(name: str, *deps: str, **extras: list[str]) -> dict[str, Any]:
        optional = {extra: [{"name": d} for d in names] for extra, names in extras.items()}
        return {"name": name, "dependencies": [{"name": d} for d in deps], "optional-dependencies": optional}

    lock = {
        "package": [
            {"name": "pollen", "dependencies": [{"name": "tool", "extra": ["x"]}, {"name": "boto3"}]},
            package("tool", "jmespath", x=["tracer"]),
            package("tracer", "botocore", "wrapt"),
            package("boto3", "botocore", "s3transfer", "jmespath"),
            package("botocore", "urllib3", "python-dateutil", "shared"),
            package("wrapt", "shared"),
            package("shared"),
            package("urllib3"),
            package("python-dateutil"),
            package("s3transfer"),
            package("jmespath"),
        ]
    }
    assert layer_packages(lock) == {"tool", "tracer", "wrapt", "shared"}


def test_sam_builds_the_layer_with_our_makefile(template: dict[str, Any]) -> None:
    layer = template["Resources"]["PollenLayer"]
    assert layer["Metadata"]["BuildMethod"] == "makefile"
    assert layer["Metadata"]["BuildArchitecture"] == "arm64"
    makefile = (ROOT / layer["Properties"]["ContentUri"] / "Makefile").read_text()
    assert "build-PollenLayer:" in makefile
    for flag in ("--require-hashes", "--no-deps", "--only-binary=:all:", "--platform", "--python-version"):
        assert flag in makefile
    runtime = template["Globals"]["Function"]["Runtime"]
    assert f"LAMBDA_PYTHON ?= {runtime.removeprefix('python')}" in makefile
    assert layer["Properties"]["CompatibleRuntimes"] == [runtime]
    # bytecode for the runtime's CPython, which the bench counts (infra/layer_size.py)
    assert "compileall" in makefile
    assert "--invalidation-mode unchecked-hash" in makefile
    assert "env -u PYTHONPYCACHEPREFIX" in makefile  # else `make build` (which exports it) ships none
    assert "cpython-" + runtime.removeprefix("python").replace(".", "") == layer_size.BYTECODE_TAG


def test_the_bench_counts_the_modules_without_bytecode(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    for name in ("a", "b"):
        (package / f"{name}.py").write_text("X = 1\n")
    tag = str(sys.implementation.cache_tag)
    cached = package / "__pycache__" / f"a.{tag}.pyc"  # where Lambda looks (no PYTHONPYCACHEPREFIX there)
    py_compile.compile(str(package / "a.py"), cfile=str(cached), doraise=True)
    assert layer_size.compiled_modules(tmp_path, tag) == (1, 2)
    assert layer_size.compiled_modules(tmp_path, "cpython-99") == (0, 2)
