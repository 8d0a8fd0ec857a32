"""The warm-container singletons: table, caches and stores, built once per cold start.

Each store is built (and its module imported) the first time a request uses it, not when the
function is imported: a function pays at init only for what every request needs, and a store's
models (the merchant config's program, the delivery log's records, the queues' messages) on the
first request that reads them (docs/design.md, "Cold start"). Tests pass ready-made stores instead.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, TypeVar

from pollen.config import Settings, get_settings
from pollen.storage.table import Table

if TYPE_CHECKING:
    import httpx

    from pollen.integrations.pacing import Pacer
    from pollen.services.unit_of_work import Units
    from pollen.storage.api_keys import ApiKeyStore, KeyCache
    from pollen.storage.deliveries import DeliveryLog
    from pollen.storage.merchant_config import MerchantConfigStore
    from pollen.storage.order_cache import OrderCustomerCache
    from pollen.storage.ports import Store
    from pollen.storage.queues import DeliveryQueues

T = TypeVar("T")


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


class Container:
    """Settings, the table and the stores on it; a store not given is built on first use."""

    def __init__(
        self,
        settings: Settings,
        table: Table,
        *,
        config: MerchantConfigStore | None = None,
        api_keys: ApiKeyStore | None = None,
        key_cache: KeyCache | None = None,
        order_customers: OrderCustomerCache | None = None,
        deliveries: DeliveryLog | None = None,
        queues: DeliveryQueues | None = None,
        http: OutboundHttp | None = None,
        store: Store | None = None,
    ) -> None:
        self.settings = settings
        self.table = table
        self.http = http if http is not None else OutboundHttp()
        # What units of work read and commit: the table unless a test gives a fake.
        self.store = store
        self._lock = threading.Lock()
        self._config = config
        self._api_keys = api_keys
        self._key_cache = key_cache
        self._order_customers = order_customers
        self._deliveries = deliveries
        self._queues = queues
        self._pacer: Pacer | None = None

    def _built(self, attribute: str, build: Callable[[], T]) -> T:
        """The store held in ``attribute``, built once (under the lock) when it is still None."""
        value: T | None = getattr(self, attribute)
        if value is None:
            with self._lock:
                value = getattr(self, attribute)
                if value is None:
                    value = build()
                    setattr(self, attribute, value)
        return value

    @property
    def config(self) -> MerchantConfigStore:
        def build() -> MerchantConfigStore:
            from pollen.storage.merchant_config import MerchantConfigStore  # noqa: PLC0415 - on use

            return MerchantConfigStore(self.table, self.settings.config_cache_ttl_seconds)

        return self._built("_config", build)

    @property
    def api_keys(self) -> ApiKeyStore:
        def build() -> ApiKeyStore:
            from pollen.storage.api_keys import ApiKeyStore  # noqa: PLC0415 - on use

            return ApiKeyStore(self.table)

        return self._built("_api_keys", build)

    @property
    def key_cache(self) -> KeyCache:
        def build() -> KeyCache:
            from pollen.storage.api_keys import KeyCache  # noqa: PLC0415 - on use

            return KeyCache(self.settings.auth_cache_ttl_seconds)

        return self._built("_key_cache", build)

    @property
    def order_customers(self) -> OrderCustomerCache:
        def build() -> OrderCustomerCache:
            from pollen.storage.order_cache import OrderCustomerCache  # noqa: PLC0415 - on use

            return OrderCustomerCache()

        return self._built("_order_customers", build)

    @property
    def pacer(self) -> Pacer:
        """Paces the container's requests to Klaviyo and Omnisend (pollen.integrations.pacing)."""

        def build() -> Pacer:
            from pollen.integrations.pacing import Pacer  # noqa: PLC0415 - the delivery function's

            return Pacer()

        return self._built("_pacer", build)

    @pacer.setter
    def pacer(self, pacer: Pacer) -> None:
        self._pacer = pacer

    @property
    def deliveries(self) -> DeliveryLog:
        def build() -> DeliveryLog:
            from pollen.storage.deliveries import DeliveryLog  # noqa: PLC0415 - on use

            days = self.settings.delivery_log_retention_days
            return DeliveryLog(self.table, timedelta(days=days))

        return self._built("_deliveries", build)

    @property
    def queues(self) -> DeliveryQueues:
        def build() -> DeliveryQueues:
            from pollen.storage.queues import DeliveryQueues  # noqa: PLC0415 - on use

            return DeliveryQueues(self.settings.delivery_queue_url, self.settings.delivery_dlq_url)

        return self._built("_queues", build)

    @property
    def units(self) -> Units:
        """Units of work (services/unit_of_work.py) on the table, or on the store a test installed."""
        from pollen.services.unit_of_work import Units  # noqa: PLC0415 - services import the container
        from pollen.storage.unit_of_work import DynamoStore  # noqa: PLC0415

        return Units(self.store if self.store is not None else DynamoStore(self.table))


@lru_cache(maxsize=1)
def container() -> Container:
    settings = get_settings()
    return Container(settings=settings, table=Table(settings.table_name))


def reset_container() -> None:
    """Drop warm state (tests simulate a cold start)."""
    container.cache_clear()
    get_settings.cache_clear()
