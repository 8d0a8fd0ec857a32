"""The warm-container singletons: table, caches and stores, built once per cold start."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

from pollen.config import Settings, get_settings
from pollen.storage.api_keys import ApiKeyStore, KeyCache
from pollen.storage.deliveries import DeliveryLog
from pollen.storage.merchant_config import MerchantConfigStore
from pollen.storage.order_cache import OrderCustomerCache
from pollen.storage.queues import DeliveryQueues
from pollen.storage.table import Table

if TYPE_CHECKING:
    import httpx

    from pollen.services.unit_of_work import Units
    from pollen.storage.ports import Store


class OutboundHttp:
    """The one outbound HTTP client of a container (10 s timeouts, connections reused), made on
    first use; tests and tools install a transport (``httpx.MockTransport``) instead of the network."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._client: httpx.Client | None = None

    @property
    def client(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                from pollen.integrations.outbound import outbound_client  # noqa: PLC0415 - httpx on use

                self._client = outbound_client()
            return self._client

    def install(self, transport: httpx.BaseTransport) -> httpx.Client:
        from pollen.integrations.outbound import outbound_client  # noqa: PLC0415 - httpx on use

        with self._lock:
            self._client = outbound_client(transport)
            return self._client


@dataclass(frozen=True)
class Container:
    settings: Settings
    table: Table
    config: MerchantConfigStore
    api_keys: ApiKeyStore
    key_cache: KeyCache
    order_customers: OrderCustomerCache
    deliveries: DeliveryLog
    queues: DeliveryQueues
    http: OutboundHttp = field(default_factory=OutboundHttp)
    store: Store | None = None  # what units of work read and commit: the table unless a test gives a fake

    @property
    def units(self) -> Units:
        """Units of work (services/unit_of_work.py) on the table, or on the store a test installed."""
        from pollen.services.unit_of_work import Units  # noqa: PLC0415 - services import the container
        from pollen.storage.unit_of_work import DynamoStore  # noqa: PLC0415

        return Units(self.store if self.store is not None else DynamoStore(self.table))


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
        deliveries=DeliveryLog(table, timedelta(days=settings.delivery_log_retention_days)),
        queues=DeliveryQueues(settings.delivery_queue_url, settings.delivery_dlq_url),
    )


def reset_container() -> None:
    """Drop warm state (tests simulate a cold start)."""
    container.cache_clear()
    get_settings.cache_clear()
