"""Export the layer's requirements.txt from pyproject.toml (one dependency source), or check it.

python -m infra.requirements --write   # regenerate layers/pollen/requirements.txt
python -m infra.requirements --check   # fail if it drifted (run by `make test`)
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"
TARGET = ROOT / "layers" / "pollen" / "requirements.txt"
HEADER = (
    "# Generated from pyproject.toml by `make requirements`; do not edit.\n"
    "# SAM installs these into the Pollen layer (template.yaml: PollenLayer).\n"
)


def render() -> str:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    return HEADER + "".join(f"{dep}\n" for dep in project["dependencies"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true")
    mode.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    expected = render()
    if args.write:
        TARGET.write_text(expected)
        print(f"wrote {TARGET.relative_to(ROOT)}")
        return 0
    if not TARGET.exists() or TARGET.read_text() != expected:
        print(f"{TARGET.relative_to(ROOT)} is out of date: run `make requirements`", file=sys.stderr)
        return 1
    print(f"{TARGET.relative_to(ROOT)} matches pyproject.toml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
