"""DynamoDB's size and capacity rules as storage/capacity.py applies them."""

from __future__ import annotations

from pollen.storage.capacity import Index, item_size, number_size, read_units, value_size, write_units


def test_sizes_follow_dynamodb_rules() -> None:
    assert value_size({"S": "héllo"}) == 6  # UTF-8 bytes
    assert number_size("0") == 2
    assert number_size("12") == 2  # 1 byte per two significant digits + 1
    assert number_size("123") == 3
    assert number_size("1200") == 2  # trailing zeros trimmed
    assert number_size("-0.0012") == 2
    assert value_size({"BOOL": True}) == value_size({"NULL": True}) == 1
    assert value_size({"L": [{"S": "ab"}, {"N": "1"}]}) == 3 + (1 + 2) + (1 + 2)
    assert value_size({"M": {"k": {"S": "v"}}}) == 3 + 1 + 1 + 1
    assert value_size({"B": b"\x00\x01"}) == 2
    assert item_size({"PK": {"S": "abc"}, "n": {"N": "7"}}) == (2 + 3) + (1 + 2)


def test_units_round_up() -> None:
    assert write_units(0) == 1
    assert write_units(1024) == 1
    assert write_units(1025) == 2
    assert read_units(4096, consistent=True) == 1
    assert read_units(4097, consistent=True) == 2
    assert read_units(10, consistent=False) == 0.5


def test_gsi_writes_count_adds_removals_key_moves_and_projected_changes() -> None:
    index = Index("GSI1", ("GSI1PK", "GSI1SK"), ("PK", "SK"), "KEYS_ONLY")
    base = {"PK": {"S": "p"}, "SK": {"S": "s"}, "x": {"S": "1"}}
    listed = {**base, "GSI1PK": {"S": "a"}, "GSI1SK": {"S": "1"}}
    assert index.write_units(None, base) == 0  # not in the index
    assert index.write_units(None, listed) == 1  # added
    assert index.write_units(listed, base) == 1  # removed
    assert index.write_units(listed, {**listed, "GSI1PK": {"S": "b"}}) == 2  # moved: delete + put
    assert index.write_units(listed, {**listed, "x": {"S": "2"}}) == 0  # not projected: free
    everything = Index("GSI1", ("GSI1PK", "GSI1SK"), ("PK", "SK"), "ALL")
    assert everything.write_units(listed, {**listed, "x": {"S": "2"}}) == 1  # projected: one write
