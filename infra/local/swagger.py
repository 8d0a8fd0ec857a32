"""Swagger UI for ``make dev``, served from the ``swagger-ui-py`` package: no CDN, works offline.

``GET /docs`` is the page, ``GET /docs/assets/<file>`` its script, styles and icons, read from the
package's ``static`` directory (Swagger UI 5, which reads OpenAPI 3.1). The page points at
``/openapi.json``; every keyed operation there requires the ``ApiKey`` scheme, so "Authorize" sets
``X-Api-Key`` for "Try it out".
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

ASSET_PREFIX = "/docs/assets/"
ASSETS = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "favicon-32x32.png": "image/png",
    "favicon-16x16.png": "image/png",
}
PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Pollen API</title>
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png" sizes="32x32">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui", persistAuthorization: true});
  </script>
</body>
</html>
"""

Served = tuple[int, list[tuple[str, str]], bytes]


@cache
def _static_dir() -> Path:
    import swagger_ui  # noqa: PLC0415 - a dev dependency, only the local stack serves the docs

    return Path(swagger_ui.__file__).resolve().parent / "static"


def serve(path: str) -> Served | None:
    """The docs page or one of its assets, or None when ``path`` is neither."""
    if path in ("/docs", "/docs/"):
        return 200, [("content-type", "text/html; charset=utf-8")], PAGE.encode()
    if not path.startswith(ASSET_PREFIX):
        return None
    name = path[len(ASSET_PREFIX) :]
    if name not in ASSETS:  # a fixed list: nothing else of the file system is reachable
        return 404, [("content-type", "application/json")], b'{"message":"Not Found"}'
    body = (_static_dir() / name).read_bytes()
    return 200, [("content-type", ASSETS[name]), ("cache-control", "max-age=3600")], body
