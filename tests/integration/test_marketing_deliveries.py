"""Klaviyo and Omnisend deliveries end to end on moto: real wallet changes through the API, routed
from the stream, delivered by integration_delivery to a recording peer (exact requests)."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest

from infra.aws_resources import LocalResources
from infra.inprocess import InProcessApi
from infra.seed import DemoStore
from pollen.clock import utcnow
from pollen.domain.deliveries import DeliveryStatus
from pollen.domain.integrations import Integration, IntegrationKind, OmnisendApi, PrimarySelector
from pollen.services import delivery, routing
from pollen.services.container import container, reset_container
from tests.support.flow import Flow, configure, subscription, wallet_event, webhook

M = "demo-store"
KLAVIYO_KEY = "pk_live_0123456789abcdef0123456789abcd"
OMNISEND_KEY = "61f2748bc26ea0123456789a-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefghijklmn"


@pytest.fixture
def flow(
    template: dict[str, Any], aws: LocalResources, demo: DemoStore, monkeypatch: pytest.MonkeyPatch
) -> Flow:
    monkeypatch.setenv("DELIVERY_RETRY_SCALE", "0")
    reset_container()
    return Flow(template, aws)


class Peer:
    """Klaviyo or Omnisend: records every request, answers from ``script`` then 202."""

    def __init__(self, *script: Any) -> None:
        self.script = list(script)
        self.requests: list[httpx.Request] = []

    def install(self) -> Peer:
        def handle(request: httpx.Request) -> httpx.Response:
            request.read()
            self.requests.append(request)
            step = self.script.pop(0) if self.script else 202
            if isinstance(step, Exception):
                raise step
            return httpx.Response(step)

        container().http.install(httpx.MockTransport(handle))
        return self

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]


def _tool(kind: IntegrationKind, **changes: Any) -> Integration:
    now = utcnow()
    return Integration(
        integration_id=kind.value,
        kind=kind,
        enabled=True,
        api_key=KLAVIYO_KEY if kind == IntegrationKind.KLAVIYO else OMNISEND_KEY,
        primary_selector=PrimarySelector.EMAIL,
        created_at=now,
        updated_at=now,
        **changes,
    )


def _customer_with_coins(api: InProcessApi, demo: DemoStore, coins: int, **profile: str) -> None:
    created = api.put(
        "/v1/customers/c-42",
        key=demo.api_keys.write,
        json_body={"email": "jon@example.com", **profile},
    )
    assert created.status in {200, 201}, created.body
    credited = api.post(
        "/v1/admin/customers/c-42/adjustments",
        key=demo.api_keys.admin,
        json_body={"coins": coins, "reason": "welcome back"},
    )
    assert credited.status == 201, credited.body


def test_klaviyo_profile_carries_the_wallets_balance(flow: Flow, api: InProcessApi, demo: DemoStore) -> None:
    configure(M, [_tool(IntegrationKind.KLAVIYO)], [subscription("wallet_transaction", "klaviyo")])
    flow.settle()
    peer = Peer().install()
    _customer_with_coins(api, demo, 250)

    flow.route()
    flow.deliver_all()

    wallet = api.get("/v1/customers/c-42/wallet", key=demo.api_keys.read).json()
    (body,) = peer.bodies()
    profile = body["data"]["attributes"]["profile"]["data"]["attributes"]
    assert profile["external_id"] == "c-42"
    assert profile["properties"]["balance"] == wallet["balance"] == 250
    assert profile["properties"]["lifetime_earned"] == wallet["lifetime_earned"]
    assert profile["properties"]["next_expiry_date"] == wallet["expiring"][0]["expires_on"]
    deliveries = flow.calls("IntegrationDeliveryFunction")
    assert [i.dynamodb for i in deliveries] == [{"GetItem": 1, "UpdateItem": 1}]  # the profile, the log


def test_omnisend_timeout_after_sending_is_not_sent_again_without_confirmation(
    flow: Flow, api: InProcessApi, demo: DemoStore
) -> None:
    """Omnisend does not drop duplicate real-time events: a read timeout may hide an accepted event,
    so the delivery waits in the dead letters for the merchant to check, instead of a second email."""
    omnisend = _tool(IntegrationKind.OMNISEND, omnisend_api=OmnisendApi.V2026_03_15)
    configure(M, [omnisend], [subscription("wallet_transaction", "omnisend")])
    flow.settle()
    peer = Peer(httpx.ReadTimeout("no answer")).install()
    long_name = "Maximiliane Alexandrina Konstantinopoulou-Wittgenstein-Habsburg-Lothringen"[:80]
    _customer_with_coins(api, demo, 100, first_name=long_name)

    flow.route()
    flow.deliver_all()

    assert len(peer.requests) == 1  # sent once, never re-sent blindly
    assert len(flow.dead_letters()) == 1  # replayable once the merchant has checked Omnisend
    page = container().deliveries.page(M, status=None, limit=10, cursor=None)
    (record,) = page.items
    assert record.status == DeliveryStatus.DEAD
    assert record.dead_reason is not None
    assert record.dead_reason.startswith("maybe delivered")
    assert [a.outcome for a in record.attempts] == ["uncertain"]
    assert peer.bodies()[0]["contact"]["firstName"] == long_name[:50]


def test_omnisend_long_name_is_delivered_truncated(flow: Flow, api: InProcessApi, demo: DemoStore) -> None:
    configure(M, [_tool(IntegrationKind.OMNISEND)], [subscription("wallet_transaction", "omnisend")])
    flow.settle()
    peer = Peer().install()
    name = ("Maximiliane Alexandrina " * 4)[:80]
    _customer_with_coins(api, demo, 100, first_name=name, last_name=name)

    flow.route()
    flow.deliver_all()

    (body,) = peer.bodies()
    assert body["contact"]["firstName"] == name[:50]
    assert body["contact"]["lastName"] == name[:50]
    assert body["contact"]["customProperties"]["balance"] == 100
    assert flow.dead_letters() == []


def _clear_of_a_window_boundary(margin_seconds: float = 10.0) -> None:
    """Wait until the profile-sync window has ``margin_seconds`` left: a change made within a second of
    the window's end is due at once (delay 0), and the test counts delayed messages."""
    window = container().settings.profile_sync_minutes * 60
    left = window - time.time() % window
    if left < margin_seconds:
        time.sleep(left + 0.1)


