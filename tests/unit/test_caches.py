from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pollen.domain.api_keys import ApiKey, Scope
from pollen.storage.api_keys import KeyCache
from pollen.storage.merchant_config import MerchantConfigStore


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _key(key_id: str = "k1") -> ApiKey:
    return ApiKey(
        merchant_id="m1",
        key_id=key_id,
        name="n",
        scope=Scope.READ,
        key_hash="h",
        hint="abcd",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_key_cache_serves_until_ttl() -> None:
    clock = FakeClock()
    cache = KeyCache(60, clock)
    cache.put("hash", _key())
    assert cache.get("hash") == (True, _key())
    clock.now += 59.9
    assert cache.get("hash")[0] is True
    clock.now += 0.2
    assert cache.get("hash") == (False, None)


def test_unknown_keys_are_remembered_only_briefly() -> None:
    clock = FakeClock()
    cache = KeyCache(60, clock)
    cache.put("bad", None)
    assert cache.get("bad") == (True, None)
    clock.now += KeyCache.NEGATIVE_TTL
    assert cache.get("bad") == (False, None)


def test_evict_drops_every_entry_of_that_key_only() -> None:
    cache = KeyCache(60, FakeClock())
    cache.put("h1", _key("k1"))
    cache.put("h2", _key("k2"))
    cache.evict("m1", "k1")
    assert cache.get("h1") == (False, None)
    assert cache.get("h2")[0] is True


class CountingTable:
    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items
        self.reads = 0

    def query_all(self, pk: str, **_: Any) -> list[dict[str, Any]]:
        self.reads += 1
        return [i for i in self.items if i["PK"] == pk]


def test_config_store_reads_once_per_ttl_and_after_invalidation() -> None:
    table = CountingTable(
        [
            {
                "PK": "M#m1#CONFIG",
                "SK": "MERCHANT",
                "merchant_id": "m1",
                "name": "M",
                "created_at": "2026-01-01T00:00:00Z",
            }
        ]
    )
    clock = FakeClock()
    store = MerchantConfigStore(table, 30, clock)  # type: ignore[arg-type]
    config = store.get("m1")
    assert config is not None
    assert config.merchant.merchant_id == "m1"
    assert config.program is None
    store.get("m1")
    assert table.reads == 1
    clock.now += 30
    store.get("m1")
    assert table.reads == 2
    store.invalidate("m1")
    store.get("m1")
    assert table.reads == 3


def test_config_store_remembers_unknown_merchants_too() -> None:
    table = CountingTable([])
    store = MerchantConfigStore(table, 30, FakeClock())  # type: ignore[arg-type]
    assert store.get("nobody") is None
    assert store.get("nobody") is None
    assert table.reads == 1
