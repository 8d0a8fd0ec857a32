"""Shared fixtures: one moto fixture whose resources are built from template.yaml, the demo store,
and an in-process API client that routes requests exactly as API Gateway would."""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore.loaders
import botocore.session
import pytest
from hypothesis import HealthCheck, settings
from moto import mock_aws

from infra.aws_resources import LocalResources, create_resources
from infra.inprocess import InProcessApi
from infra.moto_atomic import make_dynamodb_writes_atomic, make_sqs_receive_linear
from infra.moto_fast import make_moto_responses_fast
from infra.seed import DemoStore, seed_demo_store
from infra.template import describe_functions, load_template
from pollen.services.container import reset_container
from pollen.storage.client import call_counter, reset_clients
from tests.support.clients import client_for
from tests.support.ledger import assert_ledgers_balance
from tests.support.moto_start import make_mock_start_cheap
from tests.support.moto_state import BackendState, table_untouched
from tests.support.stack_groups import StackGroupScheduling

ROOT = Path(__file__).resolve().parents[1]
STACK = "pollen-test"

# Processes the tests start (the local stacks, import probes) import this checkout's package, as the
# tests themselves do (pyproject's pythonpath): the virtualenv's editable install points at whichever
# checkout created it, and a git worktree sharing that .venv would run the other checkout's layers/.
_OWN_PATHS = [str(ROOT), str(ROOT / "layers" / "pollen")]
_PATHS = [path for path in os.environ.get("PYTHONPATH", "").split(os.pathsep) if path]
os.environ["PYTHONPATH"] = os.pathsep.join(_OWN_PATHS + [path for path in _PATHS if path not in _OWN_PATHS])

