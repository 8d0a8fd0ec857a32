"""The dashboard custom resource: what lands in the bucket, what is cleaned up, what CloudFormation hears."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions.dashboard_publisher import app

BUCKET = "pollen-dashboard-test"


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "opt"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><script src=/dashboard/assets/index-1.js></script>")
    (root / "assets" / "index-1.js").write_text("console.log(1)")
    (root / "assets" / "index-1.css").write_text("body{}")
    (root / "python").mkdir()  # another layer's files share /opt: never published
    (root / "python" / "secret.py").write_text("x = 1")
    return root


def _event(kind: str) -> dict[str, Any]:
    return {
        "RequestType": kind,
        "ResponseURL": "https://cloudformation-custom-resource-response.example/",
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/pollen/1",
        "RequestId": "r-1",
        "LogicalResourceId": "DashboardSite",
        "ResourceProperties": {"BucketName": BUCKET, "SiteVersion": "arn:layer:1"},
    }


def _objects(s3: Any) -> dict[str, dict[str, Any]]:
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    return {key: s3.head_object(Bucket=BUCKET, Key=key) for key in keys}


def test_create_publishes_the_build_with_types_and_cache_rules_then_reports_success(
    s3: Any, site: Path
) -> None:
    replies: list[tuple[str, str, str]] = []
    app.handle(
        _event("Create"), s3, site, lambda event, pid, status, reason: replies.append((pid, status, reason))
    )
    objects = _objects(s3)
    assert set(objects) == {
        "dashboard/index.html",
        "dashboard/assets/index-1.js",
        "dashboard/assets/index-1.css",
    }
    assert objects["dashboard/index.html"]["ContentType"] == "text/html; charset=utf-8"
    assert objects["dashboard/index.html"]["CacheControl"] == "no-cache"
    assert objects["dashboard/assets/index-1.js"]["ContentType"] == "text/javascript; charset=utf-8"
    assert objects["dashboard/assets/index-1.js"]["CacheControl"] == "public, max-age=31536000, immutable"
    assert replies == [(f"{BUCKET}/dashboard/", "SUCCESS", "")]


def test_update_removes_what_the_older_build_left_and_keeps_the_same_physical_id(s3: Any, site: Path) -> None:
    replies: list[tuple[str, str, str]] = []
    app.handle(
        _event("Create"), s3, site, lambda e, pid, status, reason: replies.append((pid, status, reason))
    )
    (site / "assets" / "index-1.js").unlink()
    (site / "assets" / "index-2.js").write_text("console.log(2)")
    app.handle(
        _event("Update"), s3, site, lambda e, pid, status, reason: replies.append((pid, status, reason))
    )
    assert set(_objects(s3)) == {
        "dashboard/index.html",
        "dashboard/assets/index-2.js",
        "dashboard/assets/index-1.css",
    }
    assert [pid for pid, _, _ in replies] == [f"{BUCKET}/dashboard/"] * 2


def test_delete_empties_the_prefix_and_an_empty_layer_fails_the_deploy(
    s3: Any, site: Path, tmp_path: Path
) -> None:
    replies: list[tuple[str, str, str]] = []
    app.handle(
        _event("Create"), s3, site, lambda e, pid, status, reason: replies.append((pid, status, reason))
    )
    app.handle(
        _event("Delete"), s3, site, lambda e, pid, status, reason: replies.append((pid, status, reason))
    )
    assert _objects(s3) == {}
    app.handle(
        _event("Create"), s3, tmp_path / "empty", lambda e, pid, st, reason: replies.append((pid, st, reason))
    )
    assert replies[-1][1] == "FAILED"
    assert "index.html" in replies[-1][2]
    assert _objects(s3) == {}


# ---- the storefront widget: one versioned, immutable script -------------------------------------------


def _widget_event(kind: str, key: str = "widget/v3/pollen-widget.js") -> dict[str, Any]:
    event = _event(kind)
    event["LogicalResourceId"] = "WidgetScript"
    event["ResourceProperties"] = {"BucketName": BUCKET, "SiteVersion": "arn:layer:w:3", "ScriptKey": key}
    return event


def test_the_widget_script_is_published_under_its_version_immutable_and_older_versions_stay(
    s3: Any, site: Path
) -> None:
    (site / "pollen-widget.js").write_text("customElements.define('pollen-rewards', class {})")
    replies: list[tuple[str, str, str]] = []

    def reply(event: dict[str, Any], pid: str, status: str, reason: str) -> None:
        replies.append((pid, status, reason))

    s3.put_object(Bucket=BUCKET, Key="widget/v2/pollen-widget.js", Body=b"old")
    app.handle(_event("Create"), s3, site, reply)  # the dashboard beside it
    app.handle(_widget_event("Update"), s3, site, reply)
    assert replies[-1] == (f"{BUCKET}/widget/", "SUCCESS", "")
    objects = _objects(s3)
    script = objects["widget/v3/pollen-widget.js"]
    assert script["CacheControl"] == "public, max-age=31536000, immutable"
    assert script["ContentType"] == "text/javascript; charset=utf-8"
    body = s3.get_object(Bucket=BUCKET, Key="widget/v3/pollen-widget.js")["Body"].read()
    assert body == (site / "pollen-widget.js").read_bytes()
    assert "widget/v2/pollen-widget.js" in objects  # pages still embedding v2 keep working
    assert "dashboard/index.html" in objects

    app.handle(_widget_event("Update", "widget/../dashboard/index.html"), s3, site, reply)
    assert replies[-1][1] == "FAILED"
    assert "ScriptKey" in replies[-1][2]

    app.handle(_widget_event("Delete"), s3, site, reply)
    assert replies[-1] == (f"{BUCKET}/widget/", "SUCCESS", "")
    assert [k for k in _objects(s3) if k.startswith("widget/")] == []
    assert "dashboard/index.html" in _objects(s3)  # the dashboard's files are not the widget's


def test_an_empty_widget_layer_fails_the_deploy(s3: Any, site: Path) -> None:
    replies: list[tuple[str, str, str]] = []
    app.handle(
        _widget_event("Create"),
        s3,
        site,
        lambda e, pid, status, reason: replies.append((pid, status, reason)),
    )
    assert replies[0][1] == "FAILED"
    assert "pollen-widget.js" in replies[0][2]
