"""Stream, queue and schedule functions with the events AWS sends them."""

from __future__ import annotations

import copy
import importlib
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from boto3.dynamodb.types import TypeSerializer
from pydantic import ValidationError

from infra.apigw import FakeLambdaContext
from pollen.domain.wallet import LedgerEntry, Operation, Source, TxnType
from pollen.events.envelope import OutboxEvent
from pollen.ids import new_ulid
from pollen.services import jobs
from pollen.services.container import container
from pollen.services.jobs import Cadence, JobResult
from pollen.storage.customers import ledger_item
from tests.support.events import load_event

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _invoke(function: str, event: dict[str, Any]) -> Any:
    module = importlib.import_module(f"functions.{function}.app")
    return module.lambda_handler(event, FakeLambdaContext(function))


def _stream_event(*images: dict[str, Any]) -> dict[str, Any]:
    template = load_event("event_router_outbox_insert")["Records"][0]
    records = []
    for i, image in enumerate(images):
        record = copy.deepcopy(template)
        record["eventID"] = f"event-{i}"
        record["dynamodb"]["SequenceNumber"] = f"{1000 + i}"
        record["dynamodb"]["NewImage"] = {
            k: TypeSerializer().serialize(v) for k, v in image.items() if v is not None
        }
        record["dynamodb"]["Keys"] = {k: record["dynamodb"]["NewImage"][k] for k in ("PK", "SK")}
        records.append(record)
    return {"Records": records}


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize("function", ["event_router", "analytics_aggregator"])
def test_stream_consumers_accept_their_samples(function: str) -> None:
    assert _invoke(function, load_event(f"{function}_outbox_insert")) == {"batchItemFailures": []}


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize("function", ["event_router", "analytics_aggregator"])
def test_stream_consumers_accept_their_ledger_samples(function: str) -> None:
    """A ledger entry's insert is its own wallet_transaction event (pollen.events.ledger)."""
    assert _invoke(function, load_event(f"{function}_ledger_insert")) == {"batchItemFailures": []}


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize("function", ["event_router", "analytics_aggregator"])
def test_ledger_items_written_by_the_layer_read_back_from_the_stream(function: str) -> None:
    """One with its event's id, one written before entries carried it (its outbox item's record
    carries its event: skipped, not failed), and a ledger entry's update (no filter lets one by)."""
    entry = LedgerEntry(
        type=TxnType.REWARD,
        operation=Operation.CREDIT,
        coins=5,
        balance_after=5,
        source=Source.ADMIN,
        reference="r",
        seq=1,
        created_at=NOW,
    )
    item = ledger_item("m1", "c-1", entry, event_id=new_ulid(), pending=0)
    before = {k: v for k, v in item.items() if k not in ("event_id", "pending")}
    event = _stream_event(item, before, item)
    event["Records"][2]["eventName"] = "MODIFY"
    assert _invoke(function, event) == {"batchItemFailures": [{"itemIdentifier": "1002"}]}


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize("function", ["event_router", "analytics_aggregator"])
def test_outbox_items_written_by_the_layer_read_back_from_the_stream(function: str) -> None:
    event = OutboxEvent(
        event_type="program_updated", merchant_id="m1", occurred_at=NOW, payload={"version": 2, "coins": 10}
    )
    stray = {"PK": "M#m1#CONFIG", "SK": "PROGRAM", "entity": "program"}
    result = _invoke(function, _stream_event(event.to_item(), stray, event.to_item()))
    assert result == {"batchItemFailures": [{"itemIdentifier": "1001"}]}  # only the stray record fails


@pytest.mark.usefixtures("aws")
def test_delivery_never_acknowledges_an_unreadable_message_and_skips_a_gone_merchant() -> None:
    sample = load_event("integration_delivery_delivery")
    broken = copy.deepcopy(sample["Records"][0])
    broken["messageId"] = "broken"
    broken["body"] = "{not json"
    result = _invoke("integration_delivery", {"Records": [sample["Records"][0], broken]})
    # The sample's merchant does not exist here: nothing to send, acknowledged and logged as skipped.
    assert result == {"batchItemFailures": [{"itemIdentifier": "broken"}]}
    record = container().deliveries.page("demo-store", status=None, limit=5, cursor=None).items
    assert [(r.status, r.attempts[0].error) for r in record] == [("skipped", "the merchant no longer exists")]


@pytest.mark.usefixtures("aws")
def test_scheduled_jobs_run_their_cadence(monkeypatch: pytest.MonkeyPatch) -> None:
    importlib.import_module("functions.scheduled_jobs.app")  # its jobs register now, not into the stub
    monkeypatch.setattr(jobs, "_REGISTRY", {cadence: {} for cadence in Cadence})
    monkeypatch.setattr(jobs, "_DEFERRED", dict.fromkeys(Cadence, ()))
    seen: list[datetime] = []

    @jobs.register(Cadence.HOURLY, "count")
    def count(now: datetime) -> JobResult:
        seen.append(now)
        return JobResult(job="count", processed=3)

    assert _invoke("scheduled_jobs", load_event("scheduled_jobs_daily")) == {
        "cadence": "daily",
        "results": [],
    }
    result = _invoke("scheduled_jobs", load_event("scheduled_jobs_hourly"))
    assert result == {"cadence": "hourly", "results": [{"job": "count", "processed": 3, "detail": ""}]}
    assert len(seen) == 1


def test_the_hourly_cold_start_leaves_the_daily_jobs_unloaded() -> None:
    """The hourly run is a cold start each hour: it imports its own jobs, and the daily-only
    birthdays job is imported (and registered) when a daily run asks for the daily jobs."""
    probe = (
        "import sys\n"
        "import functions.scheduled_jobs.app\n"
        "from pollen.services.jobs import Cadence, jobs_for\n"
        "hourly = sorted(jobs_for(Cadence.HOURLY))\n"
        "print(hourly, 'pollen.services.birthdays' in sys.modules)\n"
        "print(sorted(jobs_for(Cadence.DAILY)), 'pollen.services.birthdays' in sys.modules)"
    )
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(root / "layers" / "pollen")])}
    out = subprocess.run([sys.executable, "-c", probe], cwd=root, env=env, capture_output=True, check=True)
    assert out.stdout.decode().splitlines() == [
        "['expiry', 'tier-reevaluation'] False",
        "['birthdays', 'tiers'] True",
    ]


@pytest.mark.usefixtures("aws")
def test_a_failing_job_fails_the_run_after_the_others_ran(monkeypatch: pytest.MonkeyPatch) -> None:
    importlib.import_module("functions.scheduled_jobs.app")
    monkeypatch.setattr(jobs, "_REGISTRY", {cadence: {} for cadence in Cadence})
    monkeypatch.setattr(jobs, "_DEFERRED", dict.fromkeys(Cadence, ()))
    ran: list[str] = []

    @jobs.register(Cadence.DAILY, "broken")
    def broken(now: datetime) -> JobResult:
        raise RuntimeError("boom")

    @jobs.register(Cadence.DAILY, "fine")
    def fine(now: datetime) -> JobResult:
        ran.append("fine")
        return JobResult(job="fine")

    with pytest.raises(ExceptionGroup):
        _invoke("scheduled_jobs", load_event("scheduled_jobs_daily"))
    assert ran == ["fine"]


@pytest.mark.usefixtures("aws")
def test_unknown_schedule_input_is_rejected() -> None:
    with pytest.raises(ValidationError):
        _invoke("scheduled_jobs", {"jobs": "weekly"})
