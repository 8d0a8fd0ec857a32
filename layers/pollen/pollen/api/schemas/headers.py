"""Request headers several functions take, apart from the models of any one area (a wallet or
redemption read path does not load the order models for its Idempotency-Key, the referral program's
settings do not load the program's models for their If-Match)."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from pollen.domain.errors import FieldError, InvalidRequest, PreconditionFailed

IdempotencyKey = Annotated[str, StringConstraints(min_length=1, max_length=255)]


def parse_if_match(value: str | None) -> int | None:
    """``If-Match: "3"`` → 3; ``*`` or no header → None (no precondition).

    A well-formed entity tag this API never issued (``"stale-0"``) cannot match: 412. A header that
    is not an entity tag at all: 400, naming the header."""
    if value is None or value.strip() == "*":
        return None
    raw = value.strip().removeprefix("W/")
    quoted = len(raw) >= 2 and raw[0] == raw[-1] == '"'
    tag = raw[1:-1] if quoted else raw
    if tag.isdigit() and tag.isascii():  # "0": a settings item not written yet (tiers, referrals)
        return int(tag)
    if quoted and '"' not in tag and all(0x21 <= ord(ch) <= 0x7E or ord(ch) >= 0x80 for ch in tag):
        raise PreconditionFailed("If-Match does not match the program's current version; fetch it again.")
    raise InvalidRequest(
        'If-Match must be the ETag this API returned, like "3".',
        errors=[FieldError(field="if-match", message="not an entity tag", location="header")],
    )
