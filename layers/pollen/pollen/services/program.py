"""Read and change a merchant's program settings."""

from __future__ import annotations

from datetime import datetime

from pollen.domain.errors import FieldError, NotFound, PreconditionFailed, RetryableConflict, ValidationFailed
from pollen.domain.program import Program, ProgramSettings
from pollen.services.container import Container
from pollen.storage.errors import ConditionFailed


def get_program(c: Container, merchant_id: str) -> Program:
    config = c.config.get(merchant_id)
    if config is None or config.program is None:
        raise NotFound("This merchant has no program yet.")
    return config.program


def program_in_currency(c: Container, merchant_id: str, currency: str, *, what: str) -> Program:
    """The program, when ``currency`` is its currency; else a 422 on ``currency`` ("{what} in the
    program's currency (EUR)."): Pollen never converts between currencies."""
    program = get_program(c, merchant_id)
    if currency != program.currency:
        message = f"{what} in the program's currency ({program.currency})."
        raise ValidationFailed(message, errors=[FieldError("currency", message, "currency_mismatch")])
    return program


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
    from pollen.events.internal import ProgramUpdatedPayload  # noqa: PLC0415 - write path only

    uow = c.units.begin(merchant_id)
    base = expected_version if expected_version is not None else uow.programs.version()
    program = Program(**settings.model_dump(), version=base + 1, updated_at=now)
    uow.programs.save(program, expected_version=base)
    payload = ProgramUpdatedPayload(version=program.version, settings=settings.model_dump(mode="json"))
    uow.emit("program_updated", payload, customer_id=None, now=now)
    try:
        uow.commit(now=now)
    except ConditionFailed as exc:
        if expected_version is not None:
            raise PreconditionFailed(
                "The program changed since you read it; fetch it again and reapply your change."
            ) from exc
        raise RetryableConflict("The program was changed concurrently; retry the request.") from exc
    finally:
        c.config.invalidate(merchant_id)
    return program
