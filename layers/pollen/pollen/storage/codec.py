"""Plain Python values <-> DynamoDB attribute values. Floats are refused: money is never a float."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def plain(value: Any) -> Any:
    """Integral ``Decimal`` numbers (as boto3 and Powertools read them) as ``int``, in any nesting."""
    return _plain(value)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, set):
        return {_plain(v) for v in value}
    return value


def serialize(item: dict[str, Any]) -> dict[str, AttributeValueTypeDef]:
    """Drop ``None`` values (DynamoDB stores absence, not null) and serialize the rest."""
    return {k: _serializer.serialize(v) for k, v in item.items() if v is not None}


def serialize_value(value: Any) -> AttributeValueTypeDef:
    result: AttributeValueTypeDef = _serializer.serialize(value)
    return result


def deserialize(item: dict[str, Any]) -> dict[str, Any]:
    """Deserialize an item; integral numbers come back as ``int``, others as ``Decimal``."""
    return {k: _plain(_deserializer.deserialize(v)) for k, v in item.items()}
