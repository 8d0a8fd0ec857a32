"""The due index: what falls due by a day, read shard by shard (the hourly job's one query path).

Orders, coupons, referrals and review requests are listed on GSI1, wallets on GSI2 (and on GSI1 while
written before GSI2): every shard of both, all pages, up to the day asked. Index copies are
eventually consistent, so the job re-reads each item before changing it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from pollen.storage.keys import DUE_SHARDS, due_shard_pk
from pollen.storage.table import GSI1, GSI2, Table


def due_items(table: Table, today: date) -> Iterator[dict[str, Any]]:
    upto = f"{today.isoformat()}#\uffff"
    for index in (GSI1, GSI2):
        for shard in range(DUE_SHARDS):
            cursor: str | None = None
            while True:
                page = table.query(due_shard_pk(shard), index=index, sk_upto=upto, cursor=cursor)
                yield from page.items
                if page.next_cursor is None:
                    break
                cursor = page.next_cursor
