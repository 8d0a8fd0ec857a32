from __future__ import annotations

from pydantic import BaseModel

from pollen.domain.triggers import Trigger


class TriggerList(BaseModel):
    items: list[Trigger]
