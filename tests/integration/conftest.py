"""Fixtures of the unit of work's contract tests (test_store_contract*.py)."""

from __future__ import annotations

import pytest

from pollen.storage.ports import Store
from pollen.storage.table import Table
from pollen.storage.unit_of_work import DynamoStore
from tests.support.fakes import FakeStore


@pytest.fixture(params=["table", "fake"])
def store(request: pytest.FixtureRequest) -> Store:
    """The unit of work's store: the table on moto, then the in-memory fake, for the same test."""
    if request.param == "fake":
        return FakeStore()
    table_name: str = request.getfixturevalue("table_name")
    return DynamoStore(Table(table_name))
