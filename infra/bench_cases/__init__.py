"""`make bench` rows for every path: each HTTP route of template.yaml, the stream and queue consumers
and each scheduled job, measured in-process on moto like the hot rows in :mod:`infra.bench`.

A :class:`Case` is plain data: it names what it covers (``"GET /v1/admin/triggers"``, ``"function:
EventRouterFunction"``, ``"job:hourly"``) and holds functions of a :class:`Bench` context, so the case
list is known without moto (``tests/unit/test_bench_coverage.py`` holds it to template.yaml: a new
route or function without a case fails the tests). Each row prints the DynamoDB calls by operation of
one warm request, the round-trip budget where docs/design.md sets one, and p50/p95 over
``BENCH_COVER_RUNS`` warm runs (fewer for slow, rare paths).
"""

from __future__ import annotations

import importlib
import itertools
import json
import os
import statistics
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from infra.aws_resources import LocalResources
from infra.inprocess import ApiResponse, InProcessApi
from infra.seed import DemoStore
from pollen.observability import logger
from pollen.storage.client import call_counter

COVER_RUNS = int(os.environ.get("BENCH_COVER_RUNS", "10"))
AREAS = ("customers", "orders", "redemption", "referrals", "analytics", "admin", "consumers")


def _nothing(_: Bench) -> Any:
    return None


@dataclass(frozen=True)
class Case:
    """One row: ``covers`` is a template route key (``METHOD /path``), ``function:<LogicalId>`` or
    ``job:<name>``; ``variant`` tells rows of one path apart (e.g. warm or cold config cache)."""

    covers: str
    variant: str
    call: Callable[[Bench, Any], int]  # the measured request with what ``prepare`` made; returns a status
    prepare: Callable[[Bench], Any] = _nothing  # untimed, uncounted, before every run
    setup: Callable[[Bench], Any] = _nothing  # untimed, once before the case
    budget: int | None = None  # DynamoDB calls (docs/design.md round-trip budgets); None: no budget set
    expect: int = 200  # the status every run must answer, so a row never measures an error path by mistake
    runs: int | None = None  # warm runs; None: BENCH_COVER_RUNS

    @property
    def name(self) -> str:
        return f"{self.covers} {self.variant}".strip()


@dataclass
class Bench:
    """What cases act on: the in-process API, the demo store and a scratch space for set-up."""

    api: InProcessApi
    demo: DemoStore
    template: Mapping[str, Any]
    resources: LocalResources
    state: dict[str, Any] = field(default_factory=dict)
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def n(self) -> int:
        """A number no earlier call returned (fresh ids per run)."""
        return next(self._counter)

    def key(self, scope: str) -> str:
        return str(getattr(self.demo.api_keys, scope))

    def request(
        self,
        method: str,
        path: str,
        scope: str | None = "admin",
        *,
        json_body: Any = None,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        query: Mapping[str, str] | None = None,
        idempotent: bool = False,
    ) -> ApiResponse:
        all_headers = dict(headers or {})
        if idempotent:
            all_headers["idempotency-key"] = str(uuid.uuid4())
        return self.api.request(
            method,
            path,
            key=self.key(scope) if scope else None,
            json_body=json_body,
            body=body,
            headers=all_headers,
            query=query,
        )

    def status(self, method: str, path: str, scope: str | None = "admin", **kwargs: Any) -> int:
        return self.request(method, path, scope, **kwargs).status

    def ok(self, method: str, path: str, scope: str | None = "admin", **kwargs: Any) -> Any:
        """A set-up request that must succeed; returns its JSON body (or None)."""
        response = self.request(method, path, scope, **kwargs)
        if response.status >= 300:
            raise AssertionError(f"bench set-up {method} {path}: {response.status} {response.body[:300]!r}")
        return json.loads(response.body) if response.body else None


def all_cases(areas: tuple[str, ...] = AREAS) -> list[Case]:
    """Every coverage case of ``areas`` (modules of this package), in run order."""
    cases: list[Case] = []
    for area in areas:
        cases.extend(importlib.import_module(f"infra.bench_cases.{area}").CASES)
    return cases


def _measure(bench: Bench, case: Case) -> tuple[list[int], dict[str, int], list[float]]:
    case.call(bench, case.prepare(bench))  # warm: imports, auth and config caches
    arg = case.prepare(bench)
    call_counter.reset()
    statuses = [case.call(bench, arg)]
    used = call_counter.snapshot()
    samples = []
    for _ in range(case.runs or COVER_RUNS):
        arg = case.prepare(bench)
        started = time.perf_counter()
        statuses.append(case.call(bench, arg))
        samples.append((time.perf_counter() - started) * 1000)
    return statuses, used, samples


def run_coverage(
    api: InProcessApi, demo: DemoStore, template: Mapping[str, Any], resources: LocalResources
) -> int:
    """Measure and print every coverage case; returns how many failed (over budget or a wrong status)."""
    bench = Bench(api, demo, template, resources)
    logger.setLevel("ERROR")  # built before the bench set its level; dead-letter rows warn on purpose
    failures = 0
    print(f"\nEvery path ({COVER_RUNS} warm runs unless noted):")
    print(f"{'path':64} {'status':>6} {'calls':>5} {'budget':>6}  {'p50 ms':>7} {'p95 ms':>7}  operations")
    areas = tuple(filter(None, os.environ.get("BENCH_COVER_AREAS", ",".join(AREAS)).split(",")))
    for case in all_cases(areas):
        case.setup(bench)
        statuses, used, samples = _measure(bench, case)
        total = sum(used.values())
        wrong = sorted({s for s in statuses if s != case.expect})
        over = case.budget is not None and total > case.budget
        flags = ("  OVER BUDGET" if over else "") + (f"  ANSWERED {wrong}" if wrong else "")
        failures += bool(flags)
        p50 = statistics.median(samples)
        p95 = statistics.quantiles(samples, n=20)[-1] if len(samples) > 1 else samples[0]
        budget = "-" if case.budget is None else str(case.budget)
        ops = ", ".join(f"{op} x{n}" for op, n in sorted(used.items())) or "-"
        print(f"{case.name:64} {statuses[0]:>6} {total:>5} {budget:>6}  {p50:7.2f} {p95:7.2f}  {ops}{flags}")
    return failures
