"""The events issue's acceptance checks over HTTP against `make dev`'s stack: a signed webhook receiver
on this machine, an order paid through a signed Shopify webhook, retries, the DLQ and replay.

The stack runs with each retry delay scaled down to 1 s (POLLEN_LOCAL_RETRY_SCALE in conftest).
"""

from __future__ import annotations

import copy
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from pollen.integrations.shopify.webhooks import sign
from pollen.integrations.standard_webhooks import verify
from tests.e2e.conftest import LocalStack

pytestmark = pytest.mark.e2e
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "shopify"


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    status: int

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1 that answers with the statuses queued in ``answers`` (then 200)."""

    answers: list[int] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    port: int = 0
    _server: ThreadingHTTPServer | None = None

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                status = receiver.answers.pop(0) if receiver.answers else 200
                receiver.requests.append(Received(dict(self.headers.items()), body, status))
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def about(self, customer_id: str) -> list[Received]:
        return [r for r in self.requests if r.json()["data"]["customer"]["customer_id"] == customer_id]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


def _pay_order(http: httpx.Client, stack: LocalStack) -> str:
    """A new customer pays an order (signed orders/paid): one reward, credited. Returns the customer id."""
    customer = 600_000 + uuid.uuid4().int % 100_000
    order: dict[str, Any] = copy.deepcopy(json.loads((FIXTURES / "orders_paid.json").read_text()))
    order["id"] = 500_000 + uuid.uuid4().int % 100_000
    order["customer"]["id"] = customer
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
    return str(customer)


@pytest.fixture
def subscribed(http: httpx.Client, stack: LocalStack) -> Iterator[Callable[[str, int], tuple[str, str]]]:
    """Creates webhook integrations + subscriptions to credited rewards ('Demo ' prefix); removes them."""
    admin = {"x-api-key": stack.key("admin")}
    made: list[tuple[str, str]] = []

    def subscribe(integration_id: str, port: int) -> tuple[str, str]:
        url = f"http://127.0.0.1:{port}/hooks/pollen"
        put = http.put(
            f"/v1/admin/integrations/{integration_id}",
            headers=admin,
            json={"kind": "webhook", "url": url, "enabled": True},
        )
        assert put.status_code in (200, 201), put.text
        secret = str(put.json()["secret"])
        created = http.post(
            "/v1/admin/event-subscriptions",
            headers=admin,
            json={
                "event": "wallet_transaction",
                "integration_id": integration_id,
                "name_prefix": "Demo ",
                "filters": {"transaction_types": ["reward"], "operations": ["credit"]},
            },
        )
        assert created.status_code == 201, created.text
        made.append((integration_id, str(created.json()["subscription_id"])))
        time.sleep(2.5)  # the local stack's config cache (POLLEN_LOCAL_CONFIG_TTL) lets go of the old config
        return secret, str(created.json()["subscription_id"])

    yield subscribe
    for integration_id, subscription_id in made:
        http.delete(f"/v1/admin/event-subscriptions/{subscription_id}", headers=admin)
        http.delete(f"/v1/admin/integrations/{integration_id}", headers=admin)


def test_a_credited_order_reaches_a_signed_webhook_on_the_sixth_try(
    http: httpx.Client, stack: LocalStack, subscribed: Callable[[str, int], tuple[str, str]]
) -> None:
    receiver = Receiver(answers=[500] * 5).start()
    try:
        secret, subscription_id = subscribed("e2e-retry", receiver.port)
        customer = _pay_order(http, stack)
        _wait_for(lambda: any(r.status == 200 for r in receiver.about(customer)), 60, "the sixth try")
    finally:
        receiver.stop()

    tries = receiver.about(customer)
    assert [r.status for r in tries] == [500, 500, 500, 500, 500, 200]
    assert len({r.headers["webhook-id"] for r in tries}) == 1  # one event id: receivers dedupe on it
    for request in tries:
        verify(secret, request.headers, request.body, now=int(time.time()))  # signed, every time
        assert request.json()["name"] == "Demo Wallet Coins Rewarded"
        assert request.json()["data"]["transaction_type"] == "reward"

    event_id = tries[0].headers["webhook-id"]
    log = http.get("/v1/admin/deliveries", headers={"x-api-key": stack.key("admin")}, params={"limit": 50})
    (record,) = [i for i in log.json()["items"] if i["delivery_id"] == f"{event_id}.{subscription_id}"]
    assert record["status"] == "delivered"
    assert [(a["attempt"], a["http_status"]) for a in record["attempts"]] == [
        (1, 500),
        (2, 500),
        (3, 500),
        (4, 500),
        (5, 500),
        (6, 200),
    ]


def test_a_receiver_down_past_the_budget_leaves_a_dead_letter_that_replay_delivers(
    http: httpx.Client, stack: LocalStack, subscribed: Callable[[str, int], tuple[str, str]]
) -> None:
    admin = {"x-api-key": stack.key("admin")}
    port = _free_port()  # nothing listens there yet: every try is refused
    _, subscription_id = subscribed("e2e-down", port)
    customer = _pay_order(http, stack)

    def dead_letter() -> dict[str, Any] | None:
        items = http.get("/v1/admin/deliveries/dead-letters", headers=admin).json()["items"]
        mine = [i for i in items if i["subscription_id"] == subscription_id]
        return mine[0] if mine else None

    _wait_for(lambda: dead_letter() is not None, 60, "the dead letter")
    dead = dead_letter()
    assert dead is not None
    assert dead["outcome"] == "exhausted"
    assert dead["attempts"] == 6
    assert dead["reason"].startswith("retries exhausted after 6 tries: ConnectError")

    receiver = Receiver(port=port).start()
    try:
        replay = http.post(
            "/v1/admin/deliveries/dead-letters/replay",
            headers=admin,
            json={"delivery_ids": [dead["delivery_id"]]},
        )
        assert replay.status_code == 200, replay.text
        assert replay.json()["delivery_ids"] == [dead["delivery_id"]]
        _wait_for(lambda: bool(receiver.about(customer)), 30, "the replayed delivery")
    finally:
        receiver.stop()
    assert [r.status for r in receiver.about(customer)] == [200]
    assert dead_letter() is None
    delivered = http.get("/v1/admin/deliveries", headers=admin, params={"status": "delivered", "limit": 50})
    (record,) = [i for i in delivered.json()["items"] if i["delivery_id"] == dead["delivery_id"]]
    assert [a["attempt"] for a in record["attempts"]] == [1, 2, 3, 4, 5, 6, 7]
    assert record["replays"] == 1
