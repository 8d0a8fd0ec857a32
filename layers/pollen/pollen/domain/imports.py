"""Migration imports: a CSV of customers and their balances from another loyalty app, read into rows.

Column layouts recognised (headers are matched case-insensitively, spaces and underscores alike):

- Pollen: ``customer_id, email, phone, first_name, last_name, balance, expires_on``
- Smile.io ("Import points"): ``email, points``
- LoyaltyLion (customers export): ``merchant_id`` (the store's own customer id), ``email``,
  ``points_approved`` (spendable points; ``points_pending`` is ignored: those orders have not been
  confirmed, and Pollen credits them itself when they are)
- Yotpo (customers export): ``Email, First Name, Last Name, Points Balance``

A row names its customer by ``customer_id`` (created when Pollen does not know it yet) or by an
email Pollen already knows. An email-only row for an unknown email is rejected, not guessed: the
customer's id must be the store's (Shopify's) id, or a later sign-up would make a second customer.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from datetime import date

from pollen.domain.errors import FieldError, ValidationFailed
from pollen.domain.values import value

MAX_ROWS = 100_000
MAX_COINS_PER_ROW = 10_000_000
_CUSTOMER_ID = re.compile(r"^[^#\s/]{1,128}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")

ALIASES: dict[str, tuple[str, ...]] = {
    "customer_id": ("customer_id", "customer id", "merchant_id", "shopify_customer_id", "external_id"),
    "email": ("email", "email address", "customer email", "customer_email"),
    "phone": ("phone", "phone number", "mobile"),
    "first_name": ("first_name", "first name", "firstname"),
    "last_name": ("last_name", "last name", "lastname"),
    "balance": ("balance", "points", "points balance", "points_balance", "points_approved", "point balance"),
    "expires_on": ("expires_on", "expiry date", "points expiry date", "expiration date"),
}


def _norm(header: str) -> str:
    return " ".join(header.replace("_", " ").strip().lower().split())


_LOOKUP = {_norm(alias): field for field, aliases in ALIASES.items() for alias in aliases}


@value
class ImportRow:
    number: int  # 1 for the first row after the header
    customer_id: str | None
    email: str | None
    phone: str | None
    first_name: str | None
    last_name: str | None
    coins: int
    expires_on: date | None


@value
class Rejected:
    row: int
    reason: str  # a stable code: missing_customer, invalid_points, ...
    detail: str


@value
class ParsedFile:
    import_id: str  # the file's digest: one import per file, whatever the upload
    layout: str
    rows: list[ImportRow]
    rejected: list[Rejected]

    @property
    def total(self) -> int:
        return len(self.rows) + len(self.rejected)


def layout_of(fields: set[str], headers: list[str]) -> str:
    names = {_norm(h) for h in headers}
    if "points approved" in names:
        return "loyaltylion"
    if "points balance" in names:
        return "yotpo"
    if names == {"email", "points"}:
        return "smile"
    return "pollen" if "customer_id" in fields else "custom"


def _invalid(message: str) -> ValidationFailed:
    return ValidationFailed(message, errors=[FieldError("file", message, "invalid_file")])


def parse_file(content: bytes) -> ParsedFile:
    """Every row of the file, checked; rows that cannot be imported are rejected with a reason.
    A file that is not a CSV with a customer column and a points column is a 422 as a whole."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _invalid("The file is not UTF-8 text.") from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        headers = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise _invalid("The file is empty.") from exc
    columns: dict[str, int] = {}
    for index, header in enumerate(headers):
        field = _LOOKUP.get(_norm(header))
        if field and field not in columns:
            columns[field] = index
    if "balance" not in columns or not ({"customer_id", "email"} & columns.keys()):
        raise _invalid(
            "The file needs a points column (balance, points, points_approved or Points Balance) and "
            "a customer column (customer_id, merchant_id or email)."
        )
    rows: list[ImportRow] = []
    rejected: list[Rejected] = []
    seen: set[str] = set()
    try:
        for number, record in enumerate(reader, start=1):
            if number > MAX_ROWS:
                raise _invalid(f"The file has more than {MAX_ROWS} rows; split it.")
            if not any(cell.strip() for cell in record):
                continue
            outcome = _row(number, record, columns)
            if isinstance(outcome, Rejected):
                rejected.append(outcome)
                continue
            identity = outcome.customer_id or f"email:{outcome.email}"
            if identity in seen:
                rejected.append(Rejected(number, "duplicate_customer", "This customer has an earlier row."))
                continue
            seen.add(identity)
            rows.append(outcome)
    except csv.Error as exc:
        raise _invalid(f"The file is not valid CSV: {exc}") from exc
    digest = hashlib.sha256(content).hexdigest()[:32]
    return ParsedFile(digest, layout_of(set(columns), headers), rows, rejected)


def _cell(record: list[str], columns: dict[str, int], field: str) -> str | None:
    index = columns.get(field)
    if index is None or index >= len(record):
        return None
    value = record[index].strip()
    return value or None


def _identity(number: int, customer_id: str | None, email: str | None) -> Rejected | None:
    if customer_id is None and email is None:
        return Rejected(number, "missing_customer", "The row names no customer id and no email.")
    if customer_id is not None and not _CUSTOMER_ID.match(customer_id):
        return Rejected(number, "invalid_customer_id", "A customer id has no spaces, '#' or '/'.")
    if email is not None and (len(email) > 254 or not _EMAIL.match(email)):
        return Rejected(number, "invalid_email", "Not an email address.")
    return None


def _row(number: int, record: list[str], columns: dict[str, int]) -> ImportRow | Rejected:
    customer_id = _cell(record, columns, "customer_id")
    email = _cell(record, columns, "email")
    email = email.lower() if email else None
    if (wrong := _identity(number, customer_id, email)) is not None:
        return wrong
    raw = _cell(record, columns, "balance") or "0"
    if not raw.isdigit():
        return Rejected(number, "invalid_points", "Points are a whole number without separators (52620).")
    coins = int(raw)
    if coins > MAX_COINS_PER_ROW:
        return Rejected(number, "too_many_points", f"At most {MAX_COINS_PER_ROW} points per customer.")
    expires_on = None
    if (raw_date := _cell(record, columns, "expires_on")) is not None:
        try:
            expires_on = date.fromisoformat(raw_date[:10])
        except ValueError:
            return Rejected(number, "invalid_expiry", "Expiry dates are YYYY-MM-DD.")
    return ImportRow(
        number=number,
        customer_id=customer_id,
        email=email,
        phone=_cell(record, columns, "phone"),
        first_name=(_cell(record, columns, "first_name") or "")[:100] or None,
        last_name=(_cell(record, columns, "last_name") or "")[:100] or None,
        coins=coins,
        expires_on=expires_on,
    )
