"""Customer-token routes (included by the admin function): tokens minted by the merchant's server
(write key) or from a verified Shopify App Proxy request, and the admin route that rotates the secret
that signs them."""

# No ``from __future__ import annotations``: Powertools reads a route's hints on every request to
# resolve its Depends (pollen.api.deps), and evaluated annotations cost nothing to read again.

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from aws_lambda_powertools.metrics import MetricUnit

from pollen.api.auth import public, requires
from pollen.api.deps import MerchantId, Services
from pollen.api.schemas.customer_tokens import CustomerToken, KeyringView, MintTokenRequest, RotateRequest
from pollen.clock import utcnow
from pollen.domain.api_keys import Scope
from pollen.observability import metrics
from pollen.services import customer_tokens

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]

_NO_STORE = {"Cache-Control": "no-store"}


@router.post(
    "/v1/customer-tokens",
    summary="Mint a customer token for an app (server keys only; never from the app itself)",
    responses={201: {}},
)
@requires(Scope.WRITE)
def mint_customer_token(
    body: Annotated[MintTokenRequest, Body()], c: Services, merchant_id: MerchantId
) -> Response[CustomerToken]:
    token, expires_at = customer_tokens.mint_token(
        c, merchant_id, body.customer_id, ttl_seconds=body.ttl_seconds, now=utcnow()
    )
    metrics.add_metric(name="CustomerTokensMinted", unit=MetricUnit.Count, value=1)
    return Response(
        status_code=201,
        content_type="application/json",
        body=CustomerToken(token=token, expires_at=expires_at),
        headers=_NO_STORE,
    )


@router.get(
    "/v1/shopify/app-proxy/customer-token",
    summary="A customer token for the shopper signed in on the storefront (Shopify App Proxy signature)",
)
@public
def app_proxy_customer_token(c: Services) -> Response[CustomerToken]:
    raw_query = str(router.current_event.get("rawQueryString") or "")
    token, expires_at = customer_tokens.token_from_app_proxy(c, raw_query, now=utcnow())
    metrics.add_metric(name="CustomerTokensMinted", unit=MetricUnit.Count, value=1)
    return Response(
        status_code=200,
        content_type="application/json",
        body=CustomerToken(token=token, expires_at=expires_at),
        headers=_NO_STORE,
    )


@router.post(
    "/v1/admin/customer-tokens/rotate",
    summary="Rotate the secret that signs customer tokens (old tokens work for the grace period)",
)
@requires(Scope.ADMIN)
def rotate_customer_token_secret(
    c: Services, merchant_id: MerchantId, body: Annotated[RotateRequest | None, Body()] = None
) -> KeyringView:
    grace = (body or RotateRequest()).grace_seconds
    ring = customer_tokens.rotate_secret(c, merchant_id, grace_seconds=grace, now=utcnow())
    return KeyringView.of(ring)
