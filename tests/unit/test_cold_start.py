"""The cold-start harness (infra/cold_start.py): pairing, medians, kinds and the limit. Timings are
never asserted here (the machine is shared); `make bench` measures them."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra import cold_start
from infra.cold_start import Function, Target

ROOT = Path(__file__).resolve().parents[2]


def test_every_function_is_held_to_the_floor_of_its_kind() -> None:
    found = {f.name: f.kind for f in cold_start.functions()}
    assert set(found) == {p.parent.name for p in (ROOT / "functions").glob("*/app.py")}
    assert found["admin"] == found["wallet"] == found["order_webhooks"] == "http"
    assert found["event_router"] == found["integration_delivery"] == found["scheduled_jobs"] == "stream"
    assert found["dashboard_publisher"] == "stream"  # a custom resource: no HTTP API


def test_the_ratio_is_the_median_of_per_pair_ratios_not_a_ratio_of_medians() -> None:
    # A slow moment that lands on both runs of a pair (the second) cancels out in its ratio.
    result = cold_start.summarise(
        Function("f", "http"), function_ms=[10, 40, 60], floor_ms=[10, 40, 20], bare_ms=[5, 10, 10]
    )
    assert result.ratio == pytest.approx(1.0)  # ratios 1.0, 1.0, 3.0
    assert result.function_ms == 40  # medians of each side: 40/20 would say 2.0
    assert result.floor_ms == 20
    assert result.bare_ratio == pytest.approx(4.0)  # 2, 4, 6
    assert result.within
    with pytest.raises(ValueError, match="every round"):
        cold_start.summarise(Function("f", "http"), [1.0], [1.0, 2.0], [1.0])


def test_rounds_alternate_which_side_of_a_pair_goes_first() -> None:
    order: list[str] = []
    cpu = {"admin": 120.0, "event_router": 100.0, "http": 100.0, "stream": 100.0, "bare": 50.0}

    def run(target: Target) -> float:
        order.append(target.name)
        return cpu[target.name]

    targets = [Function("admin", "http"), Function("event_router", "stream")]
    results, floor_vs_bare = cold_start.measure(targets, run, pairs=2)
    assert order == [
        *("bare", "http", "bare", "stream", "admin", "http", "event_router", "stream"),  # round 0
        *("http", "bare", "stream", "bare", "http", "admin", "stream", "event_router"),  # round 1
    ]
    assert [(r.name, r.ratio, r.within) for r in results] == [
        ("admin", 1.2, False),
        ("event_router", 1.0, True),
    ]
    assert floor_vs_bare == {"http": 2.0, "stream": 2.0}
    assert cold_start.report(results, floor_vs_bare, pairs=2) == 1  # admin is over 1.10


def test_the_parsed_stream_floor_is_measured_in_alternating_pairs(capsys: pytest.CaptureFixture[str]) -> None:
    order: list[str] = []
    cpu = {"stream": 100.0, "stream-parsed": 120.0}

    def run(target: Target) -> float:
        order.append(target.name)
        return cpu[target.name]

    assert cold_start.parsed_floor_gap(run, pairs=2) == pytest.approx(1.2)
    assert order == ["stream", "stream-parsed", "stream-parsed", "stream"]
    results = [cold_start.Result("event_router", "stream", 100, 132, 1.32, 2.3)]
    cold_start.report_parsed_gap(results, 1.2)
    assert "event_router 1.10" in capsys.readouterr().out


def test_the_floors_without_the_collector_give_the_like_for_like_ratios(
    capsys: pytest.CaptureFixture[str],
) -> None:
    codes: dict[str, str] = {}

    def run(target: Target) -> float:
        codes[target.name] = target.code
        return {"http": 100.0, "http-no-gc": 90.0}[target.name]

    assert cold_start.collector_gaps(run, ["http"], pairs=2) == {"http": pytest.approx(0.9)}
    assert codes["http-no-gc"].startswith("import gc\ngc.disable()\nimport http_floor\n")
    results = [cold_start.Result("wallet", "http", 100, 99, 0.99, 2.3)]
    cold_start.report_collector_gaps(results, {"http": 0.9})
    assert "wallet 1.10" in capsys.readouterr().out


def test_every_function_initialises_without_the_collector_and_switches_it_on_after() -> None:
    for function in cold_start.functions():
        if function.name == "dashboard_publisher":  # once per deploy: left as it is
            continue
        source = (cold_start.ROOT / "functions" / function.name / "app.py").read_text()
        head, _, rest = source.partition("gc.disable()")
        assert rest, function.name
        assert "\nfrom " not in head.split("from __future__ import annotations", 1)[1], function.name
        assert source.rstrip().endswith(
            "gc.enable()\ngc.freeze()  # what init built stays: the collector never walks it again"
        )


def test_children_see_the_layer_and_the_runtime_boto3_only() -> None:
    with cold_start.lambda_site() as site:
        names = {p.name for p in site.iterdir()}
    assert {"pydantic", "aws_lambda_powertools", "boto3", "botocore", "httpx"} <= names
    assert not {"pytest", "moto", "rich", "click", "mypy"} & names  # development tools are not in Lambda
