"""``make bench``: what the storefront widget costs a shop page: its one script, gzipped, against 60 KB."""

from __future__ import annotations

import sys
from pathlib import Path

from infra.dashboard_size import gzip_size

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "web" / "widget" / "dist" / "pollen-widget.js"
BUDGET_BYTES = 60 * 1024


def main() -> int:
    if not SCRIPT.is_file():
        print("widget not built: run `make widget`", file=sys.stderr)
        return 1
    size = gzip_size(SCRIPT)
    verdict = "ok" if size <= BUDGET_BYTES else "OVER BUDGET"
    print("Storefront widget JavaScript (gzip -9)")
    print(f"  {SCRIPT.name:<36} {size / 1024:7.1f} KB of {BUDGET_BYTES // 1024} KB budget: {verdict}")
    return 0 if size <= BUDGET_BYTES else 1


if __name__ == "__main__":
    sys.exit(main())
