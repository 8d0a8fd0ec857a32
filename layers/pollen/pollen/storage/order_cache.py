"""Which customer an order belongs to, remembered by a warm container.

Apart from :mod:`pollen.storage.orders` so that building the container does not import the order
models (a function that never reads an order should not pay for them at cold start).
"""

from __future__ import annotations

import threading
from collections import OrderedDict


class OrderCustomerCache:
    """Which customer an order belongs to, remembered by a warm container (bounded LRU)."""

    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._items: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, merchant_id: str, order_id: str) -> str | None:
        with self._lock:
            value = self._items.get((merchant_id, order_id))
            if value is not None:
                self._items.move_to_end((merchant_id, order_id))
            return value

    def put(self, merchant_id: str, order_id: str, customer_id: str) -> None:
        with self._lock:
            self._items[(merchant_id, order_id)] = customer_id
            self._items.move_to_end((merchant_id, order_id))
            while len(self._items) > self._size:
                self._items.popitem(last=False)
