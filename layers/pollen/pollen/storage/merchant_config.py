"""The merchant's configuration partition (``M#{m}#CONFIG``): read with one Query, cached warm."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pollen.clock import isoformat
from pollen.domain.merchants import Merchant, ShopifyConnection
from pollen.storage.keys import config_pk, merchant_key, program_key, shop_domain_gsi1pk, shopify_key
from pollen.storage.table import GSI1, Table

if TYPE_CHECKING:
    from pollen.domain.program import Program

MERCHANT_ENTITY = "merchant"
PROGRAM_ENTITY = "program"
SHOPIFY_ENTITY = "shopify"


class MerchantConfig:
    """Everything under the merchant's config partition, typed where a module knows the item.

    The program is parsed (and its model built) on first access: the stream consumers that read a
    merchant's integrations and events settings never load the program's models (docs/design.md,
    "Cold start"). Read-only by convention, like the frozen dataclass it replaces.
    """

    __slots__ = ("_program", "_program_item", "items", "merchant", "shopify")

    def __init__(
        self,
        merchant: Merchant,
        program: Program | None = None,
        shopify: ShopifyConnection | None = None,
        items: dict[str, dict[str, Any]] | None = None,  # raw items by SK, for later modules
        *,
        program_item: dict[str, Any] | None = None,  # the PROGRAM item, parsed when first asked for
    ) -> None:
        self.merchant = merchant
        self.shopify = shopify
        self.items: dict[str, dict[str, Any]] = items if items is not None else {}
        self._program = program
        self._program_item = program_item

    @property
    def program(self) -> Program | None:
        item = self._program_item
        if item is not None:  # two threads may both parse it: the same value either way
            self._program = _program(item)
            self._program_item = None
        return self._program

    def __repr__(self) -> str:
        return (
            f"MerchantConfig(merchant={self.merchant!r}, shopify={self.shopify!r}, items={len(self.items)})"
        )


def merchant_item(merchant: Merchant) -> dict[str, Any]:
    return {
        **merchant_key(merchant.merchant_id).as_dict(),
        "entity": MERCHANT_ENTITY,
        **merchant.model_dump(mode="json"),
        "created_at": isoformat(merchant.created_at),
    }


def program_item(merchant_id: str, program: Program) -> dict[str, Any]:
    return {
        **program_key(merchant_id).as_dict(),
        "entity": PROGRAM_ENTITY,
        "merchant_id": merchant_id,
        "settings": program.model_dump(mode="json", exclude={"version", "updated_at"}),
        "version": program.version,
        "updated_at": isoformat(program.updated_at),
    }


def shopify_item(merchant_id: str, connection: ShopifyConnection) -> dict[str, Any]:
    return {
        **shopify_key(merchant_id).as_dict(),
        "entity": SHOPIFY_ENTITY,
        "merchant_id": merchant_id,
        "GSI1PK": shop_domain_gsi1pk(connection.shop_domain),
        "GSI1SK": f"M#{merchant_id}",
        **connection.model_dump(mode="json"),
    }


def _program(item: dict[str, Any]) -> Program:
    from pollen.domain.program import Program  # noqa: PLC0415 - on first use (MerchantConfig.program)

    return Program.model_validate(
        {**item["settings"], "version": item["version"], "updated_at": item["updated_at"]}
    )


def parse_program_item(item: dict[str, Any]) -> Program:
    return _program(item)


def parse_config(items: list[dict[str, Any]]) -> MerchantConfig | None:
    by_sk = {item["SK"]: item for item in items}
    merchant = by_sk.get("MERCHANT")
    if merchant is None:
        return None
    program = by_sk.get("PROGRAM")
    shopify = by_sk.get("SHOPIFY")
    return MerchantConfig(
        merchant=Merchant.model_validate(merchant),
        program_item=program or None,
        shopify=ShopifyConnection.model_validate(shopify) if shopify else None,
        items=by_sk,
    )


class MerchantConfigStore:
    """Loads a merchant's config with one Query; a warm container serves it from memory for ``ttl``."""

    def __init__(self, table: Table, ttl_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._table = table
        self._ttl = ttl_seconds
        self.clock = clock  # monotonic seconds; the cost meter pins it (infra/cost.py)
        self._cache: dict[str, tuple[float, MerchantConfig | None]] = {}
        self._shops: dict[str, tuple[float, str | None]] = {}
        self._refreshed: dict[str, float] = {}
        self._lock = threading.Lock()

    def get(self, merchant_id: str) -> MerchantConfig | None:
        now = self.clock()
        with self._lock:
            hit = self._cache.get(merchant_id)
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        config = parse_config(self._table.query_all(config_pk(merchant_id)))
        with self._lock:
            self._cache[merchant_id] = (now, config)
        return config

    def refresh(self, merchant_id: str, *, min_interval_seconds: float) -> MerchantConfig | None:
        """Read again now (a config another container just changed, e.g. a rotated token secret),
        but at most once per ``min_interval_seconds`` per merchant; in between, the cached copy."""
        now = self.clock()
        with self._lock:
            last = self._refreshed.get(merchant_id)
            due = last is None or now - last >= min_interval_seconds
            if due:
                self._refreshed[merchant_id] = now
                self._cache.pop(merchant_id, None)
        return self.get(merchant_id)

    def invalidate(self, merchant_id: str) -> None:
        """Called after this container changes the config, so it reads its own writes at once."""
        with self._lock:
            self._cache.pop(merchant_id, None)

    def forget_shop(self, shop_domain: str) -> None:
        """Called after this container connects a shop, so its webhooks find the merchant at once."""
        with self._lock:
            self._shops.pop(shop_domain.strip().lower(), None)

    def merchant_for_shop(self, shop_domain: str) -> str | None:
        """Which merchant a Shopify shop belongs to (GSI1; the webhook cannot know the merchant id)."""
        domain = shop_domain.strip().lower()
        if not domain or "#" in domain:
            return None
        now = self.clock()
        with self._lock:
            hit = self._shops.get(domain)
        if hit is not None and now - hit[0] < (self._ttl if hit[1] else min(self._ttl, 5.0)):
            return hit[1]
        items = self._table.query(shop_domain_gsi1pk(domain), index=GSI1, limit=1).items
        merchant_id = str(items[0]["merchant_id"]) if items else None
        with self._lock:
            self._shops[domain] = (now, merchant_id)
        return merchant_id
