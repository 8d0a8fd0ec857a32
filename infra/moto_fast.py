"""Make moto's response serializer cheap for plain dicts; the same answers on the wire.

moto 5.2 serializes every answer through its botocore-model serializer. For each member of each
structure (each of the ten members of every DynamoDB ``AttributeValue`` of every item returned) it
builds a context object and an attribute picker builds six alias providers to list the keys the
value might sit under, then tries them in order. For a Scan or Query of a few hundred items that is
most of the request's time, and moto's answers were most of an integration test's time.

The keys to try depend only on the member's name, its shape (and the structure it belongs to) and,
for aliases taken from the object, on the object's class. For a plain ``dict`` (what moto's DynamoDB
and many other responses hand the serializer) they are listed once per (member, shape), by moto's
own picker, and kept; the value is then the first of those keys the dict holds, exactly as moto's
picker decides. Any other object, and any response with transformers, goes through moto's code
unchanged.

DynamoDB's ``AttributeValue`` (every attribute of every item, and every element of its maps and
lists) takes a shorter way still: when it is a dict holding only the ten type keys with the plain
values moto keeps (``str`` for S/N and the sets' elements, ``bytes``/``str`` for binaries, ``bool``
for NULL/BOOL, dicts and lists for M/L), it is written as moto's JSON serializer would write it
(binaries base64-encoded), without walking the model member by member. Anything else in it sends
the whole value down moto's path. ``tests/unit/test_moto_fast.py`` compares both on DynamoDB, Streams
and SQS answers.

moto internals relied upon (``tests/unit/test_moto_fast.py`` asserts them): the module-level
``XFormedAttributePicker`` of ``moto.core.responses`` that ``ActionResult.execute_result`` builds per
response, ``AttributePicker.get_possible_keys`` and ``response_transformers``,
``ResponseSerializer.get_value`` with its ``_value_picker``, ``BaseJSONSerializer._serialize_type_structure``
and ``_base64``, and the members of the ``AttributeValue`` shape.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import moto.core.responses as moto_responses
from moto.core.serialize import (
    AttributePickerContext,
    BaseJSONSerializer,
    ResponseSerializer,
    XFormedAttributePicker,
)
from moto.core.utils import get_value
from moto.dynamodb.exceptions import ItemSizeTooLarge
from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
from moto.dynamodb.models.utilities import bytesize

_MISSING = object()
_PATCHED = "__pollen_fast__"


class CachedKeysAttributePicker(XFormedAttributePicker):
    """moto's picker, with the keys to try on a dict remembered per member and shape."""

    # (member name, shape, its parent structure) -> (key, is a dotted path) in moto's order. The shapes
    # are held, so their ids are never reused; botocore keeps one shape object per member anyway.
    _keys: ClassVar[dict[tuple[str, Any, Any], tuple[tuple[str, bool], ...]]] = {}

    def pick(
        self, obj: dict[str, Any], key: str, shape: Any, context: Callable[[], AttributePickerContext]
    ) -> Any:
        cache_key = (key, shape, getattr(shape, "parent", None))
        keys = self._keys.get(cache_key)
        if keys is None:
            keys = tuple((k, "." in k) for k in self.get_possible_keys(context()))
            self._keys[cache_key] = keys
        for possible, dotted in keys:
            value = get_value(obj, possible, _MISSING) if dotted else obj.get(possible, _MISSING)
            if value is not _MISSING:
                return value
        return None

    def __call__(self, context: AttributePickerContext) -> Any:
        obj = context.obj
        if type(obj) is not dict or self.response_transformers:
            return super().__call__(context)
        return self.pick(obj, context.key, context.shape, lambda: context)


def _fast_get_value(original: Callable[..., Any]) -> Callable[..., Any]:
    def get_value(self: ResponseSerializer, value: Any, key: str, shape: Any) -> Any:
        picker = self._value_picker
        fast = type(picker) is CachedKeysAttributePicker and not picker.response_transformers
        if fast and type(value) is dict:
            return picker.pick(value, key, shape, lambda: _context(self, value, key, shape))
        return original(self, value, key, shape)

    setattr(get_value, _PATCHED, True)
    return get_value


def _context(serializer: ResponseSerializer, value: Any, key: str, shape: Any) -> AttributePickerContext:
    """What moto's ``ResponseSerializer.get_value`` hands its picker."""
    return AttributePickerContext(
        obj=value,
        key=key,
        shape=shape,
        operation_model=serializer.operation_model,
        service_model=serializer.operation_model.service_model,
        key_path=".".join(serializer.path),
    )


ATTRIBUTE_VALUE_MEMBERS = ("S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL")


class _Unusual(Exception):
    """An attribute value moto's own serializer must write."""


