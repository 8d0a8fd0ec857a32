"""What the admin API shows of dead letters and of a replay."""

from __future__ import annotations

from datetime import datetime

from pydantic import ConfigDict, Field

from pollen.model import BaseModel

LIST_LIMIT = 1000  # dead letters per listing or replay


class DeadLetter(BaseModel):
    model_config = ConfigDict(frozen=True)

    delivery_id: str
    event_id: str
    event_type: str
    subscription_id: str
    integration_id: str
    reason: str
    outcome: str = Field(
        description="permanent (4xx), exhausted (retries used up) or uncertain (maybe delivered)."
    )
    attempts: int = Field(description="Tries made so far, all replays included.")
    http_status: int | None = None
    dead_since: datetime
    replays: int = 0


class DeadLetterList(BaseModel):
    items: list[DeadLetter]
    truncated: bool = Field(
        description=f"More than {LIST_LIMIT} dead letters: replay some, then ask again for the rest."
    )


class ReplayResult(BaseModel):
    replayed: int
    delivery_ids: list[str]
    not_found: list[str] = Field(default_factory=list, description="Asked for, but not in the dead letters.")
    failed: list[str] = Field(default_factory=list, description="Could not be queued; still dead letters.")
    needs_confirmation: list[str] = Field(
        default_factory=list,
        description="Maybe delivered (sent, no answer, to a tool that does not drop duplicates): left out "
        "of a replay of all; check the tool, then replay them by naming their delivery_ids.",
    )
    truncated: bool = False
