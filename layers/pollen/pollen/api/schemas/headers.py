"""Request headers several functions take, apart from the models of any one area (a wallet or
redemption read path does not load the order models for its Idempotency-Key)."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

IdempotencyKey = Annotated[str, StringConstraints(min_length=1, max_length=255)]
