"""Migration imports: bring members and balances from another loyalty app, exactly once, resumably.

One import per file (its digest is the import id). Each upload of the file carries the import on
from where it stopped, for as long as the request's time budget allows, and answers the report: so
a client uploads the same file until ``status`` is ``done``, and an upload after that changes
nothing. Rows are written in chunks: one BatchGetItem for the chunk's customers, email links and
row receipts, then TransactWriteItems of up to 100 items, each row's wallet change (customer, ledger
entry, which is its ``wallet_transaction`` event) together with the row's receipt, so a row is
credited at most once whatever the retries and a crash between a commit and the progress save costs
nothing.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Literal

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
from pollen.services.ledger import WalletChange, new_customer
from pollen.services.program import get_program
from pollen.services.retry import retrying
from pollen.services.unit_of_work import UnitOfWork
from pollen.storage.errors import ConditionFailed, WriteConflict
from pollen.storage.imports import ImportStore, row_already_imported
from pollen.storage.transactions import MAX_ITEMS

CHUNK_ROWS = 100  # rows read together (one BatchGetItem of up to 100 keys per kind)
MAX_REPORTED_REJECTIONS = 1_000  # the report keeps the first ones; the count is always exact
ITEMS_PER_ROW = 6  # customer, directory, email, phone, ledger entry (its own event), row receipt


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
    uow = c.units.begin(merchant_id)
    customer_ids = _resolve(uow, parsed.import_id, rows)
    for known in set(customer_ids.values()):  # the rows' customers: one more read
        uow.customers.want(known)
    uow.load()

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
        write = c.units.begin(merchant_id)
        for row, change in group:
            with write.part(str(row.number)):
                _stage_row(write, parsed.import_id, row, change=change, program=program)
        try:
            write.commit()
            done.extend(
                _Done(row, change.after.customer.customer_id, change.before is None) for row, change in group
            )
        except (ConditionFailed, WriteConflict):  # a row done before, or a customer changing now
            single.extend(row for row, _ in group)
        group, group_items = [], 0

    for row in rows:
        if uow.imports.row(parsed.import_id, row.number) is not None:
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
        change = _change(row, customer_id, uow.customers.get(customer_id), program, now=now)
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


def _resolve(uow: UnitOfWork, import_id: str, rows: list[ImportRow]) -> dict[int, str]:
    """Read the rows' receipts and email links in one read; each row's customer id where known."""
    for row in rows:
        uow.imports.want_row(import_id, row.number)
        if row.customer_id is None and row.email:
            uow.customers.want_contact("email", row.email)
    uow.load()
    customer_ids: dict[int, str] = {}
    for row in rows:
        if row.customer_id:
            customer_ids[row.number] = row.customer_id
        elif row.email and (owner := uow.customers.contact_owner("email", row.email)):
            customer_ids[row.number] = owner
    return customer_ids


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
    uow: UnitOfWork, import_id: str, row: ImportRow, *, change: WalletChange, program: Program
) -> None:
    """The row's wallet (at the version read; a new customer with their look-ups) and its receipt."""
    customer = change.after.customer
    uow.customers.save_over(change.before, change.after, change.entries, program)
    if change.before is None:
        uow.customers.link_contacts(customer)
    uow.imports.mark_done(import_id, row.number, customer_id=customer.customer_id, coins=row.coins)


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
        uow = c.units.begin(merchant_id)
        uow.imports.want_row(import_id, row.number)
        uow.customers.want(customer_id)
        if uow.imports.row(import_id, row.number) is not None:
            return _Done(row, customer_id, created=False)
        change = _change(row, customer_id, uow.customers.get(customer_id), program, now=now)
        if isinstance(change, Rejected):
            return change
        _stage_row(uow, import_id, row, change=change, program=program)
        try:
            uow.commit()
        except ConditionFailed as exc:
            if row_already_imported(exc):
                return _Done(row, customer_id, created=False)
            raise
        return _Done(row, customer_id, created=change.before is None)

    return retrying(attempt)
