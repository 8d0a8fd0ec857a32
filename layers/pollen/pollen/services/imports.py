"""Migration imports: bring members and balances from another loyalty app, exactly once, resumably.

One import per file (its digest is the import id). Each upload of the file carries the import on
from where it stopped, for as long as the request's time budget allows, and answers the report: so
a client uploads the same file until ``status`` is ``done``, and an upload after that changes
nothing. Rows are written in chunks: one BatchGetItem for the chunk's customers, email links and
row receipts, then TransactWriteItems of up to 100 items, each row's wallet change (customer, ledger
entry, ``wallet_transaction`` event) together with the row's receipt, so a row is credited at most
once whatever the retries and a crash between a commit and the progress save costs nothing.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from pollen.domain.customers import CustomerRecord
from pollen.domain.errors import NotFound
from pollen.domain.imports import ImportRow, ParsedFile, Rejected, parse_file
from pollen.domain.program import Program
from pollen.domain.values import value
from pollen.domain.wallet import LedgerEntry, Source, TxnType
from pollen.model import BaseModel
from pollen.observability import logger
from pollen.services.container import Container
from pollen.services.ledger import WalletChange, new_customer, stage_wallet_change
from pollen.services.program import get_program
from pollen.services.retry import retrying
from pollen.storage.customers import parse_customer_item, put_contact_links
from pollen.storage.errors import ConditionFailed, WriteConflict
from pollen.storage.imports import ImportStore, put_row_receipt, row_already_imported, row_receipt_key
from pollen.storage.keys import Key, customer_key, email_key
from pollen.storage.transactions import MAX_ITEMS, Transaction

CHUNK_ROWS = 100  # rows read together (one BatchGetItem of up to 100 keys per kind)
MAX_REPORTED_REJECTIONS = 1_000  # the report keeps the first ones; the count is always exact
ITEMS_PER_ROW = 7  # customer, directory, email, phone, ledger entry, event, row receipt (at most)


class RejectedRow(BaseModel):
    row: int = Field(description="1 for the first row after the header.")
    reason: str = Field(description="A stable code: missing_customer, unknown_email, invalid_points...")
    detail: str


class ImportReport(BaseModel):
    import_id: str = Field(description="The file's digest: uploading the same file resumes this import.")
    layout: str = Field(description="pollen | smile | loyaltylion | yotpo | custom")
    status: Literal["running", "done"]
    total_rows: int
    processed_rows: int = Field(description="Rows handled so far (accepted or rejected).")
    accepted: int
    rejected: int
    coins_imported: int
    customers_created: int
    rejections: list[RejectedRow] = Field(description="The first 1,000 rejected rows, in row order.")
    created_at: datetime
    updated_at: datetime
    next_row: int = Field(default=0, description="Index of the next valid row to import (internal).")
    version: int = 0


@value
class _Done:
    row: ImportRow
    customer_id: str
    created: bool


def _reject(report: ImportReport, rejected: list[Rejected]) -> None:
    room = MAX_REPORTED_REJECTIONS - len(report.rejections)
    report.rejections.extend(
        RejectedRow(row=r.row, reason=r.reason, detail=r.detail) for r in rejected[:room]
    )
    report.rejections.sort(key=lambda r: r.row)
    report.rejected += len(rejected)
    report.processed_rows += len(rejected)


def _started(parsed: ParsedFile, now: datetime) -> ImportReport:
    report = ImportReport(
        import_id=parsed.import_id,
        layout=parsed.layout,
        status="running",
        total_rows=parsed.total,
        processed_rows=0,
        accepted=0,
        rejected=0,
        coins_imported=0,
        customers_created=0,
        rejections=[],
        created_at=now,
        updated_at=now,
    )
    _reject(report, parsed.rejected)
    return report


def get_report(c: Container, merchant_id: str, import_id: str) -> ImportReport:
    """An import's progress and report; 404 for an id this merchant never started."""
    found = ImportStore(c.table).get(merchant_id, import_id)
    if found is None:
        raise NotFound("No import with this id.")
    return ImportReport.model_validate(found)


