"""Shared fixtures: one moto fixture whose resources are built from template.yaml, the demo store,
and an in-process API client that routes requests exactly as API Gateway would."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from moto import mock_aws

from infra.aws_resources import LocalResources, create_resources
from infra.inprocess import InProcessApi
from infra.moto_atomic import make_dynamodb_writes_atomic, make_sqs_receive_linear
from infra.seed import DemoStore, seed_demo_store
from infra.template import describe_functions, load_template
from pollen.services.container import reset_container
from pollen.storage.client import call_counter, reset_clients
from tests.support.ledger import assert_ledgers_balance

ROOT = Path(__file__).resolve().parents[1]
STACK = "pollen-test"

# Property tests judge the code, not the machine: on a loaded CI box a draw can stall for a second,
# which must not fail a run (no deadline, no "generation is slow" health check).
settings.register_profile("pollen", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("pollen")

_BASE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_DEV": "false",
}


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    return load_template(ROOT / "template.yaml")


@pytest.fixture
def aws(template: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalResources]:
    """moto in-process with the template's table and queues, and every function's environment set."""
    for name, value in _BASE_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    make_dynamodb_writes_atomic()
    make_sqs_receive_linear()
    with mock_aws():
        resources = create_resources(template, prefix=STACK)
        resolver = resources.resolver(template, parameters={"Stage": "dev"}, stack_name=STACK)
        env: dict[str, str] = {}
        for spec in describe_functions(template, resolver):
            env.update(spec.env)
        env.pop("POWERTOOLS_SERVICE_NAME", None)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        reset_clients()
        reset_container()
        yield resources
        # docs/design.md invariant 2, after every test that touched the table: each wallet equals its ledger.
        assert_ledgers_balance(resources.tables["PollenTable"].name)
    reset_clients()
    reset_container()


@pytest.fixture
def table_name(aws: LocalResources) -> str:
    return aws.tables["PollenTable"].name


@pytest.fixture
def demo(aws: LocalResources) -> DemoStore:
    return seed_demo_store("http://in-process")


@pytest.fixture
def api(template: dict[str, Any], aws: LocalResources) -> InProcessApi:
    return InProcessApi(template, aws)


@pytest.fixture
def calls() -> Any:
    """The DynamoDB call counter of the current thread."""
    return call_counter