def test_profile_updates_are_debounced_to_one_per_customer_per_window(
    flow: Flow, api: InProcessApi, demo: DemoStore
) -> None:
    _clear_of_a_window_boundary()
    configure(
        M,
        [_tool(IntegrationKind.KLAVIYO), webhook()],
        [subscription("profile_updated", "klaviyo"), subscription("profile_updated", "hooks")],
    )
    flow.settle()
    peer = Peer().install()
    _customer_with_coins(api, demo, 100)
    for coins in (20, 30):  # two more changes in the same window
        api.post(
            "/v1/admin/customers/c-42/adjustments",
            key=demo.api_keys.admin,
            json_body={"coins": coins, "reason": "again"},
        )

    flow.route()

    queue = flow.resources.queues["DeliveryQueue"].url
    attributes = flow.sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessagesDelayed"] == "2"  # one per subscription, not per change
    page = container().deliveries.page(M, status=None, limit=10, cursor=None)
    assert {r.event_type for r in page.items} == {"profile_updated"}
    assert len(page.items) == 2

    # what is sent when the window ends: the values then, read fresh
    event = wallet_event(M, "c-42")
    (klaviyo, hooks) = sorted(
        (m for m in routing.plan(container(), event, now=utcnow()) if m.event_type == "profile_updated"),
        key=lambda m: m.integration_id,
    )
    assert 0 < klaviyo.delay_seconds <= 300
    for message in (klaviyo, hooks):
        delivery.handle_message(
            container(),
            delivery.Received(message.model_dump_json(), 1, "receipt", "id"),
            now=utcnow(),
        )
    sent = {r.url.host: json.loads(r.content) for r in peer.requests}
    to_klaviyo = sent["a.klaviyo.com"]["data"]["attributes"]
    assert to_klaviyo["metric"]["data"]["attributes"]["name"] == "Loyalty Profile Updated"
    assert to_klaviyo["profile"]["data"]["attributes"]["properties"]["balance"] == 150
    to_webhook = sent["hooks.example.com"]
    assert to_webhook["data"]["balance"] == 150, to_webhook


