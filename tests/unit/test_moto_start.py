"""tests/support/moto_start.py: a cached start registers exactly the routes moto's own start does."""

from __future__ import annotations

from typing import Any

import boto3
from moto import mock_aws
from moto.core import models

from tests.support import moto_start


def _routes() -> list[tuple[str, str, Any]]:
    registry: Any = models.responses_mock.get_registry()  # moto's own registry; typed as responses' base
    registered = registry._registered
    return [(method, str(r.url), r.callback) for method, routes in registered.items() for r in routes]


def test_a_cached_start_registers_what_a_fresh_one_does(monkeypatch: Any) -> None:
    monkeypatch.setattr(models.MockAWS, "_enable_patching", moto_start._ORIGINAL)
    with mock_aws():
        fresh = _routes()
    monkeypatch.setattr(moto_start, "_ROUTES", {})
    moto_start.make_mock_start_cheap()
    with mock_aws():
        first = _routes()
    with mock_aws():
        again = _routes()
        assert models.botocore_stubber.enabled
    assert len(fresh) > 1000
    assert fresh == first == again
    assert not models.botocore_stubber.enabled


def test_a_cached_start_still_serves_and_resets(monkeypatch: Any) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    moto_start.make_mock_start_cheap()
    for _ in range(2):
        with mock_aws():
            sqs = boto3.client("sqs", region_name="us-east-1")
            assert sqs.list_queues().get("QueueUrls") is None  # the last start's queue is gone
            sqs.create_queue(QueueName="q")
