"""``make bench``: the Pollen layer as Lambda receives it, zipped, against 10 MiB.

Builds the layer with its own recipe (layers/pollen/Makefile: the locked wheels for Lambda's
CPython on arm64, without the runtime's boto3 and botocore, with bytecode for that CPython) into a
temporary directory, zips it as ``sam build`` does and prints both sizes, and how many of its modules
have their bytecode (a module without compiles at every cold start: Lambda's /opt is read-only). pip
fetches the wheels from PyPI (or its cache).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUDGET_BYTES = 10 * 1024 * 1024
TOOLS_PYTHON = ROOT / ".tools" / "bin" / "python"  # has pip (`make install` creates it)
BYTECODE_TAG = "cpython-313"  # Lambda's runtime (template.yaml: python3.13)


def compiled_modules(site: Path, tag: str = BYTECODE_TAG) -> tuple[int, int]:
    """(modules with bytecode for ``tag``, modules) of the ``.py`` files under ``site``."""
    sources = [path for path in site.rglob("*.py") if path.is_file()]
    cached = [path.parent / "__pycache__" / f"{path.stem}.{tag}.pyc" for path in sources]
    return sum(1 for pyc in cached if pyc.is_file()), len(sources)


def zipped_size(directory: Path, archive: Path) -> tuple[int, int]:
    """(bytes unzipped, bytes of the deflated zip) of everything under ``directory``."""
    unzipped = 0
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                unzipped += path.stat().st_size
                zipped.write(path, path.relative_to(directory))
    return unzipped, archive.stat().st_size


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="pollen-layer-") as tmp:
        artifacts = Path(tmp) / "layer"
        python = str(TOOLS_PYTHON if TOOLS_PYTHON.is_file() else sys.executable)
        subprocess.run(
            [
                "make",
                "--no-print-directory",
                "-f",
                str(ROOT / "layers" / "pollen" / "Makefile"),
                "build-PollenLayer",
            ],
            env={**os.environ, "ARTIFACTS_DIR": str(artifacts), "PYTHON": python},
            check=True,
        )
        if (artifacts / "python" / "botocore").exists() or (artifacts / "python" / "boto3").exists():
            print("The layer ships boto3/botocore: the Lambda runtime provides them", file=sys.stderr)
            return 1
        compiled, modules = compiled_modules(artifacts / "python")
        unzipped, size = zipped_size(artifacts, Path(tmp) / "layer.zip")
    verdict = "ok" if size <= BUDGET_BYTES else "OVER BUDGET"
    print("Pollen layer (layers/pollen/Makefile, arm64, zipped)")
    print(f"  {unzipped / 2**20:.1f} MiB unzipped, {size / 2**20:.1f} MiB zipped of 10 MiB budget: {verdict}")
    whole = compiled == modules
    print(
        f"  bytecode for {BYTECODE_TAG}: {compiled} of {modules} modules"
        + ("" if whole else " (NOT ALL: each cold start compiles the rest; set LAMBDA_BYTECODE_PYTHON)")
    )
    return 0 if size <= BUDGET_BYTES and whole else 1


if __name__ == "__main__":
    sys.exit(main())