def test_a_maybe_delivered_omnisend_letter_is_replayed_only_once_confirmed(
    flow: Flow, api: InProcessApi, demo: DemoStore
) -> None:
    """End to end: timeout after sending → dead letter "maybe delivered"; a replay of all leaves it
    (nothing is sent); naming it after checking Omnisend sends it once more, and it is delivered."""
    omnisend = _tool(IntegrationKind.OMNISEND, omnisend_api=OmnisendApi.V2026_03_15)
    configure(M, [omnisend], [subscription("wallet_transaction", "omnisend")])
    flow.settle()
    peer = Peer(httpx.ReadTimeout("no answer")).install()
    _customer_with_coins(api, demo, 100)
    flow.route()
    flow.deliver_all()
    assert len(peer.requests) == 1
    [letter] = api.get("/v1/admin/deliveries/dead-letters", key=demo.api_keys.admin).json()["items"]
    assert letter["outcome"] == "uncertain"
    assert letter["reason"].startswith("maybe delivered")

    blind = api.post("/v1/admin/deliveries/dead-letters/replay", key=demo.api_keys.admin)
    assert blind.status == 200, blind.body
    assert blind.json()["replayed"] == 0
    assert blind.json()["needs_confirmation"] == [letter["delivery_id"]]
    flow.deliver_all()
    assert len(peer.requests) == 1  # not re-sent
    assert len(api.get("/v1/admin/deliveries/dead-letters", key=demo.api_keys.admin).json()["items"]) == 1

    confirmed = api.post(
        "/v1/admin/deliveries/dead-letters/replay",
        key=demo.api_keys.admin,
        json_body={"delivery_ids": [letter["delivery_id"]]},
    )
    assert confirmed.json()["replayed"] == 1
    flow.deliver_all()
    assert len(peer.requests) == 2  # sent once more, on the merchant's word
    assert peer.bodies()[0] == peer.bodies()[1]  # the same event
    assert api.get("/v1/admin/deliveries/dead-letters", key=demo.api_keys.admin).json()["items"] == []
    page = container().deliveries.page(M, status=None, limit=10, cursor=None)
    (record,) = page.items
    assert record.status == DeliveryStatus.DELIVERED
    assert [a.outcome for a in record.attempts] == ["uncertain", "delivered"]


def test_a_profile_change_routed_after_its_window_was_sent_waits_for_the_next_change(
    flow: Flow, api: InProcessApi, demo: DemoStore
) -> None:
    """A stream record reaching the router late (its window's profile_updated already delivered) is
    not sent again for that window; the next change opens a new window and carries today's values."""
    configure(M, [_tool(IntegrationKind.KLAVIYO)], [subscription("profile_updated", "klaviyo")])
    flow.settle()
    peer = Peer().install()
    c = container()
    window_start = utcnow().replace(second=0, microsecond=0)
    first = wallet_event(M, "c-42", occurred_at=window_start)
    assert routing.route(c, [("r-1", first)], now=utcnow()).queued == 1
    [message] = [m for m in routing.plan(c, first, now=utcnow()) if m.event_type == "profile_updated"]
    _customer_with_coins(api, demo, 100)  # the customer, so the update names a profile
    flow.settle()  # routes the customer's own events; their window's update is the same delivery
    outcome = delivery.handle_message(
        c, delivery.Received(message.model_dump_json(), 1, "receipt", "id"), now=utcnow()
    )
    assert outcome is not None
    assert len(peer.requests) == 1
    sent = c.deliveries.page(M, status=None, limit=10, cursor=None).items
    assert [r.status for r in sent if r.delivery_id == message.delivery_id] == [DeliveryStatus.DELIVERED]

    late = wallet_event(M, "c-42", occurred_at=window_start + timedelta(seconds=30))  # same window
    routed = routing.route(c, [("r-2", late)], now=utcnow() + timedelta(minutes=10))
    assert (routed.queued, routed.already_handled, routed.failed) == (0, 1, {})
    assert len(peer.requests) == 1  # nothing more for that window

    after = wallet_event(M, "c-42", occurred_at=window_start + timedelta(minutes=10))  # the next change
    routed = routing.route(c, [("r-3", after)], now=utcnow() + timedelta(minutes=10))
    assert routed.queued == 1
    [following] = [m for m in routing.plan(c, after, now=utcnow()) if m.event_type == "profile_updated"]
    assert following.delivery_id != message.delivery_id
