"""Issue 10's boundary: table keys and condition expressions live in ``pollen/storage`` only.

Services, the domain, the API layer and the handlers speak aggregates, refs and changes; a key
attribute or an expression written anywhere else is a storage detail leaking upwards."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "layers" / "pollen" / "pollen"
LEAKS = re.compile(
    r"""["'](PK|SK|GSI[12]PK|GSI[12]SK)["']"""  # key attributes
    r"|attribute_(not_)?exists|begins_with\(|if_not_exists\("  # condition/update functions
    r"|(Condition|Update|KeyCondition|Projection)Expression"
    r"|ExpressionAttribute(Names|Values)"
    r"""|f?["']M#"""  # a partition key spelled out
)


def _sources() -> list[Path]:
    outside = [p for p in PACKAGE.rglob("*.py") if "storage" not in p.relative_to(PACKAGE).parts[:1]]
    return sorted([*outside, *(ROOT / "functions").rglob("*.py")])


def leaks_in(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if LEAKS.search(line)]


def test_no_key_or_expression_outside_storage() -> None:
    found = {
        str(path.relative_to(ROOT)): lines for path in _sources() if (lines := leaks_in(path.read_text()))
    }
    assert found == {}


def test_the_check_sees_each_kind_of_leak() -> None:
    assert leaks_in('item.get("PK")')
    assert leaks_in("ConditionExpression='#v = :v'")
    assert leaks_in('"attribute_not_exists(PK)"')
    assert leaks_in('pk = f"M#{merchant_id}#C#{customer_id}"')
    assert not leaks_in("order = uow.orders.require(order_id)")


WRITES = re.compile(
    r"\.transaction\(\)|storage\.transactions import .*\bTransaction\b"
    r"|table\.[a-z_]+\("  # any call on the table: reads too go through storage's stores
)


def test_no_service_or_handler_calls_the_table() -> None:
    """Every write of a use case is a typed change committed by the unit of work's store, and every
    read goes through the store or a storage module: no service, router or handler calls the table."""
    sources = [
        *(PACKAGE / "services").rglob("*.py"),
        *(PACKAGE / "api").rglob("*.py"),
        *(ROOT / "functions").rglob("*.py"),
    ]
    found = {
        str(path.relative_to(ROOT)): hits
        for path in sorted(sources)
        if (hits := [line.strip() for line in path.read_text().splitlines() if WRITES.search(line)])
    }
    assert found == {}
    assert WRITES.search("tx = c.table.transaction()")
    assert WRITES.search("c.table.put(item, condition=...)")
    assert WRITES.search("item = c.table.get(key)")
    assert not WRITES.search("CustomerStore(c.table).get(merchant_id, customer_id)")
