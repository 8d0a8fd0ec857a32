"""Onboarding a merchant: the merchant record, its program and (optionally) its Shopify link."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from pollen.domain.errors import Conflict, FieldError, NotFound, RetryableConflict, ValidationFailed
from pollen.services.container import Container
from pollen.storage.errors import ConditionFailed

if TYPE_CHECKING:  # the config's models load with the config store, on the first read
    from pollen.domain.merchants import Merchant, ShopifyConnection
    from pollen.domain.program import Program, ProgramSettings
    from pollen.storage.merchant_config import MerchantConfig


def merchant_config(c: Container, merchant_id: str) -> MerchantConfig:
    """The merchant's cached config partition, or a 404 when there is no such merchant."""
    config = c.config.get(merchant_id)
    if config is None:
        raise NotFound("This merchant does not exist.")
    return config


def onboard_merchant(
    c: Container,
    merchant: Merchant,
    settings: ProgramSettings,
    *,
    shopify: ShopifyConnection | None = None,
    now: datetime,
) -> Program:
    from pollen.domain.program import Program  # noqa: PLC0415 - write path only
    from pollen.events.internal import MerchantCreatedPayload  # noqa: PLC0415

    program = Program(**settings.model_dump(), version=1, updated_at=now)
    uow = c.units.begin(merchant.merchant_id)
    uow.merchants.add(merchant, program, shopify)
    uow.emit("merchant_created", MerchantCreatedPayload(name=merchant.name), customer_id=None, now=now)
    try:
        uow.commit()
    except ConditionFailed as exc:
        raise Conflict(f"Merchant {merchant.merchant_id!r} already exists.") from exc
    finally:
        c.config.invalidate(merchant.merchant_id)
    return program


def connect_shopify(
    c: Container, merchant_id: str, connection: ShopifyConnection, *, now: datetime
) -> tuple[ShopifyConnection, bool]:
    """Connect (or reconnect) the merchant's Shopify shop; returns it and whether it is new.

    A shop belongs to one merchant: a domain another merchant holds is a 409. An omitted admin
    token keeps the stored one, so the webhook secret can be rotated without re-entering it."""
    # The write path's modules: the readers of the merchant config (every customer token) skip them.
    from pollen.events.internal import ShopifyConnectedPayload  # noqa: PLC0415
    from pollen.integrations.shopify.versions import is_supported, supported_versions  # noqa: PLC0415
    from pollen.services import shop_currency  # noqa: PLC0415

    if not is_supported(connection.api_version, now.date()):
        message = (
            f"Shopify no longer serves (or has not released) API version {connection.api_version}; "
            f"use one of {', '.join(supported_versions(now.date()))}."
        )
        raise ValidationFailed(message, errors=[FieldError("api_version", message, "unsupported")])
    config = merchant_config(c, merchant_id)
    owner = c.config.merchant_for_shop(connection.shop_domain)
    if owner is not None and owner != merchant_id:
        raise Conflict("This Shopify shop is connected to another Pollen store.")
    previous = config.shopify
    if connection.admin_access_token is None and previous is not None:
        connection = connection.model_copy(update={"admin_access_token": previous.admin_access_token})
    program = config.program
    currency = None
    if program is not None:  # the shop's currency against the program's (services/shop_currency.py)
        currency = shop_currency.check(c, merchant_id, connection, program, now=now)
        connection = connection.model_copy(
            update={"currency_check": currency.status, "currency_check_detail": currency.detail}
        )
    uow = c.units.begin(merchant_id)
    uow.merchants.connect_shopify(connection)
    if currency is not None and program is not None:
        currency.stage(uow, program)
    payload = ShopifyConnectedPayload(shop_domain=connection.shop_domain, api_version=connection.api_version)
    uow.emit("shopify_connected", payload, customer_id=None, now=now)
    try:
        uow.commit()
    except ConditionFailed as exc:  # the program changed while its currency was being adopted
        raise RetryableConflict("The program was changed concurrently; connect again.") from exc
    finally:
        c.config.invalidate(merchant_id)
    for domain in {connection.shop_domain, previous.shop_domain if previous else connection.shop_domain}:
        c.config.forget_shop(domain)
    return connection, previous is None


def get_shopify(c: Container, merchant_id: str) -> ShopifyConnection:
    config = c.config.get(merchant_id)
    if config is None or config.shopify is None or config.shopify.redacted_at is not None:
        raise NotFound("Shopify is not connected.")
    return config.shopify
