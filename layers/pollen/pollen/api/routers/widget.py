"""Storefront widget settings (included by the admin function): the merchant edits them with an admin
key (``GET/PUT /v1/admin/widget``, If-Match); the widget reads them with the app key
(``GET /v1/widget/settings``: cacheable, nothing about any customer)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Header
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from pollen.api.app import principal
from pollen.api.auth import requires
from pollen.api.schemas.headers import parse_if_match
from pollen.api.schemas.widget import PublicWidgetSettings, WidgetSettingsView
from pollen.clock import utcnow
from pollen.domain.api_keys import Scope
from pollen.domain.widget import WidgetSettings
from pollen.services import widget
from pollen.services.container import container

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]

# Shops' pages read this on every view: browsers may keep it a minute (a change shows within that).
PUBLIC_CACHE = "public, max-age=60"


def _admin_response(view: WidgetSettingsView) -> Response[WidgetSettingsView]:
    return Response(
        status_code=200,
        content_type="application/json",
        body=view,
        headers={"ETag": f'"{view.version}"', "Cache-Control": "no-store"},
    )


@router.get("/v1/admin/widget", summary="Read the storefront widget's settings")
@requires(Scope.ADMIN)
def get_widget_settings() -> Response[WidgetSettingsView]:
    stored = widget.get_settings(container(), principal(router).merchant_id)
    return _admin_response(WidgetSettingsView.of(stored))


@router.put(
    "/v1/admin/widget",
    summary="Replace the storefront widget's settings (If-Match for safe concurrent edits)",
)
@requires(Scope.ADMIN)
def put_widget_settings(
    body: Annotated[WidgetSettings, Body()],
    if_match: Annotated[str | None, Header(alias="if-match")] = None,
) -> Response[WidgetSettingsView]:
    stored = widget.update_settings(
        container(),
        principal(router).merchant_id,
        body,
        now=utcnow(),
        expected_version=parse_if_match(if_match),
    )
    return _admin_response(WidgetSettingsView.of(stored))


@router.get("/v1/widget/settings", summary="The widget's colours, position, texts, languages and sections")
@requires(Scope.PUBLIC)
def get_public_widget_settings() -> Response[PublicWidgetSettings]:
    stored = widget.get_settings(container(), principal(router).merchant_id)
    return Response(
        status_code=200,
        content_type="application/json",
        body=PublicWidgetSettings.of(stored),
        headers={"ETag": f'"{stored.version}"', "Cache-Control": PUBLIC_CACHE},
    )
