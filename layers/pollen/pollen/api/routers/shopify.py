"""Admin routes for the Shopify connection (its secrets are write-only)."""

# No ``from __future__ import annotations``: Powertools reads a route's hints on every request to
# resolve its Depends (pollen.api.deps), and evaluated annotations cost nothing to read again.

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from pollen.api.auth import requires
from pollen.api.deps import MerchantId, Services
from pollen.api.schemas.shopify import ShopifyConnectionBody, ShopifyConnectionView
from pollen.clock import utcnow
from pollen.domain.api_keys import Scope
from pollen.domain.merchants import ShopifyConnection
from pollen.services import merchants

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]


@router.put(
    "/v1/admin/shopify", summary="Connect the Shopify shop (secrets are write-only)", responses={201: {}}
)
@requires(Scope.ADMIN)
def put_shopify(
    body: Annotated[ShopifyConnectionBody, Body()], c: Services, merchant_id: MerchantId
) -> Response[ShopifyConnectionView]:
    connection, created = merchants.connect_shopify(
        c, merchant_id, ShopifyConnection(**body.model_dump()), now=utcnow()
    )
    return Response(
        status_code=201 if created else 200,
        content_type="application/json",
        body=ShopifyConnectionView.of(connection),
    )


@router.get("/v1/admin/shopify", summary="The Shopify connection (without its secrets)")
@requires(Scope.ADMIN)
def get_shopify(c: Services, merchant_id: MerchantId) -> ShopifyConnectionView:
    return ShopifyConnectionView.of(merchants.get_shopify(c, merchant_id))
