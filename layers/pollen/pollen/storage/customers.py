"""Customer items: profile and wallet in one item (``CUSTOMER``), ledger entries beside it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pollen.clock import isoformat
from pollen.domain.customers import Customer, CustomerRecord, birthday_changed, contact_links, due_day
from pollen.domain.wallet import LedgerEntry, Wallet
from pollen.storage.keys import (
    customer_directory_key,
    customer_directory_pk,
    customer_key,
    customer_of,
    customer_pk,
    email_key,
    ledger_key,
    phone_digits,
    phone_key,
    wallet_due_index,
)
from pollen.storage.lots import pack, stored
from pollen.storage.pagination import Page
from pollen.storage.table import Table
from pollen.storage.transactions import Transaction

if TYPE_CHECKING:
    from collections.abc import Collection, Sequence

    from pollen.events.envelope import OutboxEvent
    from pollen.storage.ports import SaveProfile

CUSTOMER_ENTITY = "customer"
LEDGER_ENTITY = "ledger"


def customer_item(merchant_id: str, record: CustomerRecord, *, reminder_days: int) -> dict[str, Any]:
    customer, wallet = record.customer, record.wallet
    due = due_day(wallet, reminder_days)
    return {
        **customer_key(merchant_id, customer.customer_id).as_dict(),
        "entity": CUSTOMER_ENTITY,
        "merchant_id": merchant_id,
        **customer.model_dump(mode="json", exclude={"created_at", "updated_at"}),
        "created_at": isoformat(customer.created_at),
        "updated_at": isoformat(customer.updated_at),
        "wallet": {
            **wallet.model_dump(mode="json", exclude={"customer_id", "version", "lots"}),
            "lots": pack(wallet.lots),  # a few bytes per lot: the item stays small (storage/lots.py)
        },
        "version": wallet.version,
        **(wallet_due_index(customer_pk(merchant_id, customer.customer_id), due.isoformat()) if due else {}),
    }


def parse_customer_item(item: dict[str, Any]) -> CustomerRecord:
    customer = Customer.model_validate(item)
    raw = item["wallet"]
    wallet = Wallet.model_validate(
        {
            **raw,
            "lots": stored(raw.get("lots") or {}),
            "customer_id": customer.customer_id,
            "version": item["version"],
        }
    )
    return CustomerRecord(customer, wallet)


def ledger_item(
    merchant_id: str, customer_id: str, entry: LedgerEntry, *, event_id: str, pending: int
) -> dict[str, Any]:
    """The entry, with what its ``wallet_transaction`` event needs beyond it: the event's id (every
    receiver's dedupe id) and the wallet's pending coins after the change. No contact data: the event
    router reads the customer's profile when it routes the event (docs/design.md, "Cost per order")."""
    return {
        **ledger_key(merchant_id, customer_id, entry.seq).as_dict(),
        "entity": LEDGER_ENTITY,
        **entry.model_dump(mode="json", exclude={"created_at"}),
        "created_at": isoformat(entry.created_at),
        "event_id": event_id,
        "pending": pending,
    }


def ledger_event(item: dict[str, Any]) -> OutboxEvent | None:
    """A ledger item (its stream image, numbers as ints) as its ``wallet_transaction`` event, the
    customer named by id only (:func:`pollen.events.ledger.with_customer` fills the profile); None for
    an entry written before entries carried their event's id (its event is the ``EVT`` item written
    with it, which the stream delivers itself)."""
    from pollen.events.ledger import wallet_transaction  # noqa: PLC0415 - the stream consumers only

    event_id = item.get("event_id")
    if not event_id:
        return None
    merchant_id, customer_id = customer_of(str(item["PK"]))
    return wallet_transaction(
        merchant_id,
        customer_id,
        LedgerEntry.model_validate(item),
        event_id=str(event_id),
        pending=int(item.get("pending") or 0),
    )


def put_customer(
    tx: Transaction,
    merchant_id: str,
    record: CustomerRecord,
    *,
    expected_version: int | None,
    reminder_days: int,
    part: str = "",
) -> None:
    """Write the whole customer item, guarded by the version it was read at (None: must not exist).
    A second customer in the same transaction takes a ``part`` (``customer-referrer``...)."""
    item = customer_item(merchant_id, record, reminder_days=reminder_days)
    suffix = f"-{part}" if part else ""
    if expected_version is None:
        tx.put(item, label=f"customer{suffix}", condition="attribute_not_exists(PK)")
        customer_id = record.customer.customer_id
        tx.put(
            {
                **customer_directory_key(merchant_id, customer_id).as_dict(),
                "entity": "directory",
                "customer_id": customer_id,
            },
            label=f"directory{suffix}",
        )
    else:
        tx.put(
            item,
            label=f"customer{suffix}",
            condition="#v = :v",
            names={"#v": "version"},
            values={":v": expected_version},
        )


def put_email_link(tx: Transaction, merchant_id: str, email: str, customer_id: str) -> None:
    tx.put(
        {**email_key(merchant_id, email).as_dict(), "entity": "email", "customer_id": customer_id},
        label="email",
    )


def put_phone_link(tx: Transaction, merchant_id: str, phone: str, customer_id: str) -> None:
    """Which customer has this phone number (digits only), for look-ups such as test events."""
    if not phone_digits(phone).lstrip("+"):
        return  # nothing that could be dialled: nothing to look up by
    tx.put(
        {**phone_key(merchant_id, phone).as_dict(), "entity": "phone", "customer_id": customer_id},
        label="phone",
    )


