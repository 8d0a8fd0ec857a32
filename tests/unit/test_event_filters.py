"""Lambda FilterCriteria matching, on the records the pollers build."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.event_filters import (
    InvalidPatternError,
    pattern_matches,
    record_matches,
    sqs_filter_view,
    validate_pattern,
)

OUTBOX_PATTERN = json.loads(
    '{"eventName": ["INSERT"], "dynamodb": {"NewImage": {"entity": {"S": ["outbox"]}}}}'
)


def _stream_record(event_name: str = "INSERT", **image: Any) -> dict[str, Any]:
    return {
        "eventID": "1",
        "eventName": event_name,
        "eventSource": "aws:dynamodb",
        "dynamodb": {
            "Keys": {"PK": {"S": "M#m#EVT"}, "SK": {"S": "1"}},
            "NewImage": {"PK": {"S": "M#m#EVT"}, "SK": {"S": "1"}, **image},
            "SequenceNumber": "100",
        },
    }


def test_outbox_pattern_passes_only_inserted_outbox_items() -> None:
    outbox = {"entity": {"S": "outbox"}, "event_type": {"S": "order_paid"}}
    assert record_matches([OUTBOX_PATTERN], _stream_record("INSERT", **outbox))
    assert not record_matches([OUTBOX_PATTERN], _stream_record("MODIFY", **outbox))
    assert not record_matches([OUTBOX_PATTERN], _stream_record("INSERT", entity={"S": "wallet"}))
    assert not record_matches([OUTBOX_PATTERN], _stream_record("INSERT"))
    removal = _stream_record("REMOVE")
    del removal["dynamodb"]["NewImage"]
    assert not record_matches([OUTBOX_PATTERN], removal)


def test_no_patterns_means_no_filtering_and_several_mean_any() -> None:
    record = _stream_record("MODIFY")
    assert record_matches([], record)
    assert record_matches([{"eventName": ["INSERT"]}, {"eventName": ["MODIFY"]}], record)
    assert not record_matches([{"eventName": ["INSERT"]}, {"eventName": ["REMOVE"]}], record)


@pytest.mark.parametrize(
    ("rule", "value", "expected"),
    [
        (["a", "b"], "b", True),
        (["a"], "A", False),
        ([5], 5.0, True),
        ([5], "5", False),
        ([True], True, True),
        ([True], 1, False),
        ([None], None, True),
        ([""], "", True),
        ([{"prefix": "EVT#"}], "EVT#1", True),
        ([{"prefix": "EVT#"}], "TXN#1", False),
        ([{"prefix": {"equals-ignore-case": "evt#"}}], "EVT#1", True),
        ([{"suffix": ".png"}], "a.png", True),
        ([{"suffix": ".png"}], 3, False),
        ([{"equals-ignore-case": "Paid"}], "PAID", True),
        ([{"wildcard": "order_*_paid"}], "order_42_paid", True),
        ([{"wildcard": "order_*_paid"}], "order_42", False),
        ([{"anything-but": "x"}], "y", True),
        ([{"anything-but": ["x", "y"]}], "y", False),
        ([{"anything-but": {"prefix": "test"}}], "prod-1", True),
        ([{"anything-but": {"prefix": "test"}}], "test-1", False),
        ([{"anything-but": {"equals-ignore-case": ["a", "b"]}}], "B", False),
        ([{"numeric": [">", 0, "<=", 10]}], 10, True),
        ([{"numeric": [">", 0, "<=", 10]}], 0, False),
        ([{"numeric": ["=", 3]}], 3.0, True),
        ([{"numeric": [">", 0]}], "5", False),
        ([{"exists": True}], "anything", True),
        (["a", {"prefix": "z"}], "zed", True),
        (["x"], ["a", "x"], True),  # an array matches when any element does
        (["x"], [], False),
    ],
)
def test_leaf_rules(rule: list[Any], value: Any, expected: bool) -> None:
    validate_pattern({"field": rule})
    assert pattern_matches({"field": rule}, {"field": value}) is expected


def test_exists_and_missing_fields() -> None:
    assert pattern_matches({"field": [{"exists": False}]}, {})
    assert not pattern_matches({"field": [{"exists": False}]}, {"field": None})
    assert not pattern_matches({"field": [{"exists": True}]}, {})
    assert not pattern_matches({"field": [{"anything-but": "x"}]}, {})  # only matches present fields
    assert pattern_matches({"a": {"b": [{"exists": False}]}}, {"a": "not an object"})
    assert not pattern_matches({"a": {"b": ["x"]}}, {})


def test_or_of_patterns() -> None:
    pattern = {"$or": [{"kind": ["a"]}, {"size": [{"numeric": [">", 10]}]}]}
    assert pattern_matches(pattern, {"kind": "a"})
    assert pattern_matches(pattern, {"kind": "b", "size": 11})
    assert not pattern_matches(pattern, {"kind": "b", "size": 1})


@pytest.mark.parametrize(
    "pattern",
    [
        {"field": "not a list"},
        {"field": []},
        {"field": [{"unknown-op": 1}]},
        {"field": [{"prefix": "a", "suffix": "b"}]},
        {"field": [{"numeric": [">"]}]},
        {"field": [{"numeric": ["~", 1]}]},
        {"field": [{"exists": "yes"}]},
        {"field": [{"anything-but": {"numeric": [">", 1]}}]},
        {"field": [{"anything-but": []}]},
        {"field": [["nested list"]]},
        {"$or": []},
        {},
    ],
)
def test_invalid_patterns_are_refused(pattern: dict[str, Any]) -> None:
    with pytest.raises(InvalidPatternError):
        validate_pattern(pattern)


def test_valid_patterns_pass_validation() -> None:
    validate_pattern(OUTBOX_PATTERN)
    validate_pattern(
        {
            "$or": [{"a": [{"numeric": [">", 0, "<", 5]}]}, {"b": [{"anything-but": {"prefix": "x"}}]}],
            "c": [None, 1, "s", True, {"exists": False}, {"prefix": {"equals-ignore-case": "p"}}],
        }
    )


def test_sqs_body_is_matched_as_json_when_it_is_json() -> None:
    json_message = {"messageId": "1", "body": '{"integration": "klaviyo", "attempt": 2}'}
    text_message = {"messageId": "2", "body": "plain text"}
    on_json = [{"body": {"integration": ["klaviyo"]}}]
    assert record_matches(on_json, sqs_filter_view(json_message))
    assert not record_matches(on_json, sqs_filter_view(text_message))  # Lambda drops these
    assert record_matches([{"body": ["plain text"]}], sqs_filter_view(text_message))
    assert sqs_filter_view(json_message)["body"]["attempt"] == 2
    assert json_message["body"].startswith("{")  # the record itself is left as it was