# Property tests judge the code, not the machine: on a loaded CI box a draw can stall for a second,
# which must not fail a run (no deadline, no "generation is slow" health check).
settings.register_profile("pollen", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("pollen")


@pytest.hookimpl(tryfirst=True, optionalhook=True)  # optional: `-p no:xdist` runs without it
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> StackGroupScheduling | None:
    """`make test`'s `--dist loadgroup`: tests/support/stack_groups.py (each stack's tests on one worker)."""
    if config.getvalue("dist") != "loadgroup":
        return None
    return StackGroupScheduling(config, log)


class _UniquePaths(list[str]):
    """Search paths that each new boto3 session appends its own data directory to only once."""

    def append(self, path: str) -> None:
        if path not in self:
            super().append(path)


def _share_botocore_data_loader() -> None:
    """Every botocore session in this process uses one data loader. The code under test builds a new
    session per client and every test starts with fresh clients, and a new loader parses the same JSON
    models again (endpoints, DynamoDB, SQS: a tenth of a test's time). The models are read-only data."""
    shared = botocore.loaders.create_loader()
    shared._search_paths = _UniquePaths(shared.search_paths)  # type: ignore[attr-defined]

    def register(session: botocore.session.Session) -> None:
        session._components.register_component("data_loader", shared)  # type: ignore[attr-defined]

    assert hasattr(botocore.session.Session, "_register_data_loader"), "botocore moved its loader set-up"
    botocore.session.Session._register_data_loader = register


_share_botocore_data_loader()


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


def _keep_or_reset_clients() -> None:
    """Keep Pollen's cached clients when they are what this environment would make (moto intercepts
    them across tests); drop any a test made for another endpoint, region or timeout."""
    timeout = float(os.environ.get("POLLEN_AWS_READ_TIMEOUT_SECONDS", "5"))

    def standard(service: str, client: Any) -> bool:
        meta = client.meta
        return bool(
            meta.region_name == "us-east-1"
            and meta.endpoint_url == f"https://{service}.us-east-1.amazonaws.com"
            and meta.config.read_timeout == timeout
            and "AWS_ENDPOINT_URL" not in os.environ
        )

    reset_clients(keep=standard)


@dataclass
class _Pristine:
    resources: LocalResources
    env: dict[str, str]
    state: BackendState  # moto's DynamoDB and SQS right after create_resources
    demo: BackendState | None = None  # and after the demo store's items, once known


_PRISTINE: dict[int, _Pristine] = {}  # per template (one per process)
_current: _Pristine | None = None  # the running moto's pristine state, while one runs
_demo_restored = False  # the running moto started from the demo store's copy (the test asked for it)


@contextmanager
def _moto(
    template: dict[str, Any], patch: pytest.MonkeyPatch, *, with_demo: bool = False
) -> Iterator[LocalResources]:
    """moto in-process with the template's table and queues, and every function's environment set.

    The first call in a process creates them through the API; later calls start from a copy of the
    back-ends it left (tests/support/moto_state.py), which is the same state at a fraction of the cost.
    ``with_demo`` (a test that asks for the demo store) starts from the copy taken after the demo
    store's items once there is one, rather than copying the empty state and then the demo's."""
    global _current, _demo_restored  # noqa: PLW0603 - the one moto of this process at a time
    for name, value in _BASE_ENV.items():
        patch.setenv(name, value)
    patch.delenv("AWS_ENDPOINT_URL", raising=False)
    patch.delenv("AWS_PROFILE", raising=False)
    make_dynamodb_writes_atomic()
    make_sqs_receive_linear()
    make_moto_responses_fast()
    make_mock_start_cheap()
    with mock_aws():
        pristine = _PRISTINE.get(id(template))
        if pristine is None:
            resources = create_resources(template, prefix=STACK)
            resolver = resources.resolver(template, parameters={"Stage": "dev"}, stack_name=STACK)
            env: dict[str, str] = {}
            for spec in describe_functions(template, resolver):
                env.update(spec.env)
            env.pop("POWERTOOLS_SERVICE_NAME", None)
            state = BackendState.capture(resources.account_id, resources.region)
            pristine = _PRISTINE[id(template)] = _Pristine(copy.deepcopy(resources), env, state)
        else:
            _demo_restored = with_demo and pristine.demo is not None
            (pristine.demo if _demo_restored and pristine.demo else pristine.state).restore()
            resources = copy.deepcopy(pristine.resources)
        for name, value in pristine.env.items():
            patch.setenv(name, value)
        _keep_or_reset_clients()
        reset_container()
        _current = pristine
        try:
            yield resources
        finally:
            _current, _demo_restored = None, False
            _keep_or_reset_clients()
            reset_container()


@pytest.fixture
def aws(
    template: dict[str, Any], monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[LocalResources]:
    """moto in-process with the template's table and queues, and every function's environment set."""
    with _moto(template, monkeypatch, with_demo="demo" in request.fixturenames) as resources:
        yield resources
        # docs/design.md invariant 2, after every test that touched the table: each wallet equals its ledger.
        assert_ledgers_balance(resources.tables["PollenTable"].name)


@pytest.fixture
def table_name(aws: LocalResources) -> str:
    return aws.tables["PollenTable"].name


@pytest.fixture(scope="session")
def _demo_snapshot(template: dict[str, Any]) -> tuple[DemoStore, list[dict[str, Any]]]:
    """The demo store seeded once per process (each xdist worker) in a moto of its own, before any
    test's patches: its keys and secrets, and the table's items as DynamoDB returns them."""
    with pytest.MonkeyPatch.context() as patch, _moto(template, patch) as resources:
        store = seed_demo_store("http://in-process")
        ddb = client_for("dynamodb")
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"TableName": resources.tables["PollenTable"].name}
        while True:
            page = ddb.scan(**kwargs)
            items.extend(page["Items"])
            if "LastEvaluatedKey" not in page:
                return store, items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@pytest.fixture
def demo(aws: LocalResources, _demo_snapshot: tuple[DemoStore, list[dict[str, Any]]]) -> DemoStore:
    """The demo store in this test's fresh table: the seeded items written again (BatchWriteItem) rather
    than seeded through ~15 transactions per test. Same items, keys and secrets, and the same cold
    caches (seeding ends by dropping the merchant's cached config)."""
    return restore_demo(aws, _demo_snapshot)


def restore_demo(resources: LocalResources, snapshot: tuple[DemoStore, list[dict[str, Any]]]) -> DemoStore:
    """Write the seeded demo store's items into ``resources``' table; its keys and secrets. A table
    still as the template made it gets a copy of the back-ends as they were after the first such
    write in this process (the same items and stream records); any other gets the writes."""
    store, items = snapshot
    table = resources.tables["PollenTable"].name
    pristine = _current
    if pristine is not None and _demo_restored:
        return store.model_copy(deep=True)  # the back-ends started as the demo store's copy
    if pristine is not None and not table_untouched(resources.account_id, resources.region, table):
        pristine = None  # a table already written to gets the writes
    if pristine is not None and pristine.demo is not None:
        pristine.demo.restore()
        return store.model_copy(deep=True)
    ddb = client_for("dynamodb")
    for first in range(0, len(items), 25):
        request: Any = {table: [{"PutRequest": {"Item": item}} for item in items[first : first + 25]]}
        while request:
            request = ddb.batch_write_item(RequestItems=request).get("UnprocessedItems") or None
    if pristine is not None:
        pristine.demo = BackendState.capture(resources.account_id, resources.region)
    return store.model_copy(deep=True)


@pytest.fixture
def api(template: dict[str, Any], aws: LocalResources) -> InProcessApi:
    return InProcessApi(template, aws)


@pytest.fixture
def calls() -> Any:
    """The DynamoDB call counter of the current thread."""
    return call_counter
