"""Strict input types: a count is a JSON integer, a switch a JSON boolean, money never a float.

pydantic's lax mode reads ``"10"``, ``true``, ``1.0`` and ``1e3`` as the integer 10/1/1/1000 and
``0`` as ``false``. A coin count that arrives as anything but an integer is a client bug worth a
``422``, not a guess. Money is a decimal string (``"12.50"``) or an integer; a binary float cannot
hold cents exactly and a boolean is no amount, so both are refused.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Strict, WithJsonSchema

Count = Annotated[int, Strict()]
Switch = Annotated[bool, Strict()]


def _not_float_or_bool(value: Any) -> Any:
    if isinstance(value, bool | float):
        raise ValueError("an amount is a decimal string such as '12.50' (or an integer), not a float")
    return value


DECIMAL_STRING = r"^[+-]?\d+(\.\d+)?$"
DecimalInput = Annotated[
    Decimal,
    BeforeValidator(_not_float_or_bool),
    WithJsonSchema({"anyOf": [{"type": "integer"}, {"type": "string", "pattern": DECIMAL_STRING}]}),
]
