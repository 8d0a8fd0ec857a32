"""``Table.batch_get`` under throttling: keys DynamoDB leaves unprocessed are asked again, alone, after a
growing jittered wait, and a read still refused after ``BATCH_GET_ATTEMPTS`` calls raises ``Throttled``.

DynamoDB is a botocore ``Stubber`` on a real client (requests and answers checked against the API's
model, each request against the keys it must hold); the waits are recorded, never slept."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from pollen.api.errors import domain_problem
from pollen.storage import client
from pollen.storage import table as table_module
from pollen.storage.codec import serialize
from pollen.storage.errors import Throttled
from pollen.storage.keys import Key
from pollen.storage.table import BATCH_GET_ATTEMPTS, Table, backoff_seconds

NAME = "pollen-test-PollenTable"
KEYS = [Key("M#m1#C#c1", "CUSTOMER"), Key("M#m1#C#c2", "CUSTOMER"), Key("M#m1#C#c3", "CUSTOMER")]


def _wire(key: Key) -> dict[str, Any]:
    return dict(serialize(key.as_dict()))


def _request(keys: list[Key]) -> dict[str, Any]:
    return {NAME: {"Keys": [_wire(k) for k in keys], "ConsistentRead": True}}


def _answer(items: list[Key], unprocessed: list[Key]) -> dict[str, Any]:
    """A BatchGetItem answer returning ``items`` (each with its customer id) and leaving ``unprocessed``."""
    answer: dict[str, Any] = {
        "Responses": {NAME: [{**_wire(k), "customer_id": {"S": k.pk.rsplit("#", 1)[1]}} for k in items]}
    }
    if unprocessed:
        answer["UnprocessedKeys"] = _request(unprocessed)
    return answer


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    session = boto3.session.Session(
        region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    ddb = session.client("dynamodb")
    monkeypatch.setattr(client, "dynamodb", lambda: ddb)
    with Stubber(ddb) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()  # every answer scripted was asked for


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits ``batch_get`` asks for, in order (none is slept)."""
    asked: list[float] = []
    monkeypatch.setattr(table_module, "sleep", asked.append)
    return asked


def test_keys_left_unprocessed_are_asked_again_alone_until_every_item_is_read(
    stub: Stubber, waits: list[float]
) -> None:
    c1, c2, c3 = KEYS
    stub.add_response("batch_get_item", _answer([c1], [c2, c3]), {"RequestItems": _request(KEYS)})
    stub.add_response("batch_get_item", _answer([c3], [c2]), {"RequestItems": _request([c2, c3])})
    stub.add_response("batch_get_item", _answer([c2], []), {"RequestItems": _request([c2])})

    found = Table(NAME).batch_get(KEYS)

    assert sorted(found) == sorted(KEYS)
    assert {key: item["customer_id"] for key, item in found.items()} == {c1: "c1", c2: "c2", c3: "c3"}
    assert len(waits) == 2  # a wait before each of the two retries, none before the first call
    assert 0 <= waits[0] <= 0.05
    assert 0 <= waits[1] <= 0.1


def test_a_read_answered_at_once_does_not_wait(stub: Stubber, waits: list[float]) -> None:
    stub.add_response("batch_get_item", _answer(KEYS, []), {"RequestItems": _request(KEYS)})

    assert sorted(Table(NAME).batch_get(KEYS)) == sorted(KEYS)
    assert waits == []


def test_a_read_still_unprocessed_after_the_last_attempt_raises_throttled_with_growing_waits(
    stub: Stubber, waits: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(table_module, "uniform", lambda low, high: high)  # each draw at its bound
    c1, c2, c3 = KEYS
    stub.add_response("batch_get_item", _answer([c1], [c2, c3]), {"RequestItems": _request(KEYS)})
    for _ in range(BATCH_GET_ATTEMPTS - 1):  # the table keeps refusing the two others
        stub.add_response("batch_get_item", _answer([], [c2, c3]), {"RequestItems": _request([c2, c3])})

    with pytest.raises(Throttled) as raised:  # a ninth call would be a StubResponseError, not this
        Table(NAME).batch_get(KEYS)

    assert BATCH_GET_ATTEMPTS == 8
    assert waits == [0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.0]  # 50 ms doubling, capped at 1 s
    assert (raised.value.attempts, raised.value.unprocessed) == (8, 2)
    problem = domain_problem(raised.value)  # what the API answers: retry later, not a 500
    assert problem.status_code == 503
    assert problem.headers["Retry-After"] == "1"


def test_each_wait_is_drawn_from_zero_to_its_bound() -> None:
    for retry, bound in enumerate([0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0]):
        draws = [backoff_seconds(retry) for _ in range(200)]
        assert all(0 <= d <= bound for d in draws)
        assert max(draws) > bound / 2  # spread over the whole range: full jitter
        assert min(draws) < bound / 2


def test_every_100_keys_get_their_own_attempts(stub: Stubber, waits: list[float]) -> None:
    keys = [Key(f"M#m1#C#c{i}", "CUSTOMER") for i in range(101)]
    first, left, second = keys[:100], keys[99:100], keys[100:]
    stub.add_response("batch_get_item", _answer(keys[:99], left), {"RequestItems": _request(first)})
    stub.add_response("batch_get_item", _answer(left, []), {"RequestItems": _request(left)})
    stub.add_response("batch_get_item", _answer(second, []), {"RequestItems": _request(second)})

    assert sorted(Table(NAME).batch_get(keys)) == sorted(keys)
    assert len(waits) == 1
