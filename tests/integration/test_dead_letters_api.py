"""The delivery log and dead letters over the admin API: each merchant sees and replays only its own."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from infra.aws_resources import LocalResources
from infra.inprocess import InProcessApi
from infra.onboard import onboard
from infra.seed import DEMO_PROGRAM, DemoStore
from pollen.events.delivery import DeliveryMessage
from pollen.services.container import container, reset_container
from tests.support.flow import Flow, Receiver, configure, subscription, wallet_event, webhook, write_outbox
from tests.support.problems import problem as _problem

M = "demo-store"
OTHER = "shop-b"


@pytest.fixture
def flow(
    template: dict[str, Any], aws: LocalResources, demo: DemoStore, monkeypatch: pytest.MonkeyPatch
) -> Flow:
    monkeypatch.setenv("DELIVERY_RETRY_SCALE", "0")
    reset_container()
    return Flow(template, aws)


def _refused(flow: Flow, merchant_id: str, customers: list[str]) -> list[DeliveryMessage]:
    """Deliveries the receiver refuses with a 400: each lands in the DLQ on its first try."""
    sub = subscription("wallet_transaction")
    configure(merchant_id, [webhook()], [sub])
    flow.settle()
    Receiver(answer=lambda request: httpx.Response(400, text="no such list")).install()
    events = [wallet_event(merchant_id, customer) for customer in customers]
    write_outbox(events)
    flow.route()
    flow.deliver_all()
    return [
        DeliveryMessage.for_route(e, sub.subscription_id, "hooks", routed_at=e.occurred_at) for e in events
    ]


def _listed(api: InProcessApi, key: str) -> list[str]:
    response = api.get("/v1/admin/deliveries/dead-letters", key=key)
    assert response.status == 200, response.body
    return [item["delivery_id"] for item in response.json()["items"]]


def _dlq_delivery_ids(flow: Flow) -> list[str]:
    return sorted(DeliveryMessage.model_validate_json(m["Body"]).delivery_id for m in flow.dead_letters())


def test_a_merchant_lists_its_own_dead_letters_with_reasons_and_they_stay_put(
    flow: Flow, api: InProcessApi, demo: DemoStore
) -> None:
    mine = _refused(flow, M, ["c-1", "c-2"])
    theirs = _refused(flow, OTHER, ["c-9"])

    response = api.get("/v1/admin/deliveries/dead-letters", key=demo.api_keys.admin)

    assert response.status == 200, response.body
    body = response.json()
    assert body["truncated"] is False
    assert [item["delivery_id"] for item in body["items"]] == sorted(
        (m.delivery_id for m in mine), reverse=True
    )
    (first,) = [item for item in body["items"] if item["delivery_id"] == mine[0].delivery_id]
    assert first == {
        "delivery_id": mine[0].delivery_id,
        "event_id": mine[0].event_id,
        "event_type": "wallet_transaction",
        "subscription_id": mine[0].subscription_id,
        "integration_id": "hooks",
        "reason": "permanent failure: HTTP 400: no such list",
        "outcome": "permanent",
        "attempts": 1,
        "http_status": 400,
        "dead_since": first["dead_since"],
        "replays": 0,
    }
    # Looking changed nothing: every dead letter is still there, visible at once.
    assert _dlq_delivery_ids(flow) == sorted(m.delivery_id for m in [*mine, *theirs])


def test_replay_of_chosen_ids_touches_only_those_of_the_merchant(
    flow: Flow, api: InProcessApi, demo: DemoStore
) -> None:
    first, second = _refused(flow, M, ["c-1", "c-2"])
    (theirs,) = _refused(flow, OTHER, ["c-9"])

    response = api.post(
        "/v1/admin/deliveries/dead-letters/replay",
        key=demo.api_keys.admin,
        json_body={"delivery_ids": [first.delivery_id, theirs.delivery_id, "nope.nope"]},
    )

    assert response.status == 200, response.body
    assert response.json() == {
        "replayed": 1,
        "delivery_ids": [first.delivery_id],
        "not_found": sorted([theirs.delivery_id, "nope.nope"]),
        "failed": [],
        "needs_confirmation": [],
        "truncated": False,
    }
    assert _listed(api, demo.api_keys.admin) == [second.delivery_id]
    (queued,) = flow.sqs.receive_message(
        QueueUrl=flow.resources.queues["DeliveryQueue"].url, MaxNumberOfMessages=10
    )["Messages"]
    message = DeliveryMessage.model_validate_json(queued["Body"])
    assert message.delivery_id == first.delivery_id
    assert (message.attempt_offset, message.replays) == (1, 1)
    assert message.event.event_id == first.event_id  # the whole event came back with it


def test_replay_with_no_body_takes_all_of_the_merchants_dead_letters(
    flow: Flow, api: InProcessApi, demo: DemoStore
) -> None:
    mine = _refused(flow, M, ["c-1", "c-2", "c-3"])
    (_theirs,) = _refused(flow, OTHER, ["c-9"])
    Receiver().install()  # the receiver is fixed

    response = api.post("/v1/admin/deliveries/dead-letters/replay", key=demo.api_keys.admin)

    assert response.status == 200, response.body
    assert response.json()["replayed"] == 3
    assert _listed(api, demo.api_keys.admin) == []
    flow.deliver_all()
    page = api.get("/v1/admin/deliveries", key=demo.api_keys.admin, query={"status": "delivered"}).json()
    assert sorted(item["delivery_id"] for item in page["items"]) == sorted(m.delivery_id for m in mine)
    assert all([a["attempt"] for a in item["attempts"]] == [1, 2] for item in page["items"])
    assert all(item["replays"] == 1 for item in page["items"])


def test_a_letter_replayed_twice_at_once_is_queued_once(
    flow: Flow, api: InProcessApi, demo: DemoStore
) -> None:
    (message,) = _refused(flow, M, ["c-1"])
    first = api.post("/v1/admin/deliveries/dead-letters/replay", key=demo.api_keys.admin).json()
    second = api.post(
        "/v1/admin/deliveries/dead-letters/replay",
        key=demo.api_keys.admin,
        json_body={"delivery_ids": [message.delivery_id]},
    ).json()

    assert first["delivery_ids"] == [message.delivery_id]
    assert second["replayed"] == 0
    assert second["not_found"] == [message.delivery_id]
    assert len(flow.sqs.receive_message(QueueUrl=flow.resources.queues["DeliveryQueue"].url)["Messages"]) == 1


def test_a_replayed_letter_that_dies_again_is_listed_once_more(
    flow: Flow, api: InProcessApi, demo: DemoStore
) -> None:
    (message,) = _refused(flow, M, ["c-1"])
    api.post("/v1/admin/deliveries/dead-letters/replay", key=demo.api_keys.admin)
    flow.deliver_all()  # the receiver still refuses

    (item,) = api.get("/v1/admin/deliveries/dead-letters", key=demo.api_keys.admin).json()["items"]
    assert (item["delivery_id"], item["attempts"], item["replays"]) == (message.delivery_id, 2, 1)


def test_while_another_merchant_holds_the_dlq_a_merchant_still_lists_and_replays_its_own(
    flow: Flow, api: InProcessApi, demo: DemoStore
) -> None:
    """The finding: merchant B's scan of the shared DLQ held A's messages invisible, so A's list came
    back empty and A's replay answered not_found. Here every DLQ message is held invisible for five
    minutes (a scan in progress, by anyone), and A and B list and replay 20 times each."""
    mine = _refused(flow, M, ["c-1", "c-2"])
    theirs = _refused(flow, OTHER, ["c-9"])
    held = flow.sqs.receive_message(
        QueueUrl=flow.resources.queues["DeliveryDLQ"].url, MaxNumberOfMessages=10, VisibilityTimeout=300
    )["Messages"]
    assert len(held) == 3  # nothing in the DLQ is visible to anyone now

    expected = sorted((m.delivery_id for m in mine), reverse=True)
    for _ in range(20):
        assert _listed(api, demo.api_keys.admin) == expected
    replay = api.post(
        "/v1/admin/deliveries/dead-letters/replay",
        key=demo.api_keys.admin,
        json_body={"delivery_ids": [mine[0].delivery_id]},
    ).json()
    assert replay["delivery_ids"] == [mine[0].delivery_id]
    assert replay["not_found"] == []
    assert _listed(api, demo.api_keys.admin) == [mine[1].delivery_id]
    # B's letters were never in A's way, nor A's in B's.
    items, _ = container().deliveries.dead_letters(OTHER, limit=10)
    assert [item["delivery_id"] for item in items] == [theirs[0].delivery_id]


def test_a_message_the_function_cannot_handle_reaches_the_dlq_by_redrive(
    flow: Flow, api: InProcessApi, demo: DemoStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The safety net: no index item, the DLQ holds it (the alarm fires), the log shows its last try."""
    configure(M, [webhook()], [subscription("wallet_transaction")])
    flow.settle()
    receiver = Receiver(answer=lambda request: httpx.Response(503)).install()
    write_outbox([wallet_event(M, "c-1")])
    flow.route()
    flow.queue.poll_once()  # first try: logged, retried
    log = container().deliveries

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("DynamoDB is down")

    monkeypatch.setattr(log, "record_attempt", broken)  # from now on every try crashes after sending
    flow.sqs.set_queue_attributes(  # failed messages come straight back (the function never set a delay)
        QueueUrl=flow.resources.queues["DeliveryQueue"].url, Attributes={"VisibilityTimeout": "0"}
    )
    flow.deliver_all()

    assert len(receiver.requests) == 6  # the 7th receive moved it to the DLQ instead
    (dead,) = flow.dead_letters()
    assert "reason" not in dead.get("MessageAttributes", {})
    assert _listed(api, demo.api_keys.admin) == []
    (logged,) = api.get("/v1/admin/deliveries", key=demo.api_keys.admin).json()["items"]
    assert logged["status"] == "retrying"
    assert logged["attempts"][-1]["http_status"] == 503


