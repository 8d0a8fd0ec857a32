"""``@value`` classes behave as frozen dataclasses do where Pollen relies on it (pollen.domain.values)."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from typing import Generic, TypeVar

import pytest

from pollen.domain.values import value

T = TypeVar("T")


@value
class Ref:
    customer_id: str


@value
class OtherRef:
    customer_id: str


@value
class Change:
    customer_id: str
    add: int = 0
    code: str | None = None


def test_construction_positional_keyword_and_defaults() -> None:
    assert Change("c1") == Change(customer_id="c1", add=0, code=None)
    assert Change("c1", 2, code="X").code == "X"
    with pytest.raises(TypeError, match="missing required argument 'customer_id'"):
        Change()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected keyword argument 'nope'"):
        Change("c1", nope=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="multiple values"):
        Change("c1", customer_id="c2")  # type: ignore[misc]
    with pytest.raises(TypeError, match="positional"):
        Change("c1", 1, None, 4)  # type: ignore[call-arg]


def test_values_of_two_types_are_never_equal_nor_one_key() -> None:
    assert Ref("c1") == Ref("c1")
    assert Ref("c1") != OtherRef("c1")  # type: ignore[comparison-overlap]
    assert Ref("c1") != ("c1",)  # type: ignore[comparison-overlap]
    keys = {Ref("c1"): 1, OtherRef("c1"): 2}
    assert keys[Ref("c1")] == 1
    assert len(keys) == 2


def test_frozen_and_readable() -> None:
    ref = Ref("c1")
    with pytest.raises(FrozenInstanceError):
        ref.customer_id = "c2"  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        del ref.customer_id
    assert repr(Change("c1", 2)) == "Change(customer_id='c1', add=2, code=None)"


def test_match_by_position_and_keyword() -> None:
    match Change("c1", 3):
        case Ref():
            pytest.fail("a Change is not a Ref")
        case Change(customer_id, add=3):
            assert customer_id == "c1"
        case _:
            pytest.fail("no match")


def test_misuse_is_refused_when_the_class_is_made() -> None:
    with pytest.raises(TypeError, match="without a default follows"):

        @value
        class Bad:
            a: int = 0
            b: int  # type: ignore[misc]

    with pytest.raises(TypeError, match="cannot inherit"):

        @value
        class Child(Ref):
            pass


def test_a_value_class_may_be_generic() -> None:
    @value
    class Box(Generic[T]):
        items: list[T]
        more: str | None = None

    box: Box[int] = Box([1, 2])
    assert box == Box([1, 2], None)
    assert box.items == [1, 2]
    assert repr(box) == "test_a_value_class_may_be_generic.<locals>.Box(items=[1, 2], more=None)"
    with pytest.raises(FrozenInstanceError):
        box.more = "x"  # type: ignore[misc]
