"""Browser tests of the merchant dashboard: Playwright drives Debian's headless Chromium against the
local stack (the e2e ``stack`` fixture), which serves the built app at /dashboard.

Playwright's own browser downloads are never used: ``make test`` installs Debian's ``chromium`` when it
is missing (as root) or stops with a message. Screenshots of every screen go to ``.artifacts/dashboard``.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, Playwright, ViewportSize, expect, sync_playwright

from pollen.integrations.shopify.webhooks import sign
from tests.e2e import conftest as e2e
from tests.e2e.conftest import LocalStack

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "web" / "dashboard" / "dist" / "index.html"
AXE = ROOT / "web" / "dashboard" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / ".artifacts" / "dashboard"
FIXTURES = ROOT / "tests" / "fixtures" / "shopify"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP: ViewportSize = {"width": 1280, "height": 900}

expect.set_options(timeout=15_000)  # a shared CI machine can be slow; a real failure still fails

stack = e2e.stack  # the local stack fixture of the e2e tests (its own instance for these tests)
http = e2e.http
PHONE: ViewportSize = {"width": 375, "height": 812}


def chromium_path() -> str:
    candidates = [os.environ.get("POLLEN_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")]
    found = next((c for c in candidates if c and Path(c).is_file() and os.access(c, os.X_OK)), None)
    if found is None:
        pytest.fail(
            "Headless Chromium is missing: `make test` installs Debian's `chromium` package when run as "
            "root; otherwise run `sudo apt-get install chromium` or set POLLEN_CHROMIUM=/path/to/chromium.",
            pytrace=False,
        )
    return found


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not DIST.is_file() or not AXE.is_file():
        pytest.fail("The dashboard is not built: run `make dashboard` (npm ci + vite build).", pytrace=False)
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
    yield launched
    launched.close()


@dataclass
class Dashboard:
    """One signed-out browser tab on the dashboard, with the helpers every test uses."""

    page: Page
    stack: LocalStack
    errors: list[str] = field(default_factory=list)

    def open(self, screen: str = "") -> None:
        self.page.goto(f"{self.stack.base_url}/dashboard#/{screen}")

    def go(self, screen: str) -> None:
        """Navigate inside the app (no reload), as a click on a link does."""
        self.page.evaluate("screen => { location.hash = '#/' + screen }", screen)

    def sign_in(self, key: str | None = None) -> None:
        self.open()
        field = self.page.get_by_label("Admin API key")
        field.fill(key or self.stack.key("admin"))
        field.press("Enter")
        self.page.get_by_role("navigation", name="Screens").wait_for()

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    def axe(self) -> list[dict[str, Any]]:
        """axe-core's serious and critical violations on the page as it is now."""
        if not self.page.evaluate("() => typeof window.axe !== 'undefined'"):
            self.page.add_script_tag(path=str(AXE))
        violations: list[dict[str, Any]] = self.page.evaluate(
            """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
                 .map(v => ({id: v.id, impact: v.impact, help: v.help,
                             nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))"""
        )
        return [v for v in violations if v["impact"] in ("serious", "critical")]


@pytest.fixture
def dashboard(stack: LocalStack, browser: Browser) -> Iterator[Dashboard]:  # browser closes first
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.set_default_timeout(15_000)
    board = Dashboard(page, stack)
    page.on("pageerror", lambda error: board.errors.append(str(error)))
    page.on("dialog", lambda dialog: dialog.accept())  # confirm() before deletes and revokes
    yield board
    context.close()
    assert board.errors == [], f"JavaScript errors on the page: {board.errors}"


def paid_customer(http: httpx.Client, stack: LocalStack) -> tuple[str, str, str]:
    """A new customer pays an order through a signed Shopify webhook: (customer id, order id, email)."""
    customer = 300_000 + uuid.uuid4().int % 100_000
    order: dict[str, Any] = copy.deepcopy(json.loads((FIXTURES / "orders_paid.json").read_text()))
    order["id"] = 400_000 + uuid.uuid4().int % 100_000
    order["customer"]["id"] = customer
    order["created_at"] = order["processed_at"] = datetime.now(UTC).isoformat()  # counts in today's analytics
    email = f"browser-{customer}@example.com"
    order["customer"]["email"] = order["email"] = email
    raw = json.dumps(order).encode()
    response = http.post(
        "/webhooks/shopify",
        content=raw,
        headers={
            "content-type": "application/json",
            "x-shopify-topic": "orders/paid",
            "x-shopify-shop-domain": stack.demo["shopify"]["shop_domain"],
            "x-shopify-webhook-id": str(uuid.uuid4()),
            "x-shopify-hmac-sha256": sign(stack.demo["shopify"]["webhook_secret"], raw),
        },
    )
    assert response.status_code == 200, response.text
    return str(customer), str(order["id"]), email


@dataclass
class Hook:
    headers: dict[str, str]
    body: bytes
    status: int

    def customer_id(self) -> str | None:
        data = json.loads(self.body).get("data") or {}
        customer = data.get("customer") or {}
        return str(customer["customer_id"]) if customer.get("customer_id") is not None else None


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1 answering ``status(hook)`` (200 unless told otherwise)."""

    status: Callable[[Hook], int] = lambda hook: 200
    hooks: list[Hook] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def about(self, customer_id: str) -> list[Hook]:
        return [hook for hook in list(self.hooks) if hook.customer_id() == customer_id]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            hook = Hook(dict(self.headers.items()), body, 0)
            hook.status = state.status(hook)
            state.hooks.append(hook)
            self.send_response(hook.status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    state.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=state.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield state
    state.server.shutdown()
    state.server.server_close()
