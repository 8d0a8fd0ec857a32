"""Onboarding a merchant: the merchant record, its program and (optionally) its Shopify link."""

from __future__ import annotations

from datetime import datetime

from pollen.domain.errors import Conflict
from pollen.domain.merchants import Merchant, ShopifyConnection
from pollen.domain.program import Program, ProgramSettings
from pollen.events.envelope import OutboxEvent
from pollen.services.container import Container
from pollen.storage.errors import ConditionFailed
from pollen.storage.merchant_config import merchant_item, program_item, shopify_item


def onboard_merchant(
    c: Container,
    merchant: Merchant,
    settings: ProgramSettings,
    *,
    shopify: ShopifyConnection | None = None,
    now: datetime,
) -> Program:
    program = Program(**settings.model_dump(), version=1, updated_at=now)
    tx = c.table.transaction()
    tx.put(merchant_item(merchant), label="merchant", condition="attribute_not_exists(PK)")
    tx.put(program_item(merchant.merchant_id, program), label="program")
    if shopify is not None:
        tx.put(shopify_item(merchant.merchant_id, shopify), label="shopify")
    tx.put(
        OutboxEvent(
            event_type="merchant_created",
            merchant_id=merchant.merchant_id,
            occurred_at=now,
            payload={"name": merchant.name},
        ).to_item(),
        label="event",
    )
    try:
        tx.commit()
    except ConditionFailed as exc:
        raise Conflict(f"Merchant {merchant.merchant_id!r} already exists.") from exc
    finally:
        c.config.invalidate(merchant.merchant_id)
    return program
