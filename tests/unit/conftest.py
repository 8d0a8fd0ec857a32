"""Unit tests run with the network blocked: pure rules must not reach anything."""

from __future__ import annotations

import socket
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: socket.socket, address: Any) -> None:
        if self.family == socket.AF_UNIX:
            return original(self, address)
        raise RuntimeError(f"unit tests may not open network connections (tried {address!r})")

    original = socket.socket.connect
    monkeypatch.setattr(socket.socket, "connect", refuse)
