"""The moto internals infra/moto_atomic.py patches, asserted, so an upgrade that moves them fails here
with a clear message instead of silently turning the race tests and the local stack unreliable.

moto is pinned in uv.lock; `make upgrade` is the only way a new one arrives. When a test here fails,
read the new moto's source, adapt infra/moto_atomic.py, then update these assertions.
"""

from __future__ import annotations

import inspect
import re
from types import ModuleType

import boto3
import moto
import moto.dynamodb.models as moto_dynamodb_models
import moto.sqs.models as moto_sqs_models
import pytest
from moto import mock_aws
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table

from infra import moto_atomic

MOTO_ACCOUNT = "123456789012"  # moto's default account


def _explain(what: str) -> str:
    return (
        f"moto {moto.__version__} changed an internal that infra/moto_atomic.py relies on: {what}. "
        "Adapt infra/moto_atomic.py to this moto (or keep the previous pin in uv.lock), then update "
        "tests/unit/test_moto_internals.py."
    )


def _module_source(module: ModuleType) -> str:
    """The module's file as shipped (patched class attributes do not hide moto's own code)."""
    return inspect.getsource(module)


@pytest.mark.parametrize("name", sorted(moto_atomic._WRITES))
def test_the_dynamodb_backend_still_has_each_write_method_we_lock(name: str) -> None:
    method = getattr(DynamoDBBackend, name, None)
    assert callable(method), _explain(f"DynamoDBBackend.{name} is gone, so its writes would run unlocked")


def test_transactions_still_back_tables_up_with_the_module_level_copy_deepcopy() -> None:
    # moto_atomic swaps the module's `copy` global for one that keeps one backup per table.
    assert hasattr(moto_dynamodb_models, "copy"), _explain("moto.dynamodb.models no longer imports copy")
    original = inspect.unwrap(DynamoDBBackend.transact_write_items)
    source = inspect.getsource(original)
    assert "copy.deepcopy(" in source, _explain("transact_write_items no longer backs up with copy.deepcopy")
    assert re.search(r"copy\.deepcopy\(\s*self\.tables\[", source), _explain(
        "transact_write_items no longer deep-copies self.tables[...] (the Table) for its rollback"
    )


def test_the_table_class_is_where_the_backup_check_imports_it_from() -> None:
    assert isinstance(Table, type), _explain("moto.dynamodb.models.table.Table is not a class")
    tables_annotation = inspect.getsource(DynamoDBBackend.__init__)
    assert "self.tables" in tables_annotation, _explain("DynamoDBBackend keeps its tables elsewhere")


def test_sqs_receive_still_asks_the_retention_rule_we_replace() -> None:
    source = _module_source(moto_sqs_models)
    assert re.search(
        r"def is_message_valid_based_on_retention_period\(\s*self, queue_name: str, message: Message\s*\)",
        source,
    ), _explain("SQSBackend.is_message_valid_based_on_retention_period(self, queue_name, message) changed")
    assert "self.is_message_valid_based_on_retention_period(" in source, _explain(
        "receive_message no longer calls is_message_valid_based_on_retention_period, so our linear "
        "replacement would be dead code"
    )


def test_sqs_messages_and_queues_still_carry_the_fields_our_retention_rule_reads() -> None:
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="internals", Attributes={"MessageRetentionPeriod": "120"})[
            "QueueUrl"
        ]
        sqs.send_message(QueueUrl=url, MessageBody="x")
        backend = moto_sqs_models.sqs_backends[MOTO_ACCOUNT]["us-east-1"]
        queue = backend.get_queue("internals")
        assert int(getattr(queue, "message_retention_period", -1)) == 120, _explain(
            "SQSBackend.get_queue(name).message_retention_period no longer holds the retention seconds"
        )
        message = next(iter(queue._messages))
        assert isinstance(getattr(message, "sent_timestamp", None), int), _explain(
            "Message.sent_timestamp (epoch milliseconds) is gone"
        )
        assert moto_atomic._message_retained(backend, "internals", message), _explain(
            "our retention rule no longer reads a fresh message as retained"
        )
