"""Referrals API: program settings (admin), invitations, the referral page, history, share tracking,
and the admin lists of referrals."""

from __future__ import annotations

import gc

gc.disable()  # no cyclic collection while init imports: it finds nothing (docs/design.md, "Cold start")

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

import pollen.services.customer_tokens  # noqa: F401 - customer routes verify a customer token: at init
from pollen.api.app import create_app, principal
from pollen.api.auth import for_customer
from pollen.api.schemas.referrals import (
    InviteBody,
    ReferralPage,
    ReferralPageView,
    ReferralStats,
    ReferralView,
    ShareBody,
)
from pollen.clock import utcnow
from pollen.domain.api_keys import Scope
from pollen.domain.customers import CustomerId
from pollen.observability import lambda_entry, metrics
from pollen.services import referrals
from pollen.services.container import container

app = create_app(title="Pollen Referrals API")

# The admin routes (program settings, the store's referrals): included by the first request under them.
app.include_lazily(
    f"{__package__}.admin" if __package__ else "admin", "/v1/admin/referral-program", "/v1/admin/referrals"
)


@app.get("/v1/customers/<customer_id>/referral", summary="The customer's referral code, share URL and stats")
@for_customer(Scope.READ)
def referral_page(customer_id: Annotated[CustomerId, Path()]) -> ReferralPageView:
    c, merchant_id = container(), principal(app).merchant_id
    profile = referrals.referral_page(c, merchant_id, customer_id, now=utcnow())
    assert profile.code is not None
    return ReferralPageView(
        customer_id=customer_id,
        code=profile.code,
        share_url=referrals.share_url(c, merchant_id, profile.code),
        enabled=referrals.get_settings(c, merchant_id).enabled,
        stats=ReferralStats.model_validate(referrals.stats(profile)),
    )


@app.post(
    "/v1/customers/<customer_id>/referrals",
    summary="Invite a friend by email or phone",
    responses={201: {}},
)
@for_customer(Scope.WRITE)
def invite(
    customer_id: Annotated[CustomerId, Path()], body: Annotated[InviteBody, Body()]
) -> Response[ReferralView]:
    referral = referrals.invite(
        container(),
        principal(app).merchant_id,
        customer_id,
        email=body.email,
        phone=body.phone,
        name=body.name,
        device_id=body.device_id,
        now=utcnow(),
    )
    metrics.add_metric(name="ReferralInvites", unit=MetricUnit.Count, value=1)
    return Response(status_code=201, content_type="application/json", body=ReferralView.of(referral))


@app.get("/v1/customers/<customer_id>/referrals", summary="The friends a customer referred, newest first")
@for_customer(Scope.READ)
def list_customer_referrals(
    customer_id: Annotated[CustomerId, Path()],
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> ReferralPage:
    page = referrals.history(container(), principal(app).merchant_id, customer_id, limit=limit, cursor=cursor)
    return ReferralPage(items=[ReferralView.of(r) for r in page.items], next_cursor=page.next_cursor)


@app.post(
    "/v1/customers/<customer_id>/referral/shares",
    summary="Count a share of the referral link (by channel)",
    responses={204: {}},
)
@for_customer(Scope.WRITE)
def track_share(
    customer_id: Annotated[CustomerId, Path()], body: Annotated[ShareBody, Body()]
) -> Response[None]:
    referrals.track_share(
        container(), principal(app).merchant_id, customer_id, body.channel, body.device_id, now=utcnow()
    )
    return Response(status_code=204)


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


gc.enable()
gc.freeze()  # what init built stays: the collector never walks it again
