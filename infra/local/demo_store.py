"""``make dev``'s demo storefront: a plain shop page (with a hostile theme) embedding the widget.

- ``GET /demo-store``: signed in as the demo shopper (``?lang=fr``: French); ``/demo-store/guest``: a guest.
- ``GET /demo-store/token``: the merchant endpoint a real store writes: the shopper's customer token.
  It asks Pollen for one (``POST /v1/customer-tokens`` with the demo's write key, which stays on this
  "server"); the page itself only ever holds the app key (scope ``public``) and that token.
- ``GET /demo-store/shopify``: the same shopper, its token obtained the Shopify way
  (``token-mode="app-proxy"``): ``GET /apps/pollen/customer-token`` plays Shopify's App Proxy, adding
  ``shop``, ``logged_in_customer_id``, ``path_prefix``, ``timestamp`` and the ``signature`` (keyed with
  the demo shop's secret) before forwarding to ``/v1/shopify/app-proxy/customer-token``.
- ``GET /widget/pollen-widget.js``: the built widget (``web/widget/dist``).

The demo shopper is created on the first token request, with 1,000 welcome coins (idempotent adjustment).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

ResponseParts = tuple[int, list[tuple[str, str]], bytes]
Handle = Callable[[str, str, dict[str, str], bytes], ResponseParts]  # method, target, headers, body

DEMO_SHOPPER = "demo-shopper"
WELCOME_COINS = 1000
PAGE = Path(__file__).with_name("demo_store.html")
APP_PROXY_PATH = "/apps/pollen/customer-token"  # the storefront path Shopify would proxy
PATHS = (
    "/demo-store",
    "/demo-store/",
    "/demo-store/guest",
    "/demo-store/shopify",
    "/demo-store/token",
    APP_PROXY_PATH,
)
TOKEN_ATTRIBUTES = {
    False: 'token-url="/demo-store/token"',
    True: f'token-mode="app-proxy" proxy-path="{APP_PROXY_PATH}"',
}
NO_STORE = ("cache-control", "no-store")


@dataclass
class DemoStorefront:
    state_dir: Path  # where `make dev` wrote demo-store.json
    widget_dist: Path  # web/widget/dist
    _ready: bool = field(default=False, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def serve(self, method: str, path: str, query: str, call: Handle) -> ResponseParts | None:
        """The response for a demo path, else ``None``; ``call`` runs a request through the local API."""
        if path == "/widget/pollen-widget.js":
            return self._script()
        if path not in PATHS:
            return None
        if method != "GET":
            return _text(405, "Method Not Allowed")
        demo = self._demo()
        if demo is None:
            return _text(503, "The demo store is not seeded (start the stack with `make dev`).")
        keys: dict[str, str] = demo["api_keys"]
        if path in ("/demo-store/token", APP_PROXY_PATH):
            return self._token(keys, call) if path == "/demo-store/token" else self._app_proxy(demo, call)
        lang = (parse_qs(query).get("lang") or ["en"])[0]
        guest = path == "/demo-store/guest"
        html = (
            PAGE.read_text()
            .replace("{{LANG}}", escape(lang if lang in ("en", "fr") else "en"))
            .replace("{{APP_KEY}}", escape(app_key(keys)))
            .replace("{{TOKEN_ATTR}}", "" if guest else TOKEN_ATTRIBUTES[path == "/demo-store/shopify"])
            .replace("{{WHO}}", "Browsing as a guest" if guest else f"Signed in as {DEMO_SHOPPER}")
        )
        return 200, [("content-type", "text/html; charset=utf-8"), NO_STORE], html.encode()

    def _script(self) -> ResponseParts:
        script = self.widget_dist / "pollen-widget.js"
        if not script.is_file():
            return _text(503, "The widget is not built: run `make widget`.")
        return 200, [("content-type", "text/javascript; charset=utf-8"), NO_STORE], script.read_bytes()

    def _demo(self) -> dict[str, Any] | None:
        try:
            demo: dict[str, Any] = json.loads((self.state_dir / "demo-store.json").read_text())
        except (OSError, ValueError):
            return None
        return demo

    def _token(self, keys: dict[str, str], call: Handle) -> ResponseParts:
        self._prepare_shopper(keys, call)
        body = json.dumps({"customer_id": DEMO_SHOPPER}).encode()
        status, _, answer = call("POST", "/v1/customer-tokens", _headers(keys["write"]), body)
        if status != 201:  # never hand a server key to a page: no token, no signed-in shopper
            problem = {"type": "about:blank", "title": "No token", "status": 503, "detail": "minting failed"}
            return 503, [("content-type", "application/problem+json"), NO_STORE], json.dumps(problem).encode()
        token = json.loads(answer)
        token.setdefault("customer_id", DEMO_SHOPPER)
        return 200, [("content-type", "application/json"), NO_STORE], json.dumps(token).encode()

    def _app_proxy(self, demo: dict[str, Any], call: Handle) -> ResponseParts:
        """What Shopify's App Proxy does for a signed-in shopper: sign the query, forward it."""
        from pollen.integrations.shopify import app_proxy  # noqa: PLC0415 - only this demo path needs it

        self._prepare_shopper(demo["api_keys"], call)
        params = {
            "shop": demo["shopify"]["shop_domain"],
            "logged_in_customer_id": DEMO_SHOPPER,
            "path_prefix": "/apps/pollen",
            "timestamp": str(int(time.time())),
        }
        signed = app_proxy.signature(demo["shopify"]["webhook_secret"], {k: [v] for k, v in params.items()})
        target = "/v1/shopify/app-proxy/customer-token?" + urlencode({**params, "signature": signed})
        status, headers, answer = call("GET", target, {"accept": "application/json"}, b"")
        return status, [*headers, NO_STORE], answer

    def _prepare_shopper(self, keys: dict[str, str], call: Handle) -> None:
        with self._lock:
            if self._ready:
                return
            customer = json.dumps({"first_name": "Demo", "email": "demo-shopper@example.com"}).encode()
            call("PUT", f"/v1/customers/{DEMO_SHOPPER}", _headers(keys["write"]), customer)
            welcome = json.dumps({"coins": WELCOME_COINS, "reason": "Demo store welcome coins"}).encode()
            headers = {**_headers(keys["admin"]), "idempotency-key": f"{DEMO_SHOPPER}-welcome"}
            status, _, _ = call("POST", f"/v1/admin/customers/{DEMO_SHOPPER}/adjustments", headers, welcome)
            self._ready = status in (200, 201)


def app_key(keys: dict[str, str]) -> str:
    """The key the page embeds: the demo's app key (scope ``public``); the shopper's customer token,
    minted by this demo "merchant server" with its write key, does the rest."""
    return keys["public"]


def _headers(key: str) -> dict[str, str]:
    return {"x-api-key": key, "content-type": "application/json"}


def _text(status: int, message: str) -> ResponseParts:
    return status, [("content-type", "text/plain; charset=utf-8")], message.encode()
