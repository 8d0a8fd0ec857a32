"""Static files for the local server: the built dashboard (``web/dashboard/dist``) under ``/dashboard``.

``/dashboard`` and ``/dashboard/`` answer ``index.html`` (the app routes with the URL's fragment, so no
other fallback is needed); ``/dashboard/assets/...`` are Vite's content-hashed files, cached for a year.
Anything outside the folder (``..``, symlinks out) is a 404. A missing build answers 503 with what to run.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from pathlib import Path

ResponseParts = tuple[int, list[tuple[str, str]], bytes]

TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
}


@dataclass(frozen=True)
class StaticSite:
    prefix: str  # "/dashboard"
    root: Path  # the built folder

    def serve(self, method: str, path: str) -> ResponseParts | None:
        """The response for ``path`` if it lies under the prefix, else ``None`` (not ours)."""
        if path != self.prefix and not path.startswith(self.prefix + "/"):
            return None
        if method not in ("GET", "HEAD"):
            return _text(405, "Method Not Allowed")
        index = self.root / "index.html"
        if not index.is_file():
            return _text(503, f"The dashboard is not built: run `make dashboard` (expected {index}).")
        relative = path[len(self.prefix) :].lstrip("/")
        target = (self.root / relative).resolve() if relative else index
        root = self.root.resolve()
        if not target.is_relative_to(root) or not target.is_file():
            return _text(404, "Not Found")
        guessed = mimetypes.guess_type(target.name)[0]
        content_type = TYPES.get(target.suffix) or guessed or "application/octet-stream"
        immutable = target.parent.name == "assets"
        cache = "public, max-age=31536000, immutable" if immutable else "no-cache"
        return 200, [("content-type", content_type), ("cache-control", cache)], target.read_bytes()


def _text(status: int, message: str) -> ResponseParts:
    return status, [("content-type", "text/plain; charset=utf-8")], message.encode()
