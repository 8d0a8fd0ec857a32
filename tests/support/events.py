"""The one loader for `events/<function>_<scenario>.json`, shared with `sam local invoke`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"


def load_event(name: str) -> dict[str, Any]:
    """``load_event("admin_get_program")`` → the parsed sample event."""
    event: dict[str, Any] = json.loads((EVENTS_DIR / f"{name}.json").read_text())
    return event


def sample_names() -> list[str]:
    return sorted(path.stem for path in EVENTS_DIR.glob("*.json"))
