"""Feed the analytics aggregator from the table's stream, in-process on moto, keeping every batch it
was handed so a test can hand the same records over again (twice, shuffled, split)."""

from __future__ import annotations

import dataclasses
import importlib
import json
import random
import threading
from datetime import date
from typing import Any

import boto3

from infra.apigw import FakeLambdaContext
from infra.aws_resources import LocalResources
from infra.local.pollers import StreamPoller
from infra.template import FunctionSpec, describe_functions
from pollen.storage.analytics import counters_of
from pollen.storage.client import call_counter
from pollen.storage.codec import deserialize
from pollen.storage.keys import rollup_pk

AGGREGATOR = "AnalyticsAggregatorFunction"


class Aggregator:
    def __init__(self, template: dict[str, Any], resources: LocalResources) -> None:
        resolver = resources.resolver(template, parameters={"Stage": "dev"}, stack_name="pollen-test")
        specs = {spec.logical_id: spec for spec in describe_functions(template, resolver)}
        self.spec = specs[AGGREGATOR]
        self.table = resources.tables["PollenTable"].name
        self.records: list[dict[str, Any]] = []
        self.calls: list[dict[str, int]] = []
        self.poller = StreamPoller(
            self.spec,
            dataclasses.replace(self.spec.stream_sources[0], batching_window_seconds=0),
            self._invoke,
            stop=threading.Event(),
            retry_backoff=lambda _: 0.0,
        )

    def _invoke(self, spec: FunctionSpec, event: dict[str, Any]) -> Any:
        self.records.extend(event["Records"])
        return self.handle(event["Records"])

    def handle(self, records: list[dict[str, Any]]) -> Any:
        module = importlib.import_module(self.spec.module)
        call_counter.reset()
        result = module.lambda_handler(json.loads(json.dumps({"Records": records})), FakeLambdaContext("agg"))
        self.calls.append(call_counter.snapshot())
        return result

    def drain(self) -> None:
        """Hand every new stream record to the aggregator, in the template's batch size."""
        while self.poller.poll_once(flush=True):
            pass

    def feed(self, records: list[dict[str, Any]], *, batch: int, seed: int = 7) -> None:
        """``records`` again, shuffled, in batches of ``batch``."""
        shuffled = list(records)
        random.Random(seed).shuffle(shuffled)  # noqa: S311 - a test's order, not a secret
        for start in range(0, len(shuffled), batch):
            result = self.handle(shuffled[start : start + batch])
            assert result == {"batchItemFailures": []}, result

    def rollups(self, merchant_id: str) -> dict[str, dict[str, Any]]:
        """Every day's counters (non-zero) and the total, as stored."""
        items = boto3.client("dynamodb").query(
            TableName=self.table,
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": {"S": rollup_pk(merchant_id)}},
            ConsistentRead=True,
        )["Items"]
        out = {}
        for raw in items:
            item = deserialize(raw)
            counters = counters_of(item)
            if counters:
                out[str(item["SK"])] = counters
        return out

    def forget(self, merchant_id: str) -> None:
        """Delete the merchant's rollups and markers (as if the aggregator had never run)."""
        ddb = boto3.client("dynamodb")
        for raw in ddb.scan(TableName=self.table)["Items"]:
            item = deserialize(raw)
            pk = str(item["PK"])
            if pk == rollup_pk(merchant_id) or pk.startswith(f"M#{merchant_id}#AGG#"):
                ddb.delete_item(TableName=self.table, Key={"PK": raw["PK"], "SK": raw["SK"]})


def day_key(day: date) -> str:
    return f"D#{day.isoformat()}"
