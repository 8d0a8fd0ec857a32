"""Frozen value classes without the code generation of ``dataclasses`` (cold start).

``@dataclass(frozen=True)`` compiles five methods per class with ``exec`` when the class statement
runs: about 1 ms a class on CPython 3.11, so the ~50 reference and change types of
:mod:`pollen.storage.ports` cost every function that loads the unit of work ~50 ms of init.
:func:`value` gives the same behaviour from shared methods built once: positional or keyword
construction with defaults, immutability, equality and hashing by type and fields, a readable repr,
``__match_args__`` for ``match``. Type checkers treat it as a frozen dataclass (PEP 681).
A value class may be generic (``class Page(Generic[T])``). Not supported (``TypeError`` at class
creation): ``field(...)`` specifiers, inheritance from any other class.
"""

from __future__ import annotations

import inspect
from dataclasses import Field, FrozenInstanceError
from typing import Any, Generic, TypeVar, dataclass_transform

T = TypeVar("T", bound=type)


def _init(self: Any, *args: Any, **kwargs: Any) -> None:
    cls = type(self)
    names: tuple[str, ...] = cls.__match_args__
    if len(args) > len(names):
        raise TypeError(f"{cls.__qualname__}() takes {len(names)} positional arguments, {len(args)} given")
    given = dict(zip(names, args, strict=False))
    for name, item in kwargs.items():
        if name not in names:
            raise TypeError(f"{cls.__qualname__}() got an unexpected keyword argument {name!r}")
        if name in given:
            raise TypeError(f"{cls.__qualname__}() got multiple values for argument {name!r}")
        given[name] = item
    for name in names:
        if name in given:
            item = given[name]
        elif name in cls.__value_defaults__:
            item = cls.__value_defaults__[name]
        else:
            raise TypeError(f"{cls.__qualname__}() missing required argument {name!r}")
        object.__setattr__(self, name, item)


def _fields(self: Any) -> tuple[Any, ...]:
    return tuple(getattr(self, name) for name in type(self).__match_args__)


def _eq(self: Any, other: object) -> Any:  # bool, or NotImplemented for another type
    if type(other) is not type(self):
        return NotImplemented
    return _fields(self) == _fields(other)


def _hash(self: Any) -> int:
    return hash((type(self), _fields(self)))


def _repr(self: Any) -> str:
    parts = ", ".join(f"{name}={getattr(self, name)!r}" for name in type(self).__match_args__)
    return f"{type(self).__qualname__}({parts})"


def _frozen(self: Any, name: str, item: Any = None) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


@dataclass_transform(frozen_default=True, eq_default=True)
def value(cls: T) -> T:
    """Make ``cls`` (annotated fields, optional plain defaults) a frozen value class."""
    if any(base not in {object, Generic} for base in cls.__bases__):
        raise TypeError(f"{cls.__qualname__}: a value class cannot inherit")
    names = tuple(name for name in inspect.get_annotations(cls) if not name.startswith("_"))
    defaults = {name: cls.__dict__[name] for name in names if name in cls.__dict__}
    if any(isinstance(default, Field) for default in defaults.values()):
        raise TypeError(f"{cls.__qualname__}: field() is not supported by @value")
    seen_default = False
    for name in names:
        if name in defaults:
            seen_default = True
        elif seen_default:
            raise TypeError(f"{cls.__qualname__}: {name!r} without a default follows one with a default")
    type.__setattr__(cls, "__match_args__", names)
    type.__setattr__(cls, "__value_defaults__", defaults)
    for attribute, method in (
        ("__init__", _init),
        ("__eq__", _eq),
        ("__hash__", _hash),
        ("__repr__", _repr),
        ("__setattr__", _frozen),
        ("__delattr__", _frozen),
    ):
        setattr(cls, attribute, method)
    return cls
