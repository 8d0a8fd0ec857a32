"""`make bench` covers every path: each HTTP route of template.yaml, each stream or queue consumer and
each scheduled job has a row in infra/bench_cases, so a new route cannot be forgotten. Read statically
(the template's YAML and the case list, which is plain data): no moto, nothing invoked."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from infra.bench_cases import all_cases
from infra.template import load_template

ROOT = Path(__file__).resolve().parents[2]
# Functions no request, record or schedule reaches: nothing to bench per request.
NOT_ON_A_PATH = {"DashboardPublisherFunction": "a custom resource run once per deploy (S3 only)"}


def _paths(template: dict[str, Any]) -> set[str]:
    """What the bench must cover: ``METHOD /path`` per HttpApi event, ``function:<id>`` per function fed
    by a stream or queue, ``job:<cadence>`` per schedule."""
    wanted: set[str] = set()
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function" or logical_id in NOT_ON_A_PATH:
            continue
        events = resource["Properties"].get("Events", {}).values()
        assert events, f"{logical_id} has no events: bench it or name it in NOT_ON_A_PATH"
        for event in events:
            props = event.get("Properties", {})
            if event["Type"] == "HttpApi":
                wanted.add(f"{props['Method'].upper()} {props['Path']}")
            elif event["Type"] == "Schedule":
                wanted.add(f"job:{json.loads(props['Input'])['jobs']}")
            else:
                wanted.add(f"function:{logical_id}")
    return wanted


def test_every_route_consumer_and_job_has_a_bench_row() -> None:
    wanted = _paths(load_template(ROOT / "template.yaml"))
    covered = {case.covers for case in all_cases()}
    assert sorted(wanted - covered) == [], "paths without a row in infra/bench_cases"
    assert sorted(covered - wanted) == [], "rows for paths template.yaml no longer has"


def test_the_walk_sees_the_kinds_of_path_it_must() -> None:
    wanted = _paths(load_template(ROOT / "template.yaml"))
    assert {"POST /webhooks/shopify", "GET /v1/customers/{customer_id}/wallet"} <= wanted
    assert {"function:EventRouterFunction", "function:AnalyticsAggregatorFunction"} <= wanted
    assert {"function:IntegrationDeliveryFunction", "job:hourly", "job:daily"} <= wanted
    assert len([p for p in wanted if " " in p]) >= 75


def test_rows_are_told_apart_and_the_named_variants_are_there() -> None:
    names = Counter(case.name for case in all_cases())
    assert [name for name, n in names.items() if n > 1] == []
    for variant in (
        "orders/create, new order",
        "orders/create, cold config",
        "orders/cancelled",
        "orders/cancelled, cold config",
        "refunds/create",
        "refunds/create, cold config",
        "customers/create",
        "customers/create, cold config",
    ):
        assert f"POST /webhooks/shopify {variant}" in names
    assert "PUT /v1/customers/{customer_id} guest order to claim" in names
    assert "DELETE /v1/customers/{customer_id}/coupons/{code} coupon cancel" in names
