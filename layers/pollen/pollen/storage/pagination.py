"""Opaque cursors for paginated queries.

A cursor is the query's ``LastEvaluatedKey`` in base64url JSON. Decoding checks that it points into
the partition being queried, so a forged cursor can never reach another merchant's items.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Generic, TypeVar

from pollen.domain.errors import FieldError, InvalidRequest
from pollen.domain.values import value as value_class

T = TypeVar("T")


@value_class
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(last_evaluated_key: dict[str, Any]) -> str:
    raw = json.dumps(last_evaluated_key, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def invalid_cursor() -> InvalidRequest:
    return InvalidRequest(
        "The cursor is not valid for this list.",
        errors=[FieldError("cursor", "not a cursor returned by this list", "invalid_cursor")],
    )


def decode_cursor(cursor: str, *, partition_attr: str, partition_value: str) -> dict[str, Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise invalid_cursor() from exc
    if not isinstance(key, dict) or key.get(partition_attr) != {"S": partition_value}:
        raise invalid_cursor()
    for value in key.values():
        if not isinstance(value, dict) or len(value) != 1 or next(iter(value)) not in {"S", "N"}:
            raise invalid_cursor()
    return key
