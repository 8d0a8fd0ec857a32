"""Lambda event-source ``FilterCriteria``: EventBridge-style patterns applied to records.

Lambda delivers a record when any pattern of the source matches it, and drops it otherwise (for a
stream that means it is skipped and checkpointed; for SQS the message is deleted). Within a pattern
every key must match (AND); a list holds alternatives (OR); an array in the record matches when any
element does. For SQS the ``body`` is matched as parsed JSON when it is JSON, and as a plain
string otherwise, so an object pattern on ``body`` never matches a plain-text message.

Supported: nested objects, ``$or``, exact strings/numbers/booleans/null, ``prefix``, ``suffix``,
``equals-ignore-case`` (also inside prefix/suffix), ``wildcard``, ``anything-but`` (a value, a list,
or prefix/suffix/equals-ignore-case/wildcard), ``numeric`` (``=``, ``<``, ``<=``, ``>``, ``>=``,
chained) and ``exists``. :func:`validate_pattern` refuses anything else, as Lambda does when the
event source mapping is created; the matching functions assume a validated pattern.
"""

from __future__ import annotations

import contextlib
import json
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any


class InvalidPatternError(ValueError):
    """A filter pattern Lambda would refuse when the event source mapping is created."""


_MISSING: Any = object()
_NUMERIC_OPS: dict[str, Callable[[float, float], bool]] = {
    "=": operator.eq,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_STRING_OPS = ("prefix", "suffix", "equals-ignore-case", "wildcard")


def record_matches(patterns: Sequence[Mapping[str, Any]], record: Mapping[str, Any]) -> bool:
    """True when ``patterns`` is empty (no filtering) or any of them matches ``record``."""
    return not patterns or any(pattern_matches(pattern, record) for pattern in patterns)


def sqs_filter_view(record: Mapping[str, Any]) -> dict[str, Any]:
    """The SQS record as Lambda filters it: ``body`` parsed when it holds JSON."""
    view = dict(record)
    body = view.get("body")
    if isinstance(body, str):
        with contextlib.suppress(ValueError):
            view["body"] = json.loads(body)
    return view


# ---- Validation ----------------------------------------------------------------------------------------


def validate_pattern(pattern: Any) -> None:
    """Raise :class:`InvalidPatternError` unless ``pattern`` is one Lambda accepts (of what we support)."""
    if not isinstance(pattern, Mapping) or not pattern:
        raise InvalidPatternError(f"a pattern must be a non-empty object, not {pattern!r}")
    for key, rule in pattern.items():
        if key == "$or":
            if not isinstance(rule, list) or not rule:
                raise InvalidPatternError("$or takes a non-empty list of patterns")
            for alternative in rule:
                validate_pattern(alternative)
        elif isinstance(rule, Mapping):
            validate_pattern(rule)
        elif isinstance(rule, list):
            if not rule:
                raise InvalidPatternError(f"the list of values for {key!r} is empty")
            for item in rule:
                _validate_rule(item)
        else:
            raise InvalidPatternError(f"the rule for {key!r} must be an object or a list, not {rule!r}")


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _validate_rule(rule: Any) -> None:  # noqa: PLR0912 - one branch per operator
    if not isinstance(rule, Mapping):
        if not _is_scalar(rule):
            raise InvalidPatternError(f"unsupported value in a pattern: {rule!r}")
        return
    if len(rule) != 1:
        raise InvalidPatternError(f"an operator object takes exactly one operator: {rule!r}")
    ((name, operand),) = rule.items()
    if name in ("prefix", "suffix"):
        if not (isinstance(operand, str) or _is_ignore_case(operand)):
            raise InvalidPatternError(f"{name} takes a string or {{equals-ignore-case: string}}")
    elif name in ("equals-ignore-case", "wildcard"):
        if not isinstance(operand, str):
            raise InvalidPatternError(f"{name} takes a string")
    elif name == "exists":
        if not isinstance(operand, bool):
            raise InvalidPatternError("exists takes true or false")
    elif name == "numeric":
        _validate_numeric(operand)
    elif name == "anything-but":
        if isinstance(operand, list):
            if not operand or not all(_is_scalar(item) for item in operand):
                raise InvalidPatternError("anything-but takes a non-empty list of values")
        elif isinstance(operand, Mapping):
            if len(operand) != 1 or next(iter(operand)) not in _STRING_OPS:
                raise InvalidPatternError(f"anything-but does not take {operand!r}")
            ((inner_name, inner),) = operand.items()
            items = inner if inner_name == "equals-ignore-case" and isinstance(inner, list) else [inner]
            if not items or not all(isinstance(item, str) for item in items):
                raise InvalidPatternError(f"anything-but {inner_name} takes strings")
        elif not _is_scalar(operand):
            raise InvalidPatternError(f"anything-but does not take {operand!r}")
    else:
        raise InvalidPatternError(f"unsupported filter operator {name!r}")


def _is_ignore_case(operand: Any) -> bool:
    return (
        isinstance(operand, Mapping)
        and set(operand) == {"equals-ignore-case"}
        and isinstance(operand["equals-ignore-case"], str)
    )


def _validate_numeric(operand: Any) -> None:
    if not isinstance(operand, list) or not operand or len(operand) % 2 or len(operand) > 4:
        raise InvalidPatternError("numeric takes [operator, number] or two such pairs")
    for name, bound in zip(operand[::2], operand[1::2], strict=True):
        if name not in _NUMERIC_OPS or isinstance(bound, bool) or not isinstance(bound, (int, float)):
            raise InvalidPatternError(f"bad numeric comparison {name!r} {bound!r}")


# ---- Matching ------------------------------------------------------------------------------------------


def pattern_matches(pattern: Mapping[str, Any], event: Any) -> bool:
    """Whether ``event`` matches the (validated) ``pattern``."""
    for key, rule in pattern.items():
        if key == "$or":
            if not any(pattern_matches(alternative, event) for alternative in rule):
                return False
            continue
        present = isinstance(event, Mapping) and key in event
        value = event[key] if present else _MISSING
        if isinstance(rule, Mapping):
            if not pattern_matches(rule, value if isinstance(value, Mapping) else {}):
                return False
        elif not _leaf_matches(rule, value):
            return False
    return True


def _leaf_matches(rules: list[Any], value: Any) -> bool:
    candidates = value if isinstance(value, list) else [value]
    for rule in rules:
        if isinstance(rule, Mapping) and "exists" in rule:
            if (value is not _MISSING) == rule["exists"]:
                return True
        elif value is not _MISSING and any(_rule_matches(rule, candidate) for candidate in candidates):
            return True
    return False


def _rule_matches(rule: Any, value: Any) -> bool:
    if not isinstance(rule, Mapping):
        return _equal(rule, value)
    ((name, operand),) = rule.items()
    if name == "numeric":
        return _numeric(operand, value)
    if name == "anything-but":
        return _anything_but(operand, value)
    return isinstance(value, str) and _string_matches(name, operand, value)


def _string_matches(name: str, operand: Any, value: str) -> bool:
    if name in ("prefix", "suffix"):
        test = str.startswith if name == "prefix" else str.endswith
        if isinstance(operand, Mapping):
            return test(value.casefold(), str(operand["equals-ignore-case"]).casefold())
        return test(value, operand)
    if name == "equals-ignore-case":
        return value.casefold() == str(operand).casefold()
    regex = ".*".join(re.escape(part) for part in str(operand).split("*"))
    return re.fullmatch(regex, value, flags=re.DOTALL) is not None


def _equal(expected: Any, value: Any) -> bool:
    if expected is None:
        return value is None
    if isinstance(expected, bool):
        return value is expected
    if isinstance(expected, (int, float)):
        return (
            isinstance(value, (int, float))
            and not isinstance(value, bool)
            and float(expected) == float(value)
        )
    return isinstance(value, str) and expected == value


def _numeric(operand: list[Any], value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return all(
        _NUMERIC_OPS[name](float(value), float(bound))
        for name, bound in zip(operand[::2], operand[1::2], strict=True)
    )


def _anything_but(operand: Any, value: Any) -> bool:
    if isinstance(operand, list):
        return not any(_equal(item, value) for item in operand)
    if isinstance(operand, Mapping):
        ((name, inner),) = operand.items()
        if not isinstance(value, str):
            return False
        items = inner if isinstance(inner, list) else [inner]
        return not any(_string_matches(name, item, value) for item in items)
    return not _equal(operand, value)
