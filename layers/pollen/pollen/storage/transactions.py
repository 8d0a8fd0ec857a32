"""One business change = one ``TransactWriteItems`` (docs/design.md invariant 1).

A :class:`Transaction` collects labelled writes, at most one idempotency receipt and any outbox
events, and commits them together. A cancelled transaction becomes a precise error:
:class:`DuplicateRequest` (the receipt exists: the change was made before, here is its answer),
:class:`ConditionFailed` (named business conditions failed) or :class:`WriteConflict` (a race).
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import ClientError

from pollen.domain.values import value
from pollen.storage import client
from pollen.storage.codec import deserialize, serialize, serialize_value
from pollen.storage.errors import ConditionFailed, DuplicateRequest, WriteConflict

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

    from pollen.storage.keys import Key

MAX_ITEMS = 100
RECEIPT_LABEL = "receipt"


@value
class _Op:
    label: str
    request: TransactWriteItemTypeDef


def _expression_args(
    condition: str | None, names: dict[str, str] | None, values: dict[str, Any] | None
) -> dict[str, Any]:
    args: dict[str, Any] = {}
    if condition:
        args["ConditionExpression"] = condition
    if names:
        args["ExpressionAttributeNames"] = names
    if values:
        args["ExpressionAttributeValues"] = {k: serialize_value(v) for k, v in values.items()}
    return args


def numbered(seen: Counter[str], label: str) -> str:
    """``label`` for the first write of its kind in a commit, then ``label-1``, ``label-2``... (a
    commit may stage several coupons, pending markers or referrer profiles; labels must be unique)."""
    n = seen[label]
    seen[label] += 1
    return f"{label}-{n}" if n else label


class Transaction:
    def __init__(self, table_name: str) -> None:
        self._table = table_name
        self._ops: list[_Op] = []
        self._suffix = ""

    def part(self, name: str) -> Transaction:
        """A view of this transaction whose labels end in ``@name``: for one commit that carries
        several independent changes (a migration import's rows), each staged by the usual code."""
        view = Transaction(self._table)
        view._ops = self._ops  # the same writes: committing either commits all
        view._suffix = f"@{name}"
        return view

    def __len__(self) -> int:
        return len(self._ops)

    @property
    def labels(self) -> list[str]:
        return [op.label for op in self._ops]

    def _add(self, label: str, request: TransactWriteItemTypeDef) -> Transaction:
        label += self._suffix
        if label in self.labels:
            raise ValueError(f"duplicate transaction label {label!r}")
        if len(self._ops) >= MAX_ITEMS:
            raise ValueError("a DynamoDB transaction holds at most 100 items")
        self._ops.append(_Op(label, request))
        return self

    def put(
        self,
        item: dict[str, Any],
        *,
        label: str,
        condition: str | None = None,
        names: dict[str, str] | None = None,
        values: dict[str, Any] | None = None,
        return_old_on_failure: bool = False,
    ) -> Transaction:
        put: dict[str, Any] = {"TableName": self._table, "Item": serialize(item)}
        put.update(_expression_args(condition, names, values))
        if return_old_on_failure:
            put["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        return self._add(label, {"Put": put})  # type: ignore[typeddict-item]

    def _keyed(
        self, key: Key, condition: str | None, names: dict[str, str] | None, values: dict[str, Any] | None
    ) -> dict[str, Any]:
        """A request on one existing item; a failed condition returns its old image (ALL_OLD)."""
        return {
            "TableName": self._table,
            "Key": serialize(key.as_dict()),
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            **_expression_args(condition, names, values),
        }

    def update(
        self,
        key: Key,
        *,
        label: str,
        update: str,
        condition: str | None = None,
        names: dict[str, str] | None = None,
        values: dict[str, Any] | None = None,
    ) -> Transaction:
        request = {**self._keyed(key, condition, names, values), "UpdateExpression": update}
        return self._add(label, {"Update": request})  # type: ignore[typeddict-item]

    def delete(
        self,
        key: Key,
        *,
        label: str,
        condition: str | None = None,
        names: dict[str, str] | None = None,
        values: dict[str, Any] | None = None,
    ) -> Transaction:
        return self._add(label, {"Delete": self._keyed(key, condition, names, values)})  # type: ignore[typeddict-item]

    def check(
        self,
        key: Key,
        *,
        label: str,
        condition: str,
        names: dict[str, str] | None = None,
        values: dict[str, Any] | None = None,
    ) -> Transaction:
        request = self._keyed(key, condition, names, values)
        return self._add(label, {"ConditionCheck": request})  # type: ignore[typeddict-item]

    # ---- the conditions services need, named (no expression leaves storage/) ----
    def put_new(self, item: dict[str, Any], *, label: str) -> Transaction:
        """Put ``item`` only if no item has its key yet."""
        return self.put(item, label=label, condition="attribute_not_exists(PK)")

    def put_at(self, item: dict[str, Any], *, label: str, attr: str, seen: Any) -> Transaction:
        """Put ``item`` only if the stored one still has ``attr == seen`` (a version, a timestamp)."""
        return self.put(item, label=label, condition="#v = :v", names={"#v": attr}, values={":v": seen})

    def delete_existing(self, key: Key, *, label: str) -> Transaction:
        """Delete the item, failing the transaction (``label``) if there is none."""
        return self.delete(key, label=label, condition="attribute_exists(PK)")

    def check_exists(self, key: Key, *, label: str) -> Transaction:
        return self.check(key, label=label, condition="attribute_exists(PK)")

    def receipt(self, item: dict[str, Any]) -> Transaction:
        """The idempotency receipt: written only if absent; its old image answers a replay."""
        return self.put(
            item, label=RECEIPT_LABEL, condition="attribute_not_exists(PK)", return_old_on_failure=True
        )

    def commit(self) -> None:
        if not self._ops:
            return
        if len(self._ops) == 1 and "ConditionCheck" not in self._ops[0].request:
            self._commit_one(self._ops[0])
            return
        ddb = client.dynamodb()
        try:
            ddb.transact_write_items(TransactItems=[op.request for op in self._ops])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            raise self._cancellation_error(exc) from exc

    def _commit_one(self, op: _Op) -> None:
        """A change of one item, written on its own: a single-item write is as atomic as a
        transaction of one, and its condition holds the same, at half the write units (a
        transaction's writes cost two per KB). The same errors as a cancelled transaction."""
        ddb: Any = client.dynamodb()
        ((kind, request),) = cast("dict[str, dict[str, Any]]", op.request).items()
        write = {"Put": ddb.put_item, "Update": ddb.update_item, "Delete": ddb.delete_item}[kind]
        try:
            write(**request)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            old = deserialize(exc.response.get("Item", {}))  # type: ignore[arg-type]
            if op.label == RECEIPT_LABEL and old:
                raise DuplicateRequest(old) from exc
            raise ConditionFailed([op.label], {op.label: old}) from exc

    def _cancellation_error(self, exc: ClientError) -> Exception:
        reasons: list[dict[str, Any]] = exc.response.get("CancellationReasons", [])  # type: ignore[assignment]
        failed: dict[str, dict[str, Any]] = {}
        conflict = False
        for op, reason in zip(self._ops, reasons, strict=False):
            code = reason.get("Code")
            if code == "ConditionalCheckFailed":
                failed[op.label] = deserialize(reason.get("Item", {}))
            elif code == "TransactionConflict":
                conflict = True
        if failed.get(RECEIPT_LABEL):
            return DuplicateRequest(failed[RECEIPT_LABEL])
        if failed:
            return ConditionFailed(list(failed), failed)
        if conflict:
            return WriteConflict()
        return exc
