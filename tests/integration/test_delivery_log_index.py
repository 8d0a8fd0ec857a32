"""The delivery log's index: only deliveries that need a look (retrying, dead) are in GSI1, so a
delivery that goes through writes no index entry; every status still lists, newest first."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pollen.clock import utcnow
from pollen.domain.deliveries import AttemptLog, DeliveryStatus
from pollen.events.delivery import DeliveryMessage
from pollen.services.container import container
from pollen.storage.keys import delivery_key
from tests.support.deliveries import routed_coupon_used

M = "demo-store"


def _message(n: int) -> DeliveryMessage:
    return routed_coupon_used(M, customer_id=f"c-{n}")


def _attempt(n: int, outcome: str) -> AttemptLog:
    return AttemptLog(attempt=n, at=utcnow() + timedelta(seconds=n), outcome=outcome, http_status=200)  # type: ignore[arg-type]


@pytest.mark.usefixtures("aws")
def test_only_deliveries_that_need_a_look_are_indexed_and_every_status_lists() -> None:
    c = container()
    log = c.deliveries
    messages = [_message(n) for n in range(7)]
    log.create_pending(messages, now=utcnow())

    def indexed(message: DeliveryMessage) -> bool:
        item = c.table.get(delivery_key(M, message.delivery_id), consistent=True)
        assert item is not None
        return "GSI1PK" in item

    assert not any(indexed(m) for m in messages)  # the router's pending items: no index entry
    for m in messages[:4]:
        log.record_attempt(m, _attempt(1, "delivered"), DeliveryStatus.DELIVERED, now=utcnow())
    retrying = messages[4]
    log.record_attempt(retrying, _attempt(1, "retry"), DeliveryStatus.RETRYING, now=utcnow())
    assert [indexed(m) for m in messages[:5]] == [False, False, False, False, True]
    log.record_attempt(retrying, _attempt(2, "delivered"), DeliveryStatus.DELIVERED, now=utcnow())
    assert not indexed(retrying)  # it left the retrying list
    dead = messages[5]
    log.record_attempt(dead, _attempt(1, "permanent"), DeliveryStatus.DEAD, now=utcnow(), dead_reason="410")
    assert indexed(dead)

    def listed(status: DeliveryStatus, limit: int = 25) -> list[str]:
        out: list[str] = []
        cursor = None
        while True:
            page = log.page(M, status=status, limit=limit, cursor=cursor)
            out.extend(r.delivery_id for r in page.items)
            assert all(r.status == status.value for r in page.items)
            cursor = page.next_cursor
            if cursor is None:
                return out

    newest_first = sorted((m.delivery_id for m in messages), reverse=True)
    delivered = [d for d in newest_first if d in {m.delivery_id for m in messages[:5]}]
    assert listed(DeliveryStatus.DELIVERED) == delivered
    assert listed(DeliveryStatus.DELIVERED, limit=2) == delivered  # short pages carry the cursor on
    assert listed(DeliveryStatus.PENDING) == [messages[6].delivery_id]
    assert listed(DeliveryStatus.DEAD) == [dead.delivery_id]
    assert listed(DeliveryStatus.RETRYING) == []
    assert log.claim_dead(M, [dead.delivery_id], now=utcnow()) == [dead.delivery_id]  # a replay
    assert not indexed(dead)
    assert listed(DeliveryStatus.DEAD) == []
    assert listed(DeliveryStatus.PENDING) == sorted([messages[6].delivery_id, dead.delivery_id], reverse=True)
    first = log.page(M, status=DeliveryStatus.DELIVERED, limit=3, cursor=None)
    assert len(first.items) == 3
    assert first.next_cursor is not None