def test_the_log_lists_newest_first_by_status_with_an_opaque_cursor(
    flow: Flow, api: InProcessApi, demo: DemoStore
) -> None:
    newest = sorted((m.delivery_id for m in _refused(flow, M, ["c-1", "c-2", "c-3"])), reverse=True)
    key = demo.api_keys.admin

    first = api.get("/v1/admin/deliveries", key=key, query={"limit": "2"})
    assert first.status == 200, first.body
    page = first.json()
    assert [i["delivery_id"] for i in page["items"]] == newest[:2]
    assert page["items"][0]["status"] == "dead"
    assert page["items"][0]["attempts"][0]["http_status"] == 400
    rest = api.get(
        "/v1/admin/deliveries", key=key, query={"limit": "2", "cursor": page["next_cursor"]}
    ).json()
    assert [i["delivery_id"] for i in rest["items"]] == newest[2:]

    dead = api.get("/v1/admin/deliveries", key=key, query={"status": "dead", "limit": "1"}).json()
    assert [i["delivery_id"] for i in dead["items"]] == newest[:1]
    assert api.get("/v1/admin/deliveries", key=key, query={"status": "delivered"}).json()["items"] == []

    # A cursor only ever points into the list it came from.
    _problem(api.get("/v1/admin/deliveries", key=key, query={"cursor": dead["next_cursor"]}), 400)
    _problem(
        api.get("/v1/admin/deliveries", key=key, query={"status": "dead", "cursor": page["next_cursor"]}), 400
    )
    _problem(api.get("/v1/admin/deliveries", key=key, query={"status": "lost"}), 422)


