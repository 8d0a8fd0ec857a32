"""`make dev` across restarts, and its clock (a private stack: these tests stop it and move its time).

* Stop and start again: the same keys, balances and subscriptions; the banner says it resumed.
  ``--reset`` (``make dev-reset``) starts clean, with new keys.
* ``POST /_local/clock`` moves time for every rule: advanced past the reminder day, the hourly
  schedule sends ``coins_expiring``; past the expiry date, it writes the ``expire`` ledger entry.
  The clock survives the restart too.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pollen.integrations.standard_webhooks import verify
from tests.e2e.conftest import LocalStack, start_stack, stop_stack
from tests.e2e.test_events_over_http import Receiver, _wait_for

pytestmark = pytest.mark.e2e

HOURLY = "/_local/schedules/ScheduledJobsFunction/Hourly"


@pytest.fixture
def state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pollen-restart")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver().start()
    yield running
    running.stop()


def _client(stack: LocalStack) -> httpx.Client:
    return httpx.Client(base_url=stack.base_url, timeout=30)


def test_restart_keeps_keys_balances_subscriptions_and_the_clock(state: Path, receiver: Receiver) -> None:
    first = start_stack(state)
    try:
        assert "State: new demo store" in first.log()
        admin, write = {"x-api-key": first.key("admin")}, {"x-api-key": first.key("write")}
        with _client(first) as http:
            put = http.put(
                "/v1/admin/integrations/restart-hook",
                headers=admin,
                json={"kind": "webhook", "url": f"http://127.0.0.1:{receiver.port}/hook", "enabled": True},
            )
            assert put.status_code in (200, 201), put.text
            secret = str(put.json()["secret"])
            subscription = http.post(
                "/v1/admin/event-subscriptions",
                headers=admin,
                json={"event": "coins_expiring", "integration_id": "restart-hook"},
            )
            assert subscription.status_code == 201, subscription.text
            assert (
                http.put("/v1/customers/ana", headers=write, json={"email": "ana@example.com"}).status_code
                == 201
            )
            credit = http.post(
                "/v1/admin/customers/ana/adjustments", headers=admin, json={"coins": 500, "reason": "welcome"}
            )
            assert credit.status_code == 201, credit.text
            expires_on = credit.json()["transactions"][0]["expires_on"]
            moved = http.post("/_local/clock", json={"advance": "P300D"})
            assert moved.status_code == 200, moved.text
    finally:
        stop_stack(first)
    assert "Saved the local state" in first.log()

    second = start_stack(state)
    try:
        assert second.demo["api_keys"] == first.demo["api_keys"]
        assert "State: resumed from" in second.log()
        admin, read = {"x-api-key": second.key("admin")}, {"x-api-key": second.key("read")}
        with _client(second) as http:
            assert http.get("/v1/customers/ana/wallet", headers=read).json()["balance"] == 500
            subscriptions = http.get("/v1/admin/event-subscriptions", headers=admin).json()
            assert [s["event"] for s in subscriptions["items"]] == ["coins_expiring"]
            clock = http.get("/_local/clock").json()
            assert clock["offset"] == "P300D"
            health = http.get("/v1/health").json()["local"]
            assert health["state"]["resumed"] is True
            assert health["clock"]["offset"] == "P300D"

            # The reminder: 14 days before the expiry date (the demo program), then the expiry.
            assert http.post("/_local/clock", json={"advance": "P52D"}).status_code == 200
            reminded = http.post(HOURLY)
            assert reminded.status_code == 200, reminded.text
            assert any("1 reminder" in r["detail"] for r in reminded.json()["results"]), reminded.text
            _wait_for(lambda: bool(receiver.requests), 10, "the coins_expiring webhook")
            event = receiver.requests[0]
            verify(secret, event.headers, event.body, now=int(time.time()))  # signed with the real time
            assert event.json()["type"] == "coins_expiring"
            assert event.json()["data"]["coins"] == 500
            assert event.json()["data"]["expires_on"] == expires_on

            assert http.post("/_local/clock", json={"advance": "P13D"}).status_code == 200
            expired = http.post(HOURLY)
            details = [r["detail"] for r in expired.json()["results"]]  # the hourly jobs, in their order
            assert any("expired 500 coins in 1 wallet" in d for d in details), details
            history = http.get("/v1/customers/ana/transactions", headers=read).json()["items"]
            assert [(t["type"], t["coins"]) for t in history] == [("expire", 500), ("adjust", 500)]
            assert history[0]["created_at"].startswith(expires_on)
            assert http.get("/v1/customers/ana/wallet", headers=read).json()["balance"] == 0

            bad = http.post("/_local/clock", json={"advance": "-P1D"})
            assert bad.status_code == 400
            assert bad.json()["status"] == 400
    finally:
        stop_stack(second)

    third = start_stack(state, POLLEN_LOCAL_RESET="1")
    try:
        assert "State: new demo store" in third.log().rsplit("Pollen local stack", 1)[-1]
        assert third.demo["api_keys"] != first.demo["api_keys"]
        with _client(third) as http:
            assert http.get("/_local/clock").json()["offset"] == "P0D"
            read = {"x-api-key": third.key("read")}
            assert http.get("/v1/customers/ana/wallet", headers=read).status_code == 404
    finally:
        stop_stack(third)
