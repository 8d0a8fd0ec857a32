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
