"""The analytics aggregator reads an order item's image without the order aggregate's models
(pollen.storage.order_images): it must read what the full OrderRecord reads, for every shape of order
item it is shown."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from pollen.domain.orders import Attribution, OrderData, OrderFacts, OrderRecord
from pollen.services.analytics import order_image_event
from pollen.storage.order_images import parse_order_image
from pollen.storage.orders import order_item, parse_order_item

ROOT = Path(__file__).resolve().parents[2]
AT = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
DATA = OrderData(
    order_id="o1",
    email="buyer@example.com",
    currency="EUR",
    total=Decimal("59.90"),
    created_at=datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
)
COUPON = Attribution(source="redemption", channel="widget", code="POLLEN-1", discount_amount=Decimal("5"))
REFERRAL = Attribution(source="referral", referrer_customer_id="c-9")

SHAPES = {
    "first write with data": OrderRecord(
        order_id="o1", facts=OrderFacts(data=DATA), customer_id="c1", version=1, updated_at=AT
    ),
    "a later write": OrderRecord(
        order_id="o1", facts=OrderFacts(data=DATA, paid=True), version=3, data_since=1, updated_at=AT
    ),
    "attributed": OrderRecord(
        order_id="o1",
        facts=OrderFacts(data=DATA),
        customer_id="c1",
        version=2,
        data_since=2,
        updated_at=AT,
        attributions=[COUPON, REFERRAL],
    ),
    "no data yet": OrderRecord(order_id="o1", facts=OrderFacts(paid=True), version=1, updated_at=AT),
    "no total": OrderRecord(
        order_id="o1",
        facts=OrderFacts(data=DATA.model_copy(update={"total": None})),
        version=1,
        updated_at=AT,
    ),
    "a guest's": OrderRecord(order_id="o1", facts=OrderFacts(data=DATA), version=1, updated_at=AT),
}


def _legacy(item: dict[str, object]) -> dict[str, object]:
    """An item written before order items kept ``data_since``."""
    return {k: v for k, v in item.items() if k != "data_since"}


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("legacy", [False, True])
def test_the_image_reads_what_the_order_aggregate_reads(shape: str, legacy: bool) -> None:
    item = order_item("m1", SHAPES[shape])
    if legacy:
        item = _legacy(item)
    full, light = parse_order_item(item), parse_order_image(item)
    assert (light.order_id, light.version, light.customer_id, light.updated_at) == (
        full.order_id,
        full.version,
        full.customer_id,
        full.updated_at,
    )
    assert light.first_data_version == full.data_since
    data = full.facts.data
    assert (light.facts.data is None) == (data is None)
    if data is not None and light.facts.data is not None:
        assert (light.facts.data.currency, light.facts.data.total, light.facts.data.created_at) == (
            data.currency,
            data.total,
            data.created_at,
        )
    kept = [a.model_dump(mode="json", exclude_defaults=True) for a in full.attributions]
    assert light.attributions == kept


def test_an_attributed_order_s_fact_names_its_sources() -> None:
    event = order_image_event(order_item("m1", SHAPES["attributed"]))
    assert event is not None
    assert (event.event_id, event.customer_id, event.occurred_at) == ("o1.v2", "c1", AT)
    assert (event.payload["total"], event.payload["currency"]) == ("59.90", "EUR")
    assert [(a["source"], a.get("channel")) for a in event.payload["attributions"]] == [
        ("redemption", "widget"),
        ("referral", None),
    ]
    assert order_image_event(order_item("m1", SHAPES["a later write"])) is None  # counted by version 1
    assert order_image_event(_legacy(order_item("m1", SHAPES["a later write"]))) is not None  # its marker


def test_the_aggregator_does_not_load_the_order_aggregate() -> None:
    probe = "import sys\nimport app\nprint('pollen.domain.orders' in sys.modules)"
    paths = [str(ROOT / "functions" / "analytics_aggregator"), str(ROOT / "layers" / "pollen"), str(ROOT)]
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT / "functions" / "analytics_aggregator",
        env={"PYTHONPATH": ":".join(paths), "AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        check=True,
    )
    assert out.stdout.decode().strip() == "False"
