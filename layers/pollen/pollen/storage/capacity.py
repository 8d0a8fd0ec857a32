"""Capacity metering: the read and write units each DynamoDB call costs, by DynamoDB's own size rules.

Off by default (production pays nothing but one flag check per call). The bench and the budget tests
turn it on; it then sizes every item a call reads or writes and charges it as on-demand DynamoDB does:

- item size = attribute name bytes + value bytes (string: UTF-8 bytes; number: 1 byte per two
  significant digits + 1; binary: raw bytes; bool/null: 1; list/map: 3 + per element 1 + element);
- a write costs ceil(size / 1 KB) WRU of the larger of the item before and after it (minimum 1),
  twice inside ``TransactWriteItems`` (a ``ConditionCheck`` there is charged like a write of the item
  it checks); a delete costs the size of what it removed;
- each global secondary index the item is (or was) in costs ceil(projected size / 1 KB) WRU per index
  write: one to add, one to remove, two when the index key changes (delete old, put new), one when
  only a projected attribute changes;
- a read costs ceil(size / 4 KB) RRU per item (minimum 1, missing items too) when strongly consistent,
  half when eventually consistent, twice in ``TransactGetItems``; a Query or Scan sums the sizes of the
  items it returns before rounding once.

Writes are sized from the items themselves: the item before a write and after it are read through a
separate, uncounted client (an "oracle") around the call, so an ``UpdateItem`` is charged for what it
really left in the table. Failed calls (a cancelled transaction, a failed condition) are not charged.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pollen.storage.codec import serialize

KB = 1024
READ_UNIT = 4 * KB
WRITE_OPS = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}
READ_OPS = {"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"}

Item = Mapping[str, Any]  # an item in DynamoDB's typed JSON ({"PK": {"S": "..."}, ...})


def number_size(text: str) -> int:
    """Bytes of a DynamoDB number: one per two significant digits, plus one."""
    digits = text.lstrip("+-").lower().split("e")[0].replace(".", "")
    digits = digits.strip("0") or "0"
    return (len(digits) + 1) // 2 + 1


def _bytes(raw: Any) -> int:
    return len(raw) if isinstance(raw, bytes | bytearray) else len(str(raw).encode())


_SIZES: dict[str, Callable[[Any], int]] = {
    "S": _bytes,
    "N": lambda raw: number_size(str(raw)),
    "B": _bytes,
    "BOOL": lambda _: 1,
    "NULL": lambda _: 1,
    "L": lambda raw: 3 + sum(1 + value_size(v) for v in raw),
    "M": lambda raw: 3 + sum(1 + len(k.encode()) + value_size(v) for k, v in raw.items()),
    "SS": lambda raw: sum(_bytes(s) for s in raw),
    "NS": lambda raw: sum(number_size(str(n)) for n in raw),
    "BS": lambda raw: sum(_bytes(b) for b in raw),
}


def value_size(value: Mapping[str, Any]) -> int:
    """Bytes of one typed attribute value (without its name)."""
    ((kind, raw),) = value.items()
    return _SIZES[kind](raw)


def item_size(item: Item | None) -> int:
    """Bytes of a whole item, as DynamoDB sizes it for capacity."""
    if not item:
        return 0
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def plain_item_size(item: Mapping[str, Any]) -> int:
    """:func:`item_size` of an item written with plain Python values (str, int, Decimal, dict, ...)."""
    return item_size(serialize(dict(item)))


def write_units(size: int) -> int:
    return max(1, math.ceil(size / KB))


def read_units(size: int, *, consistent: bool) -> float:
    units = max(1, math.ceil(size / READ_UNIT))
    return float(units) if consistent else units / 2


@dataclass(frozen=True)
class Index:
    name: str
    keys: tuple[str, ...]  # the index's own key attributes
    table_keys: tuple[str, ...]
    projection: str  # ALL | KEYS_ONLY | INCLUDE
    include: tuple[str, ...] = ()

    def entry(self, item: Item | None) -> dict[str, Any] | None:
        """The item as this index stores it (None: the item is not in the index)."""
        if not item or any(k not in item for k in self.keys):
            return None
        if self.projection == "ALL":
            return dict(item)
        wanted = {*self.keys, *self.table_keys, *(self.include if self.projection == "INCLUDE" else ())}
        return {k: v for k, v in item.items() if k in wanted}

    def write_units(self, before: Item | None, after: Item | None) -> int:
        old, new = self.entry(before), self.entry(after)
        if old is None and new is None:
            return 0
        if old is None:
            return write_units(item_size(new))
        if new is None:
            return write_units(item_size(old))
        if any(old[k] != new[k] for k in self.keys):
            return write_units(item_size(old)) + write_units(item_size(new))
        if old != new:
            return write_units(max(item_size(old), item_size(new)))
        return 0


@dataclass
class Usage:
    """Capacity used since the last reset, and the sizes of the items written."""

    rru: float = 0.0
    wru: int = 0
    gsi_wru: int = 0
    written: list[tuple[str, str, int]] = field(default_factory=list)  # (operation, key, size)
    read: list[tuple[str, int]] = field(default_factory=list)  # (operation, bytes)

    def add(self, other: Usage) -> None:
        self.rru += other.rru
        self.wru += other.wru
        self.gsi_wru += other.gsi_wru
        self.written.extend(other.written)
        self.read.extend(other.read)

    def snapshot(self) -> Usage:
        return Usage(self.rru, self.wru, self.gsi_wru, list(self.written), list(self.read))


@dataclass
class _Pending:
    operation: str
    params: dict[str, Any]
    before: dict[tuple[str, str], dict[str, Any] | None] = field(default_factory=dict)


_Change = tuple[str, Any]  # ("put" | "update" | "delete" | "check", the new item of a put)
_TRANSACT_KINDS = {"Put": "put", "Update": "update", "Delete": "delete", "ConditionCheck": "check"}
_SINGLE_KINDS = {"PutItem": "put", "UpdateItem": "update", "DeleteItem": "delete"}


def _key_id(key: Item) -> str:
    return "/".join(str(next(iter(v.values()))) for _, v in sorted(key.items()))


class CapacityMeter:
    """Per-thread capacity counters; see the module docstring for the rules applied."""

    def __init__(self) -> None:
        self._local = threading.local()
        self.enabled = False
        self._oracle: Any = None
        self._oracle_factory: Callable[[], Any] | None = None
        self._tables: dict[str, tuple[tuple[str, ...], list[Index]]] = {}

    # ---- switching ----------------------------------------------------------------------------

    def enable(self, oracle: Callable[[], Any]) -> None:
        """Start metering; ``oracle`` builds an uncounted DynamoDB client to size items with."""
        self._oracle_factory = oracle
        self._oracle = None
        self._tables.clear()
        self.enabled = True

    def disable(self) -> None:
        self.enabled = False
        self._oracle = None

    @property
    def usage(self) -> Usage:
        usage: Usage | None = getattr(self._local, "usage", None)
        if usage is None:
            usage = Usage()
            self._local.usage = usage
        return usage

    def reset(self) -> None:
        self._local.usage = Usage()

    # ---- the table's shape --------------------------------------------------------------------

    def _client(self) -> Any:
        if self._oracle is None and self._oracle_factory is not None:
            self._oracle = self._oracle_factory()
        return self._oracle

    def _shape(self, table: str) -> tuple[tuple[str, ...], list[Index]]:
        shape = self._tables.get(table)
        if shape is None:
            desc = self._client().describe_table(TableName=table)["Table"]
            keys = tuple(k["AttributeName"] for k in desc["KeySchema"])
            indexes = [
                Index(
                    g["IndexName"],
                    tuple(k["AttributeName"] for k in g["KeySchema"]),
                    keys,
                    g["Projection"]["ProjectionType"],
                    tuple(g["Projection"].get("NonKeyAttributes", ())),
                )
                for g in desc.get("GlobalSecondaryIndexes", [])
            ]
            shape = (keys, indexes)
            self._tables[table] = shape
        return shape

    def _get(self, table: str, key: Item) -> dict[str, Any] | None:
        found = self._client().get_item(TableName=table, Key=key, ConsistentRead=True)
        item: dict[str, Any] | None = found.get("Item")
        return item

    # ---- botocore hooks -----------------------------------------------------------------------

    def before(self, operation: str, params: Mapping[str, Any]) -> None:
        if not self.enabled:
            return
        pending = _Pending(operation, dict(params))
        if operation in WRITE_OPS:
            for table, key, _ in self._writes(operation, pending.params):
                pending.before[(table, _key_id(key))] = self._get(table, key)
        self._local.pending = pending

    def after(self, operation: str, parsed: Mapping[str, Any], ok: bool) -> None:
        if not self.enabled:
            return
        pending: _Pending | None = getattr(self._local, "pending", None)
        self._local.pending = None
        if not ok or pending is None or pending.operation != operation:
            return
        if operation in WRITE_OPS:
            self._charge_writes(pending)
        elif operation in READ_OPS:
            self._charge_reads(operation, pending.params, parsed)

    # ---- writes -------------------------------------------------------------------------------

    def _writes(self, operation: str, params: Mapping[str, Any]) -> Iterable[tuple[str, Item, _Change]]:
        """(table, key, (kind, new item)) of each item a write request touches."""
        if operation == "TransactWriteItems":
            for entry in params["TransactItems"]:
                ((kind, body),) = entry.items()
                yield self._change(body["TableName"], _TRANSACT_KINDS[kind], body)
        elif operation == "BatchWriteItem":
            for table, requests in params["RequestItems"].items():
                for request in requests:
                    if "PutRequest" in request:
                        yield self._change(table, "put", request["PutRequest"])
                    else:
                        yield self._change(table, "delete", request["DeleteRequest"])
        else:
            yield self._change(params["TableName"], _SINGLE_KINDS[operation], params)

    def _change(self, table: str, kind: str, body: Mapping[str, Any]) -> tuple[str, Item, _Change]:
        if kind == "put":
            return table, self._key_of(table, body["Item"]), (kind, body["Item"])
        return table, body["Key"], (kind, None)

    def _key_of(self, table: str, item: Item) -> dict[str, Any]:
        keys, _ = self._shape(table)
        return {k: item[k] for k in keys}

    def _charge_writes(self, pending: _Pending) -> None:
        usage = self.usage
        factor = 2 if pending.operation == "TransactWriteItems" else 1
        for table, key, (kind, payload) in self._writes(pending.operation, pending.params):
            before = pending.before.get((table, _key_id(key)))
            if kind == "put":
                after: dict[str, Any] | None = dict(payload)
            elif kind == "update":
                after = self._get(table, key)
            elif kind == "delete":
                after = None
            else:  # a condition check changes nothing; it is charged like a write of the item
                after = before
            size = max(item_size(before), item_size(after))
            usage.wru += factor * write_units(size)
            usage.written.append((pending.operation, _key_id(key), size))
            if kind != "check":
                _, indexes = self._shape(table)
                usage.gsi_wru += sum(index.write_units(before, after) for index in indexes)

    # ---- reads --------------------------------------------------------------------------------

    def _charge_reads(self, operation: str, params: Mapping[str, Any], parsed: Mapping[str, Any]) -> None:
        usage = self.usage
        if operation == "GetItem":
            size = item_size(parsed.get("Item"))
            usage.rru += read_units(size, consistent=bool(params.get("ConsistentRead")))
            usage.read.append((operation, size))
        elif operation == "BatchGetItem":
            for table, request in params["RequestItems"].items():
                consistent = bool(request.get("ConsistentRead"))
                items = parsed.get("Responses", {}).get(table, [])
                for item in items:
                    size = item_size(item)
                    usage.rru += read_units(size, consistent=consistent)
                    usage.read.append((operation, size))
                missing = (
                    len(request["Keys"])
                    - len(items)
                    - len(parsed.get("UnprocessedKeys", {}).get(table, {}).get("Keys", []))
                )
                usage.rru += max(0, missing) * read_units(0, consistent=consistent)
        elif operation in ("Query", "Scan"):
            size = sum(item_size(item) for item in parsed.get("Items", []))
            consistent = bool(params.get("ConsistentRead")) and "IndexName" not in params
            usage.rru += read_units(size, consistent=consistent)
            usage.read.append((operation, size))
        elif operation == "TransactGetItems":
            for response in parsed.get("Responses", []):
                size = item_size(response.get("Item"))
                usage.rru += 2 * read_units(size, consistent=True)
                usage.read.append((operation, size))


capacity_meter = CapacityMeter()


def as_decimal(units: float) -> Decimal:
    return Decimal(str(units))
