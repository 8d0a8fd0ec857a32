"""Identifiers: time-ordered ids (sortable in a DynamoDB sort key) and random tokens."""

from __future__ import annotations

import os
import secrets
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_ulid(now_ms: int | None = None) -> str:
    """A ULID: 48-bit millisecond time + 80 random bits, Crockford base32, lexicographically sortable."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    return _crockford((ms << 80) | int.from_bytes(os.urandom(10), "big"))


def stable_ulid(now_ms: int, key: str) -> str:
    """A ULID whose random part is derived from ``key``: the same (time, key) always names the same id
    (a debounce window's one event per customer)."""
    import hashlib  # noqa: PLC0415 - rarely used

    return _crockford((now_ms << 80) | int.from_bytes(hashlib.sha256(key.encode()).digest()[:10], "big"))


def ulid_ms(text: str) -> int | None:
    """The millisecond time a ULID was made (None: ``text`` is not a ULID)."""
    if len(text) != 26 or text[0] > "7":
        return None
    value = 0
    for char in text[:10].upper():
        digit = _CROCKFORD.find(char)
        if digit < 0:
            return None
        value = value * 32 + digit
    return value if all(_CROCKFORD.find(c) >= 0 for c in text[10:].upper()) else None


def _crockford(value: int) -> str:
    """The 128-bit ``value`` as 26 Crockford base32 characters, most significant first."""
    chars = []
    for _ in range(26):
        value, rem = divmod(value, 32)
        chars.append(_CROCKFORD[rem])
    return "".join(reversed(chars))


def new_token(nbytes: int = 32) -> str:
    """A URL-safe random secret of ``nbytes`` bytes of entropy."""
    return secrets.token_urlsafe(nbytes)


def new_hex_id(nbytes: int = 8) -> str:
    return secrets.token_hex(nbytes)
