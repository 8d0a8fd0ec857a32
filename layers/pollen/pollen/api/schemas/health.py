from __future__ import annotations

from datetime import datetime
from typing import Literal

from pollen.model import BaseModel


class Health(BaseModel):
    status: Literal["ok"]
    version: str
    time: datetime
