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
unchanged. (``tests/unit/test_moto_fast.py`` compares both on DynamoDB and SQS answers.)

moto internals relied upon (``tests/unit/test_moto_internals.py`` asserts them): the module-level
``XFormedAttributePicker`` of ``moto.core.responses`` that ``ActionResult.execute_result`` builds per
response, ``AttributePicker.get_possible_keys`` and ``response_transformers``, and
``ResponseSerializer.get_value`` with its ``_value_picker``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import moto.core.responses as moto_responses
from moto.core.serialize import AttributePickerContext, ResponseSerializer, XFormedAttributePicker
from moto.core.utils import get_value

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


def make_moto_responses_fast() -> None:
    """Idempotent; every moto response serialized afterwards in this process takes the cached keys."""
    moto_responses.XFormedAttributePicker = CachedKeysAttributePicker  # type: ignore[attr-defined]
    if not getattr(ResponseSerializer.get_value, _PATCHED, False):
        ResponseSerializer.get_value = _fast_get_value(ResponseSerializer.get_value)  # type: ignore[method-assign]
