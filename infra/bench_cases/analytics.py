"""Analytics paths: reports, CSV export, the rebuild job and event tracking."""

from __future__ import annotations

import uuid
from datetime import timedelta

from infra.bench_cases import Bench, Case
from pollen.clock import utcnow

A = "/v1/admin/analytics"


def _track(bench: Bench, _: object) -> int:
    events = [
        {"id": str(uuid.uuid4()), "type": "widget_opened", "customer_id": f"t-{i % 10}"} for i in range(40)
    ] + [{"id": str(uuid.uuid4()), "type": "widget_clicked"} for _ in range(10)]
    return bench.status("POST", "/v1/events/track", "read", json_body={"events": events})


def _range() -> dict[str, str]:
    yesterday = utcnow().date() - timedelta(days=1)  # a rebuild covers days that have ended
    return {"from": (yesterday - timedelta(days=6)).isoformat(), "to": yesterday.isoformat()}


def _job(bench: Bench) -> str:
    return str(bench.ok("POST", f"{A}/rebuild", json_body=_range())["job_id"])


CASES = [
    Case(
        f"GET {A}/summary",
        "30 days",
        lambda b, _: b.status("GET", f"{A}/summary", query={"range": "30d"}),
        budget=1,
    ),
    Case(
        f"GET {A}/series",
        "90 days by week",
        lambda b, _: b.status(
            "GET", f"{A}/series", query={"metrics": "orders,revenue", "range": "90d", "granularity": "week"}
        ),
        budget=1,
    ),
    Case(
        f"GET {A}/export",
        "CSV, 30 days",
        lambda b, _: b.status("GET", f"{A}/export", query={"format": "csv", "range": "30d"}),
    ),
    Case(
        f"POST {A}/rebuild",
        "7 days",
        lambda b, _: b.status("POST", f"{A}/rebuild", json_body=_range()),
        expect=202,
        runs=5,
    ),
    Case(
        f"GET {A}/rebuild/{{job_id}}",
        "",
        lambda b, _: b.status("GET", f"{A}/rebuild/{b.state['job']}"),
        setup=lambda b: b.state.__setitem__("job", _job(b)),
    ),
    Case(
        f"POST {A}/rebuild/{{job_id}}/resume",
        "a new job",
        lambda b, job: b.status("POST", f"{A}/rebuild/{job}/resume"),
        _job,
        runs=5,
    ),
    Case("POST /v1/events/track", "50 events", _track, expect=202, budget=2),
]