def run_import(
    c: Container, merchant_id: str, content: bytes, *, now: datetime, budget_seconds: float
) -> ImportReport:
    """Import (or carry on importing) ``content`` for at most about ``budget_seconds``."""
    parsed = parse_file(content)
    program = get_program(c, merchant_id)
    store = ImportStore(c.table)
    found = store.get(merchant_id, parsed.import_id)
    if found is None:
        report = _started(parsed, now)
        try:
            store.save(merchant_id, parsed.import_id, report, expected_version=None)
        except ConditionFailed:  # the same file uploaded twice at once: the other started it
            found = store.get(merchant_id, parsed.import_id)
    if found is not None:
        report = ImportReport.model_validate(found)
    deadline = time.monotonic() + budget_seconds
    while report.next_row < len(parsed.rows) and time.monotonic() < deadline:
        chunk = parsed.rows[report.next_row : report.next_row + CHUNK_ROWS]
        done, rejected = _import_chunk(c, merchant_id, parsed, chunk, program, now=now)
        advanced = report.model_copy(deep=True)
        advanced.next_row += len(chunk)
        advanced.accepted += len(done)
        advanced.processed_rows += len(done)
        advanced.coins_imported += sum(d.row.coins for d in done)
        advanced.customers_created += sum(1 for d in done if d.created)
        _reject(advanced, rejected)
        advanced.updated_at = now
        advanced.status = "done" if advanced.next_row >= len(parsed.rows) else "running"
        advanced.version = report.version + 1
        try:
            store.save(merchant_id, parsed.import_id, advanced, expected_version=report.version)
        except ConditionFailed:  # a concurrent upload saved this chunk first: its report stands
            latest = store.get(merchant_id, parsed.import_id)
            return ImportReport.model_validate(latest) if latest else report
        report = advanced
    if report.status == "running" and report.next_row >= len(parsed.rows):
        report = report.model_copy(
            update={"status": "done", "version": report.version + 1, "updated_at": now}
        )
        store.save(merchant_id, parsed.import_id, report, expected_version=report.version - 1)
    logger.info(
        "import progress",
        extra={"import_id": report.import_id, "processed": report.processed_rows, "total": report.total_rows},
    )
    return report


def _import_chunk(
    c: Container,
    merchant_id: str,
    parsed: ParsedFile,
    rows: list[ImportRow],
    program: Program,
    *,
    now: datetime,
) -> tuple[list[_Done], list[Rejected]]:
    """Rows written together where they can be; a group that fails is redone row by row."""
    found, customer_ids = _resolve(c, merchant_id, parsed.import_id, rows)
    customers = c.table.batch_get([customer_key(merchant_id, cid) for cid in set(customer_ids.values())])

    done: list[_Done] = []
    rejected: list[Rejected] = []
    group: list[tuple[ImportRow, WalletChange]] = []
    group_items = 0
    used: set[str] = set()
    single: list[ImportRow] = []

    def flush() -> None:
        nonlocal group, group_items
        if not group:
            return
        tx = c.table.transaction()
        for row, change in group:
            _stage_row(
                tx.part(str(row.number)), merchant_id, parsed.import_id, row, change=change, program=program
            )
        try:
            tx.commit()
            done.extend(
                _Done(row, change.after.customer.customer_id, change.before is None) for row, change in group
            )
        except (ConditionFailed, WriteConflict):  # a row done before, or a customer changing now
            single.extend(row for row, _ in group)
        group, group_items = [], 0

    for row in rows:
        if row_receipt_key(merchant_id, parsed.import_id, row.number) in found:
            done.append(_Done(row, customer_ids.get(row.number, ""), created=False))  # done before a crash
            continue
        customer_id = customer_ids.get(row.number)
        if customer_id is None:
            rejected.append(
                Rejected(row.number, "unknown_email", "No customer has this email; add its customer_id.")
            )
            continue
        if customer_id in used:
            single.append(row)
            continue
        item = customers.get(customer_key(merchant_id, customer_id))
        change = _change(row, customer_id, parse_customer_item(item) if item else None, program, now=now)
        if isinstance(change, Rejected):
            rejected.append(change)
            continue
        used.add(customer_id)
        if group_items + ITEMS_PER_ROW > MAX_ITEMS:
            flush()
        group.append((row, change))
        group_items += ITEMS_PER_ROW
    flush()
    for row in single:
        outcome = _import_one(
            c,
            merchant_id,
            parsed.import_id,
            row,
            customer_id=customer_ids[row.number],
            program=program,
            now=now,
        )
        if isinstance(outcome, Rejected):
            rejected.append(outcome)
        else:
            done.append(outcome)
    return done, rejected


