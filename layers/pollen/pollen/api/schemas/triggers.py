from __future__ import annotations

from pollen.domain.triggers import Trigger
from pollen.model import BaseModel


class TriggerList(BaseModel):
    items: list[Trigger]
