"""``make bench``: how much JavaScript the dashboard's first load costs (gzip), against a 300 KB budget.

First load = the scripts ``web/dashboard/dist/index.html`` loads (``<script src>``) and preloads
(``<link rel="modulepreload">``); chunks imported on demand (the chart) are reported apart.
"""

from __future__ import annotations

import gzip
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "web" / "dashboard" / "dist"
BUDGET_BYTES = 300 * 1024
_ASSET = re.compile(r"""(?:src|href)="/dashboard/(assets/[^"]+\.js)\"""")


def gzip_size(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), compresslevel=9))


def first_load(dist: Path) -> list[Path]:
    """The JS files index.html makes the browser fetch before the app runs."""
    return [dist / name for name in dict.fromkeys(_ASSET.findall((dist / "index.html").read_text()))]


def main() -> int:
    if not (DIST / "index.html").is_file():
        print("dashboard not built: run `make dashboard`", file=sys.stderr)
        return 1
    initial = first_load(DIST)
    lazy = sorted(set((DIST / "assets").glob("*.js")) - set(initial))
    total = sum(gzip_size(p) for p in initial)
    print("Dashboard JavaScript (gzip -9)")
    for path in initial:
        print(f"  first load  {path.name:<36} {gzip_size(path) / 1024:7.1f} KB")
    for path in lazy:
        print(f"  on demand   {path.name:<36} {gzip_size(path) / 1024:7.1f} KB")
    verdict = "ok" if total <= BUDGET_BYTES else "OVER BUDGET"
    print(f"  first load total {total / 1024:.1f} KB of {BUDGET_BYTES // 1024} KB budget: {verdict}")
    return 0 if total <= BUDGET_BYTES else 1


if __name__ == "__main__":
    sys.exit(main())
