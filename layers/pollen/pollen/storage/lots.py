"""A wallet's expiry lots in a few bytes: the customer item stays small however long its history.

A lot is an expiry day (or ``never``) and its coins. As a DynamoDB map each lot costs ~14 bytes (a
10-byte date name, the number, the element overhead), so a year of daily credits made the customer
item ~5 KB: 5 WRU per write (10 in a transaction) and 2 RRU per strongly consistent balance read.

Packed, the lots are one string: ``"1."`` then URL-safe base64 (no padding) of unsigned varints —
the number of dated lots; the first lot's day as days since 1970-01-01 and then each next lot's days
after the one before (ascending, so 1 byte for lots a day apart); each lot's coins; last the coins
that never expire (0: none). A year of daily lots of up to 127 coins is ~1 KB of text. Lossless:
every lot keeps its exact day and coins, so expiry stays exact to the day and FIFO (soonest first)
consumption takes exactly what it took before (docs/design.md "Cost per order").
"""

from __future__ import annotations

import base64
from datetime import date

from pollen.domain.wallet import NEVER

VERSION = "1."
_EPOCH = date(1970, 1, 1).toordinal()


def _varint(value: int, out: bytearray) -> None:
    if value < 0:
        raise ValueError("lots pack only non-negative numbers")
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return


def _read(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def pack(lots: dict[str, int]) -> str:
    """``{"2026-01-31": 20, "never": 5}`` → a short string (see the module docstring)."""
    dated = sorted((date.fromisoformat(d).toordinal(), c) for d, c in lots.items() if d != NEVER)
    out = bytearray()
    _varint(len(dated), out)
    previous = _EPOCH
    for day, _ in dated:
        _varint(day - previous, out)
        previous = day
    for _, coins in dated:
        _varint(coins, out)
    _varint(lots.get(NEVER, 0), out)
    return VERSION + base64.urlsafe_b64encode(bytes(out)).decode().rstrip("=")


def unpack(packed: str) -> dict[str, int]:
    """The lots :func:`pack` packed, soonest first (``never`` last)."""
    if not packed.startswith(VERSION):
        raise ValueError("unknown lots encoding")
    body = packed[len(VERSION) :]
    data = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    count, pos = _read(data, 0)
    days = []
    day = _EPOCH
    for _ in range(count):
        delta, pos = _read(data, pos)
        day += delta
        days.append(date.fromordinal(day).isoformat())
    lots: dict[str, int] = {}
    for name in days:
        lots[name], pos = _read(data, pos)
    never, pos = _read(data, pos)
    if never:
        lots[NEVER] = never
    return lots


def stored(lots: dict[str, int] | str) -> dict[str, int]:
    """Lots as read from an item: packed (now) or a map (items written before packing)."""
    if isinstance(lots, str):
        return unpack(lots)
    return {str(k): int(v) for k, v in lots.items()}
