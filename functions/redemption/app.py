"""Redemption API: the rewards catalogue (admin), offers, redeeming coins for coupons, coupons."""

from __future__ import annotations

import gc

gc.disable()  # no cyclic collection while init imports: it finds nothing (docs/design.md, "Cold start")

from decimal import Decimal
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

import pollen.services.customer_tokens  # noqa: F401 - customer routes verify a customer token: at init
from pollen.api.app import create_app, principal
from pollen.api.auth import for_customer
from pollen.api.schemas.headers import IdempotencyKey
from pollen.api.schemas.rewards import (
    CartTotal,
    CouponPage,
    OfferList,
    OfferView,
    RedeemBody,
)
from pollen.clock import utcnow
from pollen.domain.api_keys import Scope
from pollen.domain.coupons import CouponStatus
from pollen.domain.customers import CustomerId
from pollen.observability import lambda_entry, metrics
from pollen.services import redemption, rewards
from pollen.services.container import container
from pollen.services.program import get_program
from pollen.services.redemption import Redeemed, RedeemRequest

app = create_app(title="Pollen Redemption API")

CouponCode = Annotated[str, Path(pattern=r"^[A-Za-z0-9-]{4,40}$")]


# The rewards catalogue's admin routes: imported by the first request under their paths.
app.include_lazily(f"{__package__}.catalogue" if __package__ else "catalogue", "/v1/admin/rewards")


@app.get("/v1/rewards", summary="Rewards a customer can redeem, with eligibility for their balance and cart")
@for_customer(Scope.READ, source="query")
def list_offers(
    customer_id: Annotated[CustomerId | None, Query()] = None,
    cart_total: Annotated[CartTotal | None, Query()] = None,
) -> OfferList:
    c, merchant_id = container(), principal(app).merchant_id
    found = rewards.offers(c, merchant_id, customer_id=customer_id, cart_total=cart_total)
    coin_value: Decimal = get_program(c, merchant_id).coin_value
    return OfferList(items=[OfferView.of(offer, coin_value) for offer in found])


@app.post(
    "/v1/customers/<customer_id>/redemptions",
    summary="Redeem coins for a coupon code (Idempotency-Key honoured)",
    responses={201: {}},
)
@for_customer(Scope.WRITE)
def redeem(
    customer_id: Annotated[CustomerId, Path()],
    body: Annotated[RedeemBody, Body()],
    idempotency_key: Annotated[IdempotencyKey | None, Header(alias="idempotency-key")] = None,
) -> Response[Redeemed]:
    # The write path (receipts with it): imported by the first redemption, with the redeem module.
    from pollen.services.idempotency import Idempotency  # noqa: PLC0415

    idempotency = (
        Idempotency(
            "redemption", idempotency_key, {"customer_id": customer_id, **body.model_dump(mode="json")}
        )
        if idempotency_key
        else None
    )
    status, result = redemption.redeem(
        container(),
        principal(app).merchant_id,
        customer_id,
        RedeemRequest(
            reward_id=body.reward_id, coins=body.coins, cart_total=body.cart_total, channel=body.channel
        ),
        now=utcnow(),
        idempotency=idempotency,
    )
    metrics.add_metric(name="Redemptions", unit=MetricUnit.Count, value=1)
    return Response(status_code=status, content_type="application/json", body=result)


@app.get("/v1/customers/<customer_id>/coupons", summary="A customer's coupons, newest first")
@for_customer(Scope.READ)
def list_coupons(
    customer_id: Annotated[CustomerId, Path()],
    status: Annotated[CouponStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> CouponPage:
    page = redemption.list_coupons(
        container(),
        principal(app).merchant_id,
        customer_id,
        status=status,
        limit=limit,
        cursor=cursor,
        now=utcnow(),
    )
    return CouponPage(items=page.items, next_cursor=page.next_cursor)


@app.delete(
    "/v1/customers/<customer_id>/coupons/<code>",
    summary="Cancel an unused coupon and give its coins back",
)
@for_customer(Scope.WRITE)
def cancel_coupon(customer_id: Annotated[CustomerId, Path()], code: CouponCode) -> Redeemed:
    result = redemption.cancel_coupon(
        container(), principal(app).merchant_id, customer_id, code.strip().upper(), now=utcnow()
    )
    metrics.add_metric(name="CouponsCancelled", unit=MetricUnit.Count, value=1)
    return result


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


gc.enable()
gc.freeze()  # what init built stays: the collector never walks it again
