"""The warm-container singletons: table, caches and stores, built once per cold start."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from pollen.config import Settings, get_settings
from pollen.storage.api_keys import ApiKeyStore, KeyCache
from pollen.storage.merchant_config import MerchantConfigStore
from pollen.storage.orders import OrderCustomerCache
from pollen.storage.table import Table


@dataclass(frozen=True)
class Container:
    settings: Settings
    table: Table
    config: MerchantConfigStore
    api_keys: ApiKeyStore
    key_cache: KeyCache
    order_customers: OrderCustomerCache


@lru_cache(maxsize=1)
def container() -> Container:
    settings = get_settings()
    table = Table(settings.table_name)
    return Container(
        settings=settings,
        table=table,
        config=MerchantConfigStore(table, settings.config_cache_ttl_seconds),
        api_keys=ApiKeyStore(table),
        key_cache=KeyCache(settings.auth_cache_ttl_seconds),
        order_customers=OrderCustomerCache(),
    )


def reset_container() -> None:
    """Drop warm state (tests simulate a cold start)."""
    container.cache_clear()
    get_settings.cache_clear()
