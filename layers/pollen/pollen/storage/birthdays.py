"""A customer's birthday reminder item (``M#{m}#C#{customer}`` → ``BIRTHDAY``), listed in the daily
due index under the next day to celebrate, so the daily job reads only today's birthdays."""

from __future__ import annotations

from datetime import date
from typing import Any

from pollen.domain.birthdays import next_birthday
from pollen.storage.keys import Key, customer_pk
from pollen.storage.transactions import Transaction

BIRTHDAY_ENTITY = "birthday"


def birthday_key(merchant_id: str, customer_id: str) -> Key:
    return Key(customer_pk(merchant_id, customer_id), "BIRTHDAY")


def birthday_item(merchant_id: str, customer_id: str, birthday: str, due: date) -> dict[str, Any]:
    from pollen.storage.tiers import daily_index  # noqa: PLC0415 - the tier module loads with a birthday

    key = birthday_key(merchant_id, customer_id)
    return {
        **key.as_dict(),
        "entity": BIRTHDAY_ENTITY,
        "merchant_id": merchant_id,
        "customer_id": customer_id,
        "birthday": birthday,
        "due": due.isoformat(),
        **daily_index(key, due),
    }


def put_birthday(tx: Transaction, merchant_id: str, customer_id: str, birthday: str, today: date) -> None:
    """List the customer under their next birthday (today's included)."""
    tx.put(
        birthday_item(merchant_id, customer_id, birthday, next_birthday(birthday, today)), label="birthday"
    )