def _attribute_value(serializer: BaseJSONSerializer, value: Any) -> dict[str, Any]:
    """``value`` as moto's JSON serializer writes an ``AttributeValue``, members in model order."""
    if type(value) is not dict or not value.keys() <= _MEMBER_SET:
        raise _Unusual
    out: dict[str, Any] = {}
    for name in ATTRIBUTE_VALUE_MEMBERS:
        if name not in value:
            continue
        member = value[name]
        if name in ("S", "N"):
            out[name] = _string(member)
        elif name == "B":
            out[name] = _binary(serializer, member)
        elif name in ("SS", "NS"):
            out[name] = [_string(element) for element in _list(member)]
        elif name == "BS":
            out[name] = [_binary(serializer, element) for element in _list(member)]
        elif name == "M":
            if type(member) is not dict:
                raise _Unusual
            out[name] = {key: _attribute_value(serializer, element) for key, element in member.items()}
        elif name == "L":
            out[name] = [_attribute_value(serializer, element) for element in _list(member)]
        elif type(member) is bool:  # NULL, BOOL
            out[name] = member
        else:
            raise _Unusual
    return out


_MEMBER_SET = frozenset(ATTRIBUTE_VALUE_MEMBERS)


def _string(value: Any) -> str:
    if type(value) is not str:
        raise _Unusual
    return value


def _binary(serializer: BaseJSONSerializer, value: Any) -> str:
    if type(value) not in (bytes, str):
        raise _Unusual
    return serializer._base64(value)


def _list(value: Any) -> list[Any]:
    if type(value) is not list:
        raise _Unusual
    return value


def _is_attribute_value(shape: Any) -> bool:
    return bool(shape.name == "AttributeValue" and tuple(shape.members) == ATTRIBUTE_VALUE_MEMBERS)


def _fast_structure(original: Callable[..., Any]) -> Callable[..., Any]:
    shapes: dict[Any, bool] = {}  # shape -> is DynamoDB's AttributeValue (shapes held: ids not reused)

    def serialize_structure(
        self: BaseJSONSerializer, serialized: Any, value: Any, shape: Any, key: str
    ) -> None:
        fast = type(self._value_picker) is CachedKeysAttributePicker and key and type(value) is dict
        if fast:
            known = shapes.get(shape)
            if known is None:
                known = shapes[shape] = _is_attribute_value(shape)
            if known:
                try:
                    written = _attribute_value(self, value)
                except _Unusual:
                    pass
                else:
                    self._default_serialize(serialized, written, shape, key)
                    return
        original(self, serialized, value, shape, key)

    setattr(serialize_structure, _PATCHED, True)
    return serialize_structure


MAX_ITEM_BYTES = 405_000  # moto's own limit (LimitedSizeDict.__setitem__), between DynamoDB's 409 and 410 KB


def _linear_item_init(
    self: Item, hash_key: DynamoType, range_key: DynamoType | None, attrs: dict[str, Any]
) -> None:
    """moto's ``Item.__init__`` with its size check made once: moto adds each attribute through
    ``LimitedSizeDict.__setitem__``, which sizes every attribute already there, so building an item
    costs time in the square of its attributes (a customer item: a fifth of a put). The sizes only
    add up, so the total checked once after the last attribute raises exactly when moto's check at
    some attribute would have (``ItemSizeTooLarge``), and the item is the same."""
    self.hash_key = hash_key
    self.range_key = range_key
    built = LimitedSizeDict.__new__(LimitedSizeDict)
    dict.__init__(built)
    for key, value in attrs.items():
        dict.__setitem__(built, key, DynamoType(value))
    if sum(bytesize(key) + value.size() for key, value in built.items()) > MAX_ITEM_BYTES:
        raise ItemSizeTooLarge
    self.attrs = built


setattr(_linear_item_init, _PATCHED, True)


def make_moto_responses_fast() -> None:
    """Idempotent; every moto response serialized afterwards in this process takes the cached keys,
    and every moto DynamoDB item is built in time linear in its attributes."""
    if not getattr(Item.__init__, _PATCHED, False):
        _linear_item_init.moto_init = Item.__init__  # type: ignore[attr-defined]  # kept for the tests
        Item.__init__ = _linear_item_init  # type: ignore[method-assign]
    moto_responses.XFormedAttributePicker = CachedKeysAttributePicker  # type: ignore[attr-defined]
    if not getattr(ResponseSerializer.get_value, _PATCHED, False):
        ResponseSerializer.get_value = _fast_get_value(ResponseSerializer.get_value)  # type: ignore[method-assign]
    structure = BaseJSONSerializer._serialize_type_structure
    if not getattr(structure, _PATCHED, False):
        BaseJSONSerializer._serialize_type_structure = _fast_structure(structure)  # type: ignore[method-assign]