def _resolve(
    c: Container, merchant_id: str, import_id: str, rows: list[ImportRow]
) -> tuple[dict[Key, dict[str, Any]], dict[int, str]]:
    """The rows' receipts and email links in one read, and each row's customer id where known."""
    keys = [row_receipt_key(merchant_id, import_id, r.number) for r in rows]
    keys += [email_key(merchant_id, r.email) for r in rows if r.customer_id is None and r.email]
    found = c.table.batch_get(keys)
    customer_ids: dict[int, str] = {}
    for row in rows:
        if row.customer_id:
            customer_ids[row.number] = row.customer_id
        elif row.email and (link := found.get(email_key(merchant_id, row.email))):
            customer_ids[row.number] = str(link["customer_id"])
    return found, customer_ids


def _change(
    row: ImportRow, customer_id: str, record: CustomerRecord | None, program: Program, *, now: datetime
) -> WalletChange | Rejected:
    before = record
    if record is None:
        record = new_customer(
            customer_id,
            now=now,
            source="import",
            email=row.email,
            email_verified=row.email is not None,  # the merchant's own member list, uploaded by an admin
            phone=row.phone,
            first_name=row.first_name,
            last_name=row.last_name,
        )
    entries: list[LedgerEntry] = []
    wallet = record.wallet
    if row.coins:
        if row.expires_on is not None:
            days: int | None = (row.expires_on - now.date()).days
            if days is not None and days <= 0:
                return Rejected(row.number, "already_expired", "These points expired on the date given.")
        else:
            days = program.expiry.days
        wallet, entry = wallet.credit(
            row.coins,
            type=TxnType.IMPORT,
            source=Source.IMPORT,
            reference=f"import:{row.number}",
            now=now,
            expiry_days=days,
            note="Balance imported from the previous loyalty program",
        )
        entries.append(entry)
    else:
        wallet = wallet.model_copy(update={"version": wallet.version + 1})
    return WalletChange(before, CustomerRecord(record.customer, wallet), entries)


def _stage_row(
    tx: Transaction,
    merchant_id: str,
    import_id: str,
    row: ImportRow,
    *,
    change: WalletChange,
    program: Program,
) -> None:
    stage_wallet_change(tx, merchant_id, change, program)
    if change.before is None:
        put_contact_links(tx, merchant_id, change.after.customer, None)
    put_row_receipt(
        tx, merchant_id, import_id, row.number, customer_id=change.after.customer.customer_id, coins=row.coins
    )


def _import_one(
    c: Container,
    merchant_id: str,
    import_id: str,
    row: ImportRow,
    *,
    customer_id: str,
    program: Program,
    now: datetime,
) -> _Done | Rejected:
    """One row on its own, re-read and retried on races (the slow path)."""

    def attempt() -> _Done | Rejected:
        receipt, customer = (
            row_receipt_key(merchant_id, import_id, row.number),
            customer_key(merchant_id, customer_id),
        )
        found = c.table.batch_get([receipt, customer])
        if receipt in found:
            return _Done(row, customer_id, created=False)
        item = found.get(customer)
        change = _change(row, customer_id, parse_customer_item(item) if item else None, program, now=now)
        if isinstance(change, Rejected):
            return change
        tx = c.table.transaction()
        _stage_row(tx, merchant_id, import_id, row, change=change, program=program)
        try:
            tx.commit()
        except ConditionFailed as exc:
            if row_already_imported(exc):
                return _Done(row, customer_id, created=False)
            raise
        return _Done(row, customer_id, created=change.before is None)

    return retrying(attempt)
