"""The contact fields events carry are the same whichever module builds them (services/contacts.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from pollen.domain.customers import Customer
from pollen.services import contacts

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_contacts_name_a_customer_by_the_fields_receivers_look_up() -> None:
    customer = Customer(
        customer_id="c1",
        email="ada@example.com",
        phone="+15550100",
        first_name="Ada",
        last_name="Lovelace",
        created_at=NOW,
        updated_at=NOW,
        source="api",
    )
    assert contacts.customer_fields(customer) == {
        "customer_id": "c1",
        "email": "ada@example.com",
        "phone": "+15550100",
        "first_name": "Ada",
        "last_name": "Lovelace",
    }
