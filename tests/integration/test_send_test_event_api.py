"""POST /v1/admin/event-subscriptions/{id}/test: a sample event about an existing customer, sent at
once through the same adapters as real deliveries, and logged as a test."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from infra.inprocess import InProcessApi
from infra.seed import DemoStore
from pollen.domain.deliveries import DeliveryStatus
from pollen.domain.integrations import Subscription
from pollen.services.container import container
from tests.support.flow import Receiver, configure, subscription, webhook
from tests.support.problems import problem as _problem

M = "demo-store"


@pytest.fixture
def sub(api: InProcessApi, demo: DemoStore) -> Subscription:
    """A webhook subscription to wallet events with a prefix, and a customer with email and phone."""
    created = subscription("wallet_transaction", prefix="Acme ")
    configure(M, [webhook()], [created])
    response = api.put(
        "/v1/customers/cust-7",
        key=demo.api_keys.write,
        json_body={
            "email": "Ada@Example.com",
            "email_verified": True,  # only proven emails are looked up (they credit guest orders)
            "phone": "+1 (613) 555-0199",
            "first_name": "Ada",
        },
    )
    assert response.status == 201, response.body
    return created


def _path(sub: Subscription) -> str:
    return f"/v1/admin/event-subscriptions/{sub.subscription_id}/test"


def test_a_test_event_by_email_is_sent_now_and_logged_as_a_test(
    api: InProcessApi, demo: DemoStore, sub: Subscription
) -> None:
    receiver = Receiver().install()

    response = api.post(_path(sub), key=demo.api_keys.admin, json_body={"email": "ada@example.com"})

    assert response.status == 200, response.body
    result = response.json()
    assert {k: result[k] for k in ("outcome", "http_status", "error", "retry_after_seconds")} == {
        "outcome": "delivered",
        "http_status": 200,
        "error": None,
        "retry_after_seconds": None,
    }
    assert result["event_type"] == "wallet_transaction"
    assert result["delivery_id"] == f"{result['event_id']}.{sub.subscription_id}"
    request = receiver.requests[0]
    assert len(receiver.requests) == 1
    assert request.headers["webhook-id"] == result["event_id"]
    body = json.loads(request.content)
    assert body["name"] == "Acme Wallet Coins Rewarded"
    assert body["data"]["customer"] == {
        "customer_id": "cust-7",
        "email": "ada@example.com",
        "phone": "+1 (613) 555-0199",
        "first_name": "Ada",
        "last_name": None,
    }
    (record,) = container().deliveries.page(M, status=None, limit=5, cursor=None).items
    assert record.test is True
    assert record.status == DeliveryStatus.DELIVERED
    assert [(a.attempt, a.outcome, a.http_status) for a in record.attempts] == [(1, "delivered", 200)]


def test_a_test_event_by_mobile_finds_the_customer_whatever_the_formatting(
    api: InProcessApi, demo: DemoStore, sub: Subscription
) -> None:
    receiver = Receiver().install()

    response = api.post(_path(sub), key=demo.api_keys.admin, json_body={"mobile": "+16135550199"})

    assert response.status == 200, response.body
    assert json.loads(receiver.requests[0].content)["data"]["customer"]["customer_id"] == "cust-7"


def test_a_failed_test_event_answers_the_attempt_and_is_not_retried(
    api: InProcessApi, demo: DemoStore, sub: Subscription
) -> None:
    receiver = Receiver(answer=lambda request: httpx.Response(503, headers={"retry-after": "30"})).install()

    response = api.post(_path(sub), key=demo.api_keys.admin, json_body={"email": "ada@example.com"})

    assert response.status == 200, response.body
    assert {k: response.json()[k] for k in ("outcome", "http_status", "retry_after_seconds")} == {
        "outcome": "retry",
        "http_status": 503,
        "retry_after_seconds": 30.0,
    }
    assert len(receiver.requests) == 1
    (record,) = container().deliveries.page(M, status=DeliveryStatus.FAILED, limit=5, cursor=None).items
    assert record.test is True


def test_an_unknown_customer_is_a_404_and_nothing_is_sent(
    api: InProcessApi, demo: DemoStore, sub: Subscription
) -> None:
    receiver = Receiver().install()
    key = demo.api_keys.admin

    _problem(api.post(_path(sub), key=key, json_body={"email": "nobody@example.com"}), 404)
    _problem(api.post(_path(sub), key=key, json_body={"mobile": "+44 20 7946 0000"}), 404)
    # A look-up item outlives a change of email: the old address no longer finds the customer.
    api.put("/v1/customers/cust-7", key=demo.api_keys.write, json_body={"email": "ada@new.example.com"})
    _problem(api.post(_path(sub), key=key, json_body={"email": "ada@example.com"}), 404)
    assert receiver.requests == []
    assert container().deliveries.page(M, status=None, limit=5, cursor=None).items == []


def test_an_unknown_subscription_is_a_404(api: InProcessApi, demo: DemoStore, sub: Subscription) -> None:
    response = api.post(
        "/v1/admin/event-subscriptions/01JNF40B7C2M8Q5T1V9X3Z6K4D/test",
        key=demo.api_keys.admin,
        json_body={"email": "ada@example.com"},
    )
    assert _problem(response, 404)["detail"] == "No event subscription with this id."


@pytest.mark.parametrize(
    "body",
    [{}, {"email": "ada@example.com", "mobile": "+16135550199"}, {"email": "not-an-email"}, {"phone": "1"}],
    ids=["neither", "both", "bad-email", "unknown-field"],
)
def test_exactly_one_of_email_and_mobile(
    api: InProcessApi, demo: DemoStore, sub: Subscription, body: dict[str, Any]
) -> None:
    _problem(api.post(_path(sub), key=demo.api_keys.admin, json_body=body), 422)


def test_test_events_need_an_admin_key(api: InProcessApi, demo: DemoStore, sub: Subscription) -> None:
    _problem(api.post(_path(sub), key=demo.api_keys.write, json_body={"email": "ada@example.com"}), 403)
