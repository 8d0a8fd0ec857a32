"""Fixtures of the unit of work's contract tests (test_store_contract*.py) and of the delivery tests."""

from __future__ import annotations

from typing import Any

import pytest

from infra.aws_resources import LocalResources
from infra.seed import DemoStore
from pollen.services.container import reset_container
from pollen.storage.ports import Store
from pollen.storage.table import Table
from pollen.storage.unit_of_work import DynamoStore
from tests.support.fakes import FakeStore
from tests.support.flow import Flow


@pytest.fixture(params=["table", "fake"])
def store(request: pytest.FixtureRequest) -> Store:
    """The unit of work's store: the table on moto, then the in-memory fake, for the same test."""
    if request.param == "fake":
        return FakeStore()
    table_name: str = request.getfixturevalue("table_name")
    return DynamoStore(Table(table_name))


@pytest.fixture
def flow(
    template: dict[str, Any], aws: LocalResources, demo: DemoStore, monkeypatch: pytest.MonkeyPatch
) -> Flow:
    """The event flow on the demo stack, every retry delay zero: SQS hands a failed message back at
    once (the delays themselves are tested apart). Modules with their own ``flow`` keep theirs."""
    monkeypatch.setenv("DELIVERY_RETRY_SCALE", "0")
    reset_container()
    return Flow(template, aws)
