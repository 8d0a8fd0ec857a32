from __future__ import annotations

import pytest

from pollen.domain.errors import InvalidRequest
from pollen.storage.pagination import decode_cursor, encode_cursor

PK = "M#m1#C#c1"


def test_cursor_round_trips() -> None:
    key = {"PK": {"S": PK}, "SK": {"S": "TXN#01"}}
    assert decode_cursor(encode_cursor(key), partition_attr="PK", partition_value=PK) == key


def test_cursor_cannot_point_into_another_partition() -> None:
    other = encode_cursor({"PK": {"S": "M#m2#C#c1"}, "SK": {"S": "TXN#01"}})
    with pytest.raises(InvalidRequest) as info:
        decode_cursor(other, partition_attr="PK", partition_value=PK)
    assert info.value.errors[0].field == "cursor"


@pytest.mark.parametrize(
    "cursor",
    ["", "!!!", "bm90IGpzb24", encode_cursor({"PK": {"S": PK}, "SK": {"M": {}}}), "W10"],
)
def test_garbage_cursors_are_a_client_error(cursor: str) -> None:
    with pytest.raises(InvalidRequest):
        decode_cursor(cursor, partition_attr="PK", partition_value=PK)
