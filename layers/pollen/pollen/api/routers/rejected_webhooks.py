"""Admin route for the rejected-webhooks log: signed Shopify webhooks Pollen answered but could not use."""

# No ``from __future__ import annotations``: Powertools reads a route's hints on every request to
# resolve its Depends (pollen.api.deps), and evaluated annotations cost nothing to read again.

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from pollen.api.auth import requires
from pollen.api.deps import MerchantId, Services
from pollen.domain.api_keys import Scope
from pollen.services import rejected_webhooks
from pollen.views.webhooks import RejectedWebhookPage

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]


@router.get(
    "/v1/admin/shopify/rejected-webhooks",
    summary="Signed Shopify webhooks Pollen could not use (answered 200, kept 30 days), newest first",
)
@requires(Scope.ADMIN)
def list_rejected_webhooks(
    c: Services,
    merchant_id: MerchantId,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> RejectedWebhookPage:
    return rejected_webhooks.page(c, merchant_id, limit=limit, cursor=cursor)
