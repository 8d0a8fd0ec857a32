"""Migration imports: the job item (progress and report) and one receipt item per imported row."""

from __future__ import annotations

from typing import Any

from pollen.model import BaseModel
from pollen.storage.errors import ConditionFailed
from pollen.storage.keys import Key, import_key, import_row_key
from pollen.storage.table import Table
from pollen.storage.transactions import Transaction

IMPORT_ENTITY = "import"
ROW_ENTITY = "import_row"
ROW_LABEL = "import-row"


def row_receipt_key(merchant_id: str, import_id: str, row: int) -> Key:
    return import_row_key(merchant_id, import_id, row)


def put_row_receipt(
    tx: Transaction, merchant_id: str, import_id: str, row: int, *, customer_id: str, coins: int
) -> None:
    """Written with the row's wallet change: a row is imported at most once, whatever the retries."""
    tx.put(
        {
            **import_row_key(merchant_id, import_id, row).as_dict(),
            "entity": ROW_ENTITY,
            "customer_id": customer_id,
            "coins": coins,
        },
        label=f"{ROW_LABEL}-{row}",
        condition="attribute_not_exists(PK)",
    )


def row_already_imported(error: ConditionFailed) -> bool:
    return any(label.startswith(ROW_LABEL) for label in error.labels)


class ImportStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def get(self, merchant_id: str, import_id: str) -> dict[str, Any] | None:
        return self._table.get(import_key(merchant_id, import_id), consistent=True)

    def save(
        self, merchant_id: str, import_id: str, report: BaseModel, *, expected_version: int | None
    ) -> None:
        """Store the report, guarded by the version it was read at (None: must not exist); a
        concurrent upload of the same file that saved first makes this raise ConditionFailed."""
        item = {
            **import_key(merchant_id, import_id).as_dict(),
            "entity": IMPORT_ENTITY,
            **report.model_dump(mode="json"),
        }
        if expected_version is None:
            self._table.put(item, label="import", condition="attribute_not_exists(PK)")
        else:
            self._table.put(
                item,
                label="import",
                condition="#v = :v",
                names={"#v": "version"},
                values={":v": expected_version},
            )
