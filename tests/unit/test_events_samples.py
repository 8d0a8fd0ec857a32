"""The sample events in events/ are shaped the way AWS delivers them.

They feed ``sam local invoke`` and the tests, so a malformed sample would test the wrong thing:
every file parses, every HTTP sample is a consistent API Gateway HTTP API payload 2.0 event, the
stream samples pass the template's outbox filter, and the SQS samples carry the right body digest.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest

ROOT = Path(__file__).resolve().parents[2]
EVENTS_DIR = ROOT / "events"
TEMPLATE = ROOT / "template.yaml"

SAMPLE_PATHS = sorted(EVENTS_DIR.glob("*.json"))
NAME_RE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)+\.json$")
PLACEHOLDER_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _samples_where(predicate: Any) -> list[Path]:
    return [path for path in SAMPLE_PATHS if predicate(_load(path))]


def _is_http(event: Any) -> bool:
    return isinstance(event, dict) and "http" in event.get("requestContext", {})


def _records(event: Any, source: str) -> list[dict[str, Any]]:
    if not isinstance(event, dict):
        return []
    return [r for r in event.get("Records", []) if r.get("eventSource") == source]


HTTP_SAMPLES = _samples_where(_is_http)
STREAM_SAMPLES = _samples_where(lambda event: bool(_records(event, "aws:dynamodb")))
SQS_SAMPLES = _samples_where(lambda event: bool(_records(event, "aws:sqs")))


def _ids(paths: list[Path]) -> list[str]:
    return [path.name for path in paths]


def _matches(pattern: Any, value: Any) -> bool:
    """Lambda event-filter matching for the pattern forms the template uses (nested keys, value lists)."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(
            key in value and _matches(sub, value[key]) for key, sub in pattern.items()
        )
    return value in pattern


def _outbox_filter_patterns() -> list[dict[str, Any]]:
    patterns = re.findall(r"^\s*- Pattern: '(.+)'\s*$", TEMPLATE.read_text(encoding="utf-8"), re.MULTILINE)
    return [json.loads(pattern) for pattern in patterns]


def test_there_are_samples_of_every_kind() -> None:
    assert HTTP_SAMPLES, "no API Gateway HTTP API samples in events/"
    assert STREAM_SAMPLES, "no DynamoDB Streams samples in events/"
    assert SQS_SAMPLES, "no SQS samples in events/"


@pytest.mark.parametrize("path", SAMPLE_PATHS, ids=_ids(SAMPLE_PATHS))
def test_sample_parses_and_is_named_function_scenario(path: Path) -> None:
    assert NAME_RE.match(path.name), f"{path.name} is not named <function_dir>_<scenario>.json"
    assert isinstance(_load(path), dict)


@pytest.mark.parametrize("path", HTTP_SAMPLES, ids=_ids(HTTP_SAMPLES))
def test_http_sample_is_a_consistent_payload_v2_event(path: Path) -> None:
    event = _load(path)
    context = event["requestContext"]

    assert event["version"] == "2.0"
    assert event["routeKey"] == context["routeKey"]
    if ".lambda-url." in context["domainName"]:  # a function URL's event: one route key, no parameters
        assert event["routeKey"] == "$default"
        assert "pathParameters" not in event
        assert context["domainName"] == f"{context['apiId']}.lambda-url.us-east-1.on.aws"
        assert event["rawPath"] == context["http"]["path"] == "/webhooks/shopify"
        assert event["isBase64Encoded"] is False
        return
    method, template = event["routeKey"].split(" ", 1)
    assert method == context["http"]["method"]
    assert context["stage"] == "$default"
    assert event["isBase64Encoded"] is False

    placeholders = PLACEHOLDER_RE.findall(template)
    path_parameters = event.get("pathParameters", {})
    assert sorted(path_parameters) == sorted(placeholders)
    filled = template
    for name, value in path_parameters.items():
        assert value, f"empty path parameter {name}"
        filled = filled.replace("{" + name + "}", value)
    assert event["rawPath"] == filled
    assert context["http"]["path"] == filled


@pytest.mark.parametrize("path", HTTP_SAMPLES, ids=_ids(HTTP_SAMPLES))
def test_http_sample_headers_query_body_and_time_agree(path: Path) -> None:
    event = _load(path)
    context = event["requestContext"]
    headers = event["headers"]

    assert all(name == name.lower() for name in headers), "HTTP API lower-cases header names"
    assert all(isinstance(value, str) for value in headers.values())
    assert headers["host"] == context["domainName"]
    assert context["domainName"].startswith(context["domainPrefix"] + ".")
    assert context["http"]["userAgent"] == headers["user-agent"]

    query = dict(parse_qsl(event["rawQueryString"]))
    assert event.get("queryStringParameters", {}) == query

    if "body" in event:
        assert isinstance(event["body"], str)
        assert int(headers["content-length"]) == len(event["body"].encode())
        if headers["content-type"].startswith("text/csv"):  # a migration import's file
            assert event["body"].splitlines()[0].count(",") >= 1
        else:
            assert headers["content-type"].startswith("application/json")
            json.loads(event["body"])
    else:
        assert "content-length" not in headers

    when = datetime.strptime(context["time"], "%d/%b/%Y:%H:%M:%S %z")
    assert int(when.timestamp()) == context["timeEpoch"] // 1000


@pytest.mark.parametrize("path", STREAM_SAMPLES, ids=_ids(STREAM_SAMPLES))
def test_stream_sample_passes_the_template_outbox_filter(path: Path) -> None:
    patterns = _outbox_filter_patterns()
    assert patterns, "template.yaml declares no stream FilterCriteria pattern"
    for record in _records(_load(path), "aws:dynamodb"):
        image = record["dynamodb"]["NewImage"]
        assert record["dynamodb"]["StreamViewType"] == "NEW_IMAGE"
        assert record["dynamodb"]["Keys"] == {"PK": image["PK"], "SK": image["SK"]}
        assert any(_matches(pattern, record) for pattern in patterns)
        if image.get("entity", {}).get("S") == "outbox":  # both consumers take every outbox insert
            outbox = [p for p in patterns if "outbox" in json.dumps(p)]
            assert all(_matches(pattern, record) for pattern in outbox)


@pytest.mark.parametrize("path", SQS_SAMPLES, ids=_ids(SQS_SAMPLES))
def test_sqs_sample_body_matches_its_digest(path: Path) -> None:
    for record in _records(_load(path), "aws:sqs"):
        body = record["body"]
        assert record["md5OfBody"] == hashlib.md5(body.encode(), usedforsecurity=False).hexdigest()
        assert isinstance(json.loads(body), dict)
        assert record["attributes"]["ApproximateReceiveCount"].isdigit()