def test_another_merchant_sees_none_of_it(flow: Flow, api: InProcessApi) -> None:
    _refused(flow, M, ["c-1"])
    keys = onboard("shop-c", "Shop C", DEMO_PROGRAM)

    assert api.get("/v1/admin/deliveries", key=keys.admin).json()["items"] == []
    assert api.get("/v1/admin/deliveries/dead-letters", key=keys.admin).json()["items"] == []
    replay = api.post("/v1/admin/deliveries/dead-letters/replay", key=keys.admin).json()
    assert replay["replayed"] == 0
    assert len(flow.dead_letters()) == 1


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/admin/deliveries"),
        ("GET", "/v1/admin/deliveries/dead-letters"),
        ("POST", "/v1/admin/deliveries/dead-letters/replay"),
    ],
)
def test_only_admin_keys_reach_the_log(api: InProcessApi, demo: DemoStore, method: str, path: str) -> None:
    _problem(api.request(method, path, key=demo.api_keys.write), 403)
    _problem(api.request(method, path), 401)


def test_a_replay_body_must_be_a_list_of_delivery_ids(api: InProcessApi, demo: DemoStore) -> None:
    key = demo.api_keys.admin
    path = "/v1/admin/deliveries/dead-letters/replay"
    _problem(api.post(path, key=key, json_body={"delivery_ids": "all"}), 422)
    _problem(api.post(path, key=key, json_body={"ids": []}), 422)
    _problem(api.post(path, key=key, json_body={"delivery_ids": ["has#hash"]}), 422)
    assert json.loads(api.post(path, key=key, json_body={"delivery_ids": []}).body)["replayed"] == 0
