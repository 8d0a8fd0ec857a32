"""``/docs`` in ``make dev`` works with no network: the page and every asset it names come from the
``swagger-ui-py`` package, and nothing points at a CDN."""

from __future__ import annotations

import re

from infra.local.server import LocalApi, LocalRequest


def _get(api: LocalApi, path: str) -> tuple[int, dict[str, str], bytes]:
    status, headers, body = api.handle(LocalRequest("GET", path, []))
    return status, dict(headers), body


def test_the_docs_page_and_its_assets_are_served_locally() -> None:
    api = LocalApi(functions=[], invoke=lambda spec, event: None)
    status, headers, page = _get(api, "/docs")
    assert status == 200
    assert headers["content-type"].startswith("text/html")
    html = page.decode()
    assert not re.search(r"(src|href)=\"(https?:)?//", html), "the page must not load anything remote"
    assets = re.findall(r"(?:src|href)=\"(/docs/assets/[^\"]+)\"", html)
    assert "/docs/assets/swagger-ui-bundle.js" in assets
    assert "/docs/assets/swagger-ui.css" in assets
    for asset in assets:
        status, headers, body = _get(api, asset)
        assert status == 200, asset
        assert len(body) > 100, asset
    bundle = _get(api, "/docs/assets/swagger-ui-bundle.js")[2]
    assert b"SwaggerUIBundle" in bundle
    assert b"isOAS31" in bundle  # Swagger UI 5: it reads the OpenAPI 3.1 document we serve


def test_nothing_else_of_the_file_system_is_reachable() -> None:
    api = LocalApi(functions=[], invoke=lambda spec, event: None)
    for path in ("/docs/assets/../__init__.py", "/docs/assets/index.html", "/docs/assets/%2e%2e/core.py"):
        assert _get(api, path)[0] == 404
