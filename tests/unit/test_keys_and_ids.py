from __future__ import annotations

import pytest

from pollen.ids import new_ulid
from pollen.storage import keys


@pytest.mark.parametrize(
    "key",
    [
        keys.merchant_key("m1"),
        keys.program_key("m1"),
        keys.shopify_key("m1"),
        keys.api_key_key("m1", "k1"),
        keys.outbox_key("m1", "e1"),
        keys.outbox_key("m1", "e1", customer_id="c1"),
        keys.receipt_key("m1", "webhook", "anything # at all"),
    ],
)
def test_every_primary_key_starts_with_its_merchant(key: keys.Key) -> None:
    assert key.pk.startswith("M#m1#")


@pytest.mark.parametrize("bad", ["", "a#b", "#"])
def test_key_components_refuse_the_separator(bad: str) -> None:
    with pytest.raises(ValueError, match="invalid key component"):
        keys.customer_pk("m1", bad)


def test_outbox_events_sit_beside_their_customer() -> None:
    assert keys.outbox_key("m1", "e1", "c9").pk == keys.customer_pk("m1", "c9")


def test_receipt_keys_differ_by_scope_and_key() -> None:
    a = keys.receipt_key("m1", "redeem", "k")
    assert a == keys.receipt_key("m1", "redeem", "k")
    assert a != keys.receipt_key("m1", "trigger", "k")
    assert a != keys.receipt_key("m2", "redeem", "k")


def test_ulids_sort_by_time_and_are_unique() -> None:
    earlier = new_ulid(1_700_000_000_000)
    later = new_ulid(1_700_000_000_001)
    assert earlier < later
    assert len(earlier) == 26
    assert len({new_ulid() for _ in range(1000)}) == 1000
