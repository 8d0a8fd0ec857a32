"""Finding customers: by exact email or phone (their look-up items) or by id prefix (the directory),
and the whole list, page by page, for the export."""

from __future__ import annotations

import csv
import io
import re

from pollen.domain.customers import CustomerRecord
from pollen.services.container import Container
from pollen.storage.customers import CustomerStore
from pollen.storage.pagination import Page

_PHONE_LIKE = re.compile(r"^\+?[0-9 ()-]{6,32}$")
EXPORT_COLUMNS = (
    "customer_id",
    "email",
    "phone",
    "first_name",
    "last_name",
    "balance",
    "pending",
    "lifetime_earned",
    "lifetime_redeemed",
    "next_expiry_date",
    "next_expiry_coins",
    "created_at",
)


def find_customers(
    c: Container, merchant_id: str, query: str, *, limit: int, cursor: str | None
) -> Page[CustomerRecord]:
    """An email finds its one customer (1 GetItem + 1 GetItem); a phone-like query finds the phone's
    customer and ids starting with it (ids are often numeric); anything else is an id prefix, and an
    empty query lists everyone in id order: one Query plus one BatchGetItem a page."""
    store = CustomerStore(c.table)
    text = query.strip()
    if "@" in text:
        customer_id = store.customer_id_for_email(merchant_id, text.lower())
        record = store.get(merchant_id, customer_id, consistent=False) if customer_id else None
        return Page([record] if record else [], None)
    exact: list[str] = []
    if (
        cursor is None
        and _PHONE_LIKE.match(text)
        and (by_phone := store.customer_id_for_phone(merchant_id, text)) is not None
    ):
        exact.append(by_phone)
    page = store.directory(merchant_id, id_prefix=text, limit=limit, cursor=cursor)
    ids = exact + [i for i in page.items if i not in exact]
    return Page(store.get_many(merchant_id, ids), page.next_cursor)


def _safe(value: object) -> str:
    """A cell a spreadsheet will not run as a formula (OWASP CSV injection), phone numbers kept."""
    text = "" if value is None else str(value)
    if text[:1] in {"=", "@", "\t", "\r"} or (text[:1] in {"+", "-"} and not _PHONE_LIKE.match(text)):
        return "'" + text
    return text


def export_page(c: Container, merchant_id: str, *, limit: int, cursor: str | None) -> tuple[str, str | None]:
    """One page of the customers CSV; the header row comes with the first page only, so pages joined
    in order are one file."""
    page = find_customers(c, merchant_id, "", limit=limit, cursor=cursor)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if cursor is None:
        writer.writerow(EXPORT_COLUMNS)
    for record in page.items:
        customer, wallet = record.customer, record.wallet
        soonest = wallet.expiring(limit=1)
        writer.writerow(
            [
                _safe(v)
                for v in (
                    customer.customer_id,
                    customer.email,
                    customer.phone,
                    customer.first_name,
                    customer.last_name,
                    wallet.balance,
                    wallet.pending,
                    wallet.lifetime_earned,
                    wallet.lifetime_redeemed,
                    soonest[0][0].isoformat() if soonest else "",
                    soonest[0][1] if soonest else "",
                    customer.created_at.isoformat(),
                )
            ]
        )
    return out.getvalue(), page.next_cursor
