"""The referral program's settings and the store's referrals, for the merchant."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query

from pollen.api.app import principal
from pollen.api.auth import requires
from pollen.api.schemas.headers import parse_if_match
from pollen.api.schemas.referral_admin import AdminReferralPage, AdminReferralView, ReferralSettingsView
from pollen.clock import utcnow
from pollen.domain.api_keys import Scope
from pollen.domain.referrals import ReferralSettings, ReferralStatus
from pollen.services import referrals
from pollen.services.container import container

router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves Router.__init__ unannotated

ReferralId = Annotated[str, Path(pattern=r"^[0-9A-Z]{26}$")]


def _settings_response(view: ReferralSettingsView) -> Response[ReferralSettingsView]:
    return Response(
        status_code=200, content_type="application/json", body=view, headers={"ETag": f'"{view.version}"'}
    )


@router.get("/v1/admin/referral-program", summary="Read the referral program settings")
@requires(Scope.ADMIN)
def get_referral_program() -> Response[ReferralSettingsView]:
    current = referrals.get_settings(container(), principal(router).merchant_id)
    return _settings_response(ReferralSettingsView.of(current))


@router.put(
    "/v1/admin/referral-program",
    summary="Replace the referral program settings (If-Match for safe concurrent edits)",
)
@requires(Scope.ADMIN)
def put_referral_program(
    body: Annotated[ReferralSettings, Body()],
    if_match: Annotated[str | None, Header(alias="if-match")] = None,
) -> Response[ReferralSettingsView]:
    updated = referrals.update_settings(
        container(),
        principal(router).merchant_id,
        body,
        now=utcnow(),
        expected_version=parse_if_match(if_match),
    )
    return _settings_response(ReferralSettingsView.of(updated))


@router.get("/v1/admin/referrals", summary="Referrals of the store, newest first, by status")
@requires(Scope.ADMIN)
def list_referrals(
    status: Annotated[ReferralStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> AdminReferralPage:
    page = referrals.admin_list(
        container(), principal(router).merchant_id, status, limit=limit, cursor=cursor
    )
    return AdminReferralPage(
        items=[AdminReferralView.of(r) for r in page.items], next_cursor=page.next_cursor
    )


@router.get("/v1/admin/referrals/<referral_id>", summary="One referral: who referred whom, rewards, reason")
@requires(Scope.ADMIN)
def get_referral(referral_id: ReferralId) -> AdminReferralView:
    return AdminReferralView.of(referrals.admin_get(container(), principal(router).merchant_id, referral_id))
