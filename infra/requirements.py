"""Export the layer's requirements.txt from uv.lock (one resolution for development, CI and Lambda), or
check it.

python -m infra.requirements --write   # regenerate layers/pollen/requirements.txt (part of `make lock`)
python -m infra.requirements --check   # fail if it drifted from uv.lock (run by `make test`)

The layer gets pyproject's runtime dependencies at the versions and hashes uv.lock pins, minus what the
Lambda Python runtime already provides (boto3, botocore, s3transfer, jmespath) and what only those need
(python-dateutil, urllib3, six): shipping them again would make the layer bigger and colder, and would
put a second boto3 over the runtime's.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "layers" / "pollen" / "requirements.txt"
# In every Lambda Python runtime already; powertools and aws-xray-sdk import them from there.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath")
HEADER = (
    "# Exported from uv.lock by `make lock` (infra/requirements.py); do not edit.\n"
    "# The Pollen layer's packages (template.yaml: PollenLayer, built by layers/pollen/Makefile),\n"
    f"# without what the Lambda runtime provides ({', '.join(RUNTIME_PROVIDED)}) and what only they need.\n"
)


def uv() -> str:
    """The uv that `make install` puts in .tools/, else one on PATH."""
    for candidate in (os.environ.get("UV"), str(ROOT / ".tools" / "bin" / "uv"), shutil.which("uv")):
        if candidate and Path(candidate).is_file():
            return candidate
    raise SystemExit("uv not found: run `make install` (it installs uv into .tools/)")


def layer_packages(lock: dict[str, Any]) -> set[str]:
    """Packages reachable from the project's runtime dependencies without passing through one the
    runtime provides (extras followed)."""
    packages = {package["name"]: package for package in lock["package"]}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["name"]
    reached: set[str] = set()
    todo = list(packages[project].get("dependencies", []))
    while todo:
        dependency = todo.pop()
        name = dependency["name"]
        if name in RUNTIME_PROVIDED:
            continue
        package = packages[name]
        for extra in dependency.get("extra", []):
            todo.extend(package.get("optional-dependencies", {}).get(extra, []))
        if name not in reached:
            reached.add(name)
            todo.extend(package.get("dependencies", []))
    return reached


def render() -> str:
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    keep = layer_packages(lock)
    command = [uv(), "export", "--frozen", "--no-dev", "--no-emit-project", "--format", "requirements.txt"]
    command += ["--no-header", "--quiet"]
    for name in sorted({package["name"] for package in lock["package"]} - keep):
        command += ["--no-emit-package", name]
    exported = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return HEADER + exported


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
        print(f"{TARGET.relative_to(ROOT)} does not match uv.lock: run `make lock`", file=sys.stderr)
        return 1
    print(f"{TARGET.relative_to(ROOT)} matches uv.lock")
    return 0


if __name__ == "__main__":
    sys.exit(main())
