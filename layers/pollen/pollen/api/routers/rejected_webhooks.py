"""Admin route for the rejected-webhooks log: signed Shopify webhooks Pollen answered but could not use."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from pollen.api.app import principal
from pollen.api.auth import requires
from pollen.domain.api_keys import Scope
from pollen.model import BaseModel
from pollen.services.container import container
from pollen.storage.rejected_webhooks import RejectedWebhook, RejectedWebhookLog

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]


class RejectedWebhookPage(BaseModel):
    items: list[RejectedWebhook]
    next_cursor: str | None


@router.get(
    "/v1/admin/shopify/rejected-webhooks",
    summary="Signed Shopify webhooks Pollen could not use (answered 200, kept 30 days), newest first",
)
@requires(Scope.ADMIN)
def list_rejected_webhooks(
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> RejectedWebhookPage:
    page = RejectedWebhookLog(container().table).page(
        principal(router).merchant_id, limit=limit, cursor=cursor
    )
    return RejectedWebhookPage(items=page.items, next_cursor=page.next_cursor)
