"""The cost report's estimate on Lambda itself (infra/cost.py): CPU time at the memory's share of a
vCPU, plus the waits the timed rounds played."""

from __future__ import annotations

from decimal import Decimal

from infra import cost


def _life(*, cpu_ms: int, waited_ms: float, memory_mb: int, orders: int = 10) -> cost.OrderLife:
    step = cost.Step(
        "integration_delivery (SQS)", cost.DELIVERY, ingress="event", invocations=2, records=orders
    )
    step.billed_ms, step.waited_ms = [cpu_ms], [waited_ms]
    return cost.OrderLife([step], orders=orders, memory_mb={cost.DELIVERY: memory_mb}, batch_size={})


def _gb_s(priced: cost.Priced) -> cost.Line:
    (line,) = [line for line in priced.lines if line.what.startswith("Lambda GB-s")]
    return line


def test_one_vcpu_at_1769_mb_and_in_proportion_below() -> None:
    assert cost.cpu_share(1769) == 1
    assert cost.cpu_share(3538) == 1  # more memory: no faster than one vCPU for one thread
    assert cost.cpu_share(512).quantize(Decimal("0.001")) == Decimal("3.455")
    assert cost.cpu_share(128).quantize(Decimal("0.01")) == Decimal("13.82")


def test_the_estimate_bills_cpu_at_the_share_and_the_waits_as_they_were() -> None:
    life = _life(cpu_ms=73, waited_ms=410.0, memory_mb=512)

    figure, estimate = _gb_s(cost.price(life)), _gb_s(cost.price(life, on_lambda=True))

    assert figure.what == "Lambda GB-s (7.3 ms x 0.5 GB)"
    assert estimate.what == "Lambda GB-s (66.2 ms x 0.5 GB)"  # 7.3 x 1769/512 = 25.2, + 41.0 of waits
    assert estimate.quantity == Decimal("0.5") * Decimal("66.2") / 1000


def test_a_life_measured_without_waits_estimates_cpu_only() -> None:
    life = _life(cpu_ms=73, waited_ms=0.0, memory_mb=1769)
    life.steps[0].waited_ms = []

    assert _gb_s(cost.price(life, on_lambda=True)).what == "Lambda GB-s (7.3 ms x 1.7275390625 GB)"
    assert cost.lambda_estimate(life)[-1].endswith(
        f"TOTAL {cost.money(cost.price(life).total)} per million orders"
    )
