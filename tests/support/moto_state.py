"""Copies of moto's DynamoDB and SQS back-ends, so a test starts from the template's resources (and the
demo store) without making them again through the API.

Creating the table, its indexes and the queues through boto3 for every test, then writing the demo
store's items, was most of an integration test's set-up (about 0.15 s of CPU each, a thousand times a
run). The back-ends are plain Python objects: the state right after that set-up is copied once per
process and each later test gets a deep copy of it. What a test sees is the same state: the same
tables, indexes, TTL settings, queues, redrive policies, items and the same stream records (the demo
store's writes are in the copied stream shard, as they were when each test wrote them).
:func:`tests.integration.test_moto_state` compares a copy with what the API builds.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass
from typing import Any

from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends
from moto.sqs.models import sqs_backends

_SERVICES: dict[str, Any] = {"dynamodb": dynamodb_backends, "sqs": sqs_backends}
_IDENTITY = ("region_name", "account_id", "partition")


@dataclass(frozen=True)
class BackendState:
    """The DynamoDB and SQS state of one account and region, kept apart from the live back-ends."""

    account_id: str
    region: str
    states: dict[str, dict[str, Any]]

    @classmethod
    def capture(cls, account_id: str, region: str) -> BackendState:
        return cls(
            account_id,
            region,
            {name: _copy(_state(backends[account_id][region])) for name, backends in _SERVICES.items()},
        )

    def restore(self) -> None:
        """Replace the live back-ends' resources with a fresh copy of this state (after moto's reset)."""
        for name, backends in _SERVICES.items():
            backend = backends[self.account_id][self.region]
            backend.__dict__.update(_copy(self.states[name]))


def _state(backend: Any) -> dict[str, Any]:
    return {key: value for key, value in vars(backend).items() if key not in _IDENTITY}


def _copy(state: dict[str, Any]) -> dict[str, Any]:
    """A deep copy; each SQS queue gets a lock of its own (a lock cannot be copied, nor shared)."""
    memo: dict[int, Any] = {}
    for queue in (state.get("queues") or {}).values():
        memo[id(queue._messages_lock)] = threading.Condition()
    return copy.deepcopy(state, memo)


def moto_table(table_name: str, *, account_id: str = DEFAULT_ACCOUNT_ID, region: str = "us-east-1") -> Any:
    """moto's in-process table of that name (``moto.dynamodb.models.table.Table``), or None."""
    return dynamodb_backends[account_id][region].tables.get(table_name)


def table_untouched(account_id: str, region: str, table_name: str) -> bool:
    """No item and no stream record: the table is as the template made it."""
    table = moto_table(table_name, account_id=account_id, region=region)
    shard = table.stream_shard
    return not table.items and (shard is None or not shard.items)