def put_contact_links(
    tx: Transaction, merchant_id: str, customer: Customer, previous: Customer | None
) -> None:
    """The email and phone look-up items that follow the profile (domain/customers.py ``contact_links``)."""
    email, phone = contact_links(customer, previous)
    if email:
        put_email_link(tx, merchant_id, email, customer.customer_id)
    if phone:
        put_phone_link(tx, merchant_id, phone, customer.customer_id)


def put_wallet_change(
    tx: Transaction,
    merchant_id: str,
    after: CustomerRecord,
    *,
    expected_version: int | None,
    reminder_days: int,
    entries: Sequence[LedgerEntry] = (),
    event_ids: Sequence[str] = (),
    part: str = "",
) -> None:
    """The customer item (version-guarded; None: a new customer) and each ledger entry, which is its
    own ``wallet_transaction`` event (named by its ``event_ids``; no outbox item of its own).
    ``part`` keeps a second customer's labels apart (``customer-referrer``, ``referrer-ledger-0``...)."""
    put_customer(
        tx, merchant_id, after, expected_version=expected_version, reminder_days=reminder_days, part=part
    )
    prefix = f"{part}-" if part else ""
    customer_id, pending = after.customer.customer_id, after.wallet.pending
    for n, (entry, event_id) in enumerate(zip(entries, event_ids, strict=True)):
        item = ledger_item(merchant_id, customer_id, entry, event_id=event_id, pending=pending)
        tx.put(item, label=f"{prefix}ledger-{n}")


def stage_profile(tx: Transaction, merchant_id: str, change: SaveProfile) -> None:
    """A profile saved, with its look-up items and, when the birthday changed, the birthday index."""
    put_wallet_change(
        tx,
        merchant_id,
        change.after,
        expected_version=change.expected_version,
        reminder_days=change.reminder_days,
    )
    profile = change.after.customer
    put_contact_links(tx, merchant_id, profile, change.before)
    if profile.birthday and birthday_changed(profile, change.before):
        from pollen.storage.birthdays import put_birthday  # noqa: PLC0415 - a birthday set or changed only

        put_birthday(tx, merchant_id, profile.customer_id, profile.birthday, change.today)


class CustomerStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def get(self, merchant_id: str, customer_id: str, *, consistent: bool = True) -> CustomerRecord | None:
        item = self._table.get(customer_key(merchant_id, customer_id), consistent=consistent)
        return parse_customer_item(item) if item else None

    def get_many(self, merchant_id: str, customer_ids: list[str]) -> list[CustomerRecord]:
        """Several customers (BatchGetItem, 100 keys a call), in the order asked; absent ones left out."""
        keys = [customer_key(merchant_id, cid) for cid in customer_ids]
        records = (
            parse_customer_item(item) for item in self._table.batch_get(keys, consistent=False).values()
        )
        found = {record.customer.customer_id: record for record in records}
        return [found[cid] for cid in customer_ids if cid in found]

    def profiles(self, customers: Collection[tuple[str, str]]) -> dict[tuple[str, str], Customer]:
        """The profiles of (merchant id, customer id) pairs, any merchants: one BatchGetItem per 100,
        strongly consistent (the event router reads customers whose change the stream just showed:
        a new customer's item is as old as that change). Absent customers are left out."""
        keys = {customer_key(m, c): (m, c) for m, c in customers}
        found = self._table.batch_get(list(keys), consistent=True)
        return {keys[key]: Customer.model_validate(item) for key, item in found.items() if key in keys}

    def directory(
        self, merchant_id: str, *, id_prefix: str = "", limit: int, cursor: str | None
    ) -> Page[str]:
        """Customer ids in id order, optionally starting with ``id_prefix``: one Query."""
        page = self._table.query(
            customer_directory_pk(merchant_id), sk_prefix=f"C#{id_prefix}", limit=limit, cursor=cursor
        )
        return Page([str(item["customer_id"]) for item in page.items], page.next_cursor)

    def customer_id_for_email(self, merchant_id: str, email: str) -> str | None:
        item = self._table.get(email_key(merchant_id, email))
        return str(item["customer_id"]) if item else None

    def customer_id_for_phone(self, merchant_id: str, phone: str) -> str | None:
        if not phone_digits(phone).lstrip("+"):
            return None
        item = self._table.get(phone_key(merchant_id, phone))
        return str(item["customer_id"]) if item else None

    def history(
        self, merchant_id: str, customer_id: str, *, limit: int, cursor: str | None, types: list[str] | None
    ) -> Page[LedgerEntry]:
        """Newest first, one Query; a type filter is applied by DynamoDB (a page may hold fewer items)."""
        page = self._table.query(
            customer_pk(merchant_id, customer_id),
            sk_prefix="TXN#",
            limit=limit,
            cursor=cursor,
            newest_first=True,
            filter_attr=("type", types) if types else None,
        )
        return Page([LedgerEntry.model_validate(i) for i in page.items], page.next_cursor)


def has_customers(table: Table, merchant_id: str) -> bool:
    """Whether the merchant has any customer (so any wallet or ledger entry): one Query of one item."""
    return bool(table.query(customer_directory_pk(merchant_id), limit=1, consistent=True).items)
