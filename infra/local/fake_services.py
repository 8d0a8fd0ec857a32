"""Klaviyo and Omnisend, faked for ``make dev`` (which has no internet).

Mounted as the transport of the one outbound HTTP client (``container().http``), so the key check
made when an integration is saved and every delivery to these two services are answered here,
while signed webhooks to any other host (a receiver on localhost, webhook.site...) go out as usual.

Each fake accepts one documented demo key and refuses every other key as the real service does:

- Klaviyo (``a.klaviyo.com``, ``Authorization: Klaviyo-API-Key …``): :data:`DEMO_KLAVIYO_KEY`.
  ``GET /api/accounts`` → 200 (401 for another key); ``POST /api/events`` → 202.
- Omnisend (``api.omnisend.com``, ``X-API-KEY`` or ``Authorization: Omnisend-API-Key …``):
  :data:`DEMO_OMNISEND_KEY`. ``GET /v5/contacts`` → 200 (401 for another key);
  ``POST /api/events`` and ``POST /v5/events`` → 202.

What they received is kept in :attr:`FakeMarketing.received` (newest last, at most 200).
"""

from __future__ import annotations

import json
import threading
from collections import deque
from typing import Any

import httpx

DEMO_KLAVIYO_KEY = "pk_pollen_local_demo_key"
DEMO_OMNISEND_KEY = "pollen-local-demo-omnisend-key"
KLAVIYO_HOST = "a.klaviyo.com"
OMNISEND_HOST = "api.omnisend.com"


class FakeMarketing(httpx.BaseTransport):
    """Answers Klaviyo and Omnisend requests; hands every other request to ``passthrough``."""

    def __init__(self, passthrough: httpx.BaseTransport | None = None) -> None:
        self._passthrough = passthrough or httpx.HTTPTransport()
        self._lock = threading.Lock()
        self.received: deque[dict[str, Any]] = deque(maxlen=200)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        if host == KLAVIYO_HOST:
            return self._answer(request, "klaviyo", self._klaviyo(request))
        if host == OMNISEND_HOST:
            return self._answer(request, "omnisend", self._omnisend(request))
        return self._passthrough.handle_request(request)

    def close(self) -> None:
        self._passthrough.close()

    def _answer(self, request: httpx.Request, service: str, response: httpx.Response) -> httpx.Response:
        request.read()
        body: Any = None
        if request.content:
            try:
                body = json.loads(request.content)
            except ValueError:
                body = request.content.decode(errors="replace")
        with self._lock:
            self.received.append(
                {
                    "service": service,
                    "method": request.method,
                    "path": request.url.path,
                    "status": response.status_code,
                    "body": body,
                }
            )
        return response

    @staticmethod
    def _klaviyo(request: httpx.Request) -> httpx.Response:
        key = request.headers.get("authorization", "").removeprefix("Klaviyo-API-Key ")
        if key != DEMO_KLAVIYO_KEY:
            return httpx.Response(
                401,
                json={"errors": [{"status": 401, "code": "not_authenticated", "title": "Invalid API key."}]},
            )
        if request.method == "GET" and request.url.path == "/api/accounts":
            return httpx.Response(200, json={"data": [{"type": "account", "id": "PollenLocal"}]})
        if request.method == "POST" and request.url.path == "/api/events":
            return httpx.Response(202)
        return httpx.Response(404, json={"errors": [{"status": 404, "title": "Not found (local fake)."}]})

    @staticmethod
    def _omnisend(request: httpx.Request) -> httpx.Response:
        key = request.headers.get("x-api-key") or request.headers.get("authorization", "").removeprefix(
            "Omnisend-API-Key "
        )
        if key != DEMO_OMNISEND_KEY:
            return httpx.Response(401, json={"error": "Forbidden: invalid API key"})
        if request.method == "GET" and request.url.path == "/v5/contacts":
            return httpx.Response(200, json={"contacts": [], "paging": {}})
        if request.method == "POST" and request.url.path in {"/api/events", "/v5/events"}:
            return httpx.Response(202, json={})
        return httpx.Response(404, json={"error": "Not found (local fake)"})
