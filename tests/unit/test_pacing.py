"""Klaviyo and Omnisend requests paced to their published limits (pollen.integrations.pacing)."""

from __future__ import annotations

from typing import Any

import pytest

from pollen.clock import utcnow
from pollen.domain.integrations import Integration, IntegrationKind, PrimarySelector
from pollen.integrations import pacing
from pollen.integrations.pacing import BATCHES_AT_ONCE, BURST_SECONDS, Pacer

OMNISEND_RATE = 400 / 60 / BATCHES_AT_ONCE  # this container's share, requests a second


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


def _integration(kind: IntegrationKind, integration_id: str = "tool") -> Integration:
    now = utcnow()
    extra: dict[str, Any] = (
        {"url": "https://hooks.example.com/x", "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
        if kind == IntegrationKind.WEBHOOK
        else {"api_key": "k" * 40, "primary_selector": PrimarySelector.EMAIL}
    )
    return Integration(
        integration_id=integration_id, kind=kind, enabled=True, created_at=now, updated_at=now, **extra
    )


def test_the_share_is_the_template_s_batches_at_once(template: dict[str, Any]) -> None:
    source = template["Resources"]["IntegrationDeliveryFunction"]["Properties"]["Events"]["Deliveries"]
    assert source["Properties"]["ScalingConfig"]["MaximumConcurrency"] == BATCHES_AT_ONCE


def test_a_burst_goes_at_once_then_one_request_per_slot() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    omnisend = _integration(IntegrationKind.OMNISEND)
    burst = int(OMNISEND_RATE * BURST_SECONDS)  # 6 of a 6.67-request bucket

    due = [pacer.wait("m", omnisend) for _ in range(burst + 4)]  # all asked at the same instant

    assert due[:burst] == [0.0] * burst
    slot = 1 / OMNISEND_RATE
    expected = [(k + 1 - OMNISEND_RATE * BURST_SECONDS) / OMNISEND_RATE for k in range(burst, burst + 4)]
    assert due[burst:] == pytest.approx(expected)
    assert clock.slept == pytest.approx(expected)
    assert expected[1] - expected[0] == pytest.approx(slot)  # 0.3 s apart: 400 a minute over 2 batches


def test_time_refills_the_bucket_up_to_its_burst() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    omnisend = _integration(IntegrationKind.OMNISEND)
    for _ in range(7):
        pacer.wait("m", omnisend)
    clock.now += 3600  # an hour idle: a full bucket again, not an hour's worth
    due = [pacer.wait("m", omnisend) for _ in range(7)]
    assert due[:6] == [0.0] * 6
    assert due[6] > 0


def test_each_merchant_and_integration_has_its_own_bucket_and_webhooks_none() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    for _ in range(6):
        pacer.wait("m", _integration(IntegrationKind.OMNISEND))
    assert pacer.wait("other", _integration(IntegrationKind.OMNISEND)) == 0
    assert pacer.wait("m", _integration(IntegrationKind.OMNISEND, "second")) == 0
    assert all(pacer.wait("m", _integration(IntegrationKind.WEBHOOK)) == 0 for _ in range(100))
    klaviyo = _integration(IntegrationKind.KLAVIYO)
    assert all(pacer.wait("m", klaviyo) == 0 for _ in range(58))  # 3,500 a minute: 58 at once
    assert pacer.wait("m", klaviyo) > 0
    assert clock.slept[-1] > 0


def test_a_wait_past_the_limit_is_not_slept_and_leaves_no_debt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pacing, "MAX_WAIT_SECONDS", 0.5)
    clock = Clock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    omnisend = _integration(IntegrationKind.OMNISEND)
    due = [pacer.wait("m", omnisend) for _ in range(20)]
    slept = [d for d in due if 0 < d <= 0.5]
    assert clock.slept == slept
    assert max(due) < 0.5 + 2 / OMNISEND_RATE  # the unpaced ones added no debt for the next
