from __future__ import annotations

from datetime import datetime

from pollen.domain.errors import FieldError, InvalidRequest
from pollen.domain.program import Program, ProgramSettings


class ProgramView(ProgramSettings):
    """The program as the API shows it: settings plus version and last change."""

    version: int
    updated_at: datetime

    @classmethod
    def of(cls, program: Program) -> ProgramView:
        return cls.model_validate(program.model_dump())


def parse_if_match(value: str | None) -> int | None:
    """``If-Match: "3"`` → 3. Anything else is not an ETag this API issued."""
    if value is None:
        return None
    raw = value.strip().removeprefix("W/").strip('"')
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise InvalidRequest(
            'If-Match must be an ETag this API issued, such as "3" (from GET /v1/admin/program).',
            errors=[FieldError("if-match", "not an ETag of this resource", "invalid_etag", "header")],
        )
    return int(raw)
