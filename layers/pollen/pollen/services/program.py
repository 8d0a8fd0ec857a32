"""Read and change a merchant's program settings."""

from __future__ import annotations

from datetime import datetime

from pollen.domain.errors import NotFound, PreconditionFailed, RetryableConflict
from pollen.domain.program import Program, ProgramSettings
from pollen.events.envelope import OutboxEvent
from pollen.services.container import Container
from pollen.storage.errors import ConditionFailed
from pollen.storage.keys import program_key
from pollen.storage.merchant_config import program_item


def get_program(c: Container, merchant_id: str) -> Program:
    config = c.config.get(merchant_id)
    if config is None or config.program is None:
        raise NotFound("This merchant has no program yet.")
    return config.program


def _current_version(c: Container, merchant_id: str) -> int:
    item = c.table.get(program_key(merchant_id), consistent=True)
    return int(item["version"]) if item else 0


def update_program(
    c: Container,
    merchant_id: str,
    settings: ProgramSettings,
    *,
    now: datetime,
    expected_version: int | None = None,
) -> Program:
    """Replace the settings. With ``expected_version`` (If-Match), a concurrent change is a 412;
    without it the last writer wins, still guarded by the version it read."""
    base = expected_version if expected_version is not None else _current_version(c, merchant_id)
    program = Program(**settings.model_dump(), version=base + 1, updated_at=now)
    event = OutboxEvent(
        event_type="program_updated",
        merchant_id=merchant_id,
        occurred_at=now,
        payload={"version": program.version, "settings": settings.model_dump(mode="json")},
    )
    tx = c.table.transaction()
    if base == 0:
        tx.put_new(program_item(merchant_id, program), label="program")
    else:
        tx.put_at(program_item(merchant_id, program), label="program", attr="version", seen=base)
    tx.put(event.to_item(), label="event")
    try:
        tx.commit()
    except ConditionFailed as exc:
        if expected_version is not None:
            raise PreconditionFailed(
                "The program changed since you read it; fetch it again and reapply your change."
            ) from exc
        raise RetryableConflict("The program was changed concurrently; retry the request.") from exc
    finally:
        c.config.invalidate(merchant_id)
    return program
