"""Admin routes for API keys: create (the key is shown once), list (masked) and revoke."""

# No ``from __future__ import annotations``: Powertools reads a route's hints on every request to
# resolve its Depends (pollen.api.deps), and evaluated annotations cost nothing to read again.

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from aws_lambda_powertools.metrics import MetricUnit

from pollen.api.auth import requires
from pollen.api.deps import MerchantId, Services
from pollen.api.schemas.api_keys import ApiKeyList, ApiKeyView, CreateApiKeyRequest, CreatedApiKey, KeyId
from pollen.clock import utcnow
from pollen.domain.api_keys import Scope
from pollen.observability import metrics
from pollen.services import api_keys

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]


@router.post("/v1/admin/api-keys", summary="Create an API key (shown once)", responses={201: {}})
@requires(Scope.ADMIN)
def create_api_key(
    body: Annotated[CreateApiKeyRequest, Body()], c: Services, merchant_id: MerchantId
) -> Response[CreatedApiKey]:
    key, plaintext = api_keys.create_key(c, merchant_id, name=body.name, scope=body.scope, now=utcnow())
    metrics.add_metric(name="ApiKeysCreated", unit=MetricUnit.Count, value=1)
    created = CreatedApiKey(**ApiKeyView.of(key).model_dump(), key=plaintext)
    return Response(
        status_code=201,
        content_type="application/json",
        body=created,
        headers={"Cache-Control": "no-store", "Location": f"/v1/admin/api-keys/{key.key_id}"},
    )


@router.get("/v1/admin/api-keys", summary="List API keys (masked)")
@requires(Scope.ADMIN)
def list_api_keys(c: Services, merchant_id: MerchantId) -> ApiKeyList:
    return ApiKeyList(items=[ApiKeyView.of(k) for k in api_keys.list_keys(c, merchant_id)])


@router.delete("/v1/admin/api-keys/<key_id>", summary="Revoke an API key", responses={204: {}})
@requires(Scope.ADMIN)
def revoke_api_key(key_id: Annotated[KeyId, Path()], c: Services, merchant_id: MerchantId) -> Response[None]:
    api_keys.revoke_key(c, merchant_id, key_id, now=utcnow())
    metrics.add_metric(name="ApiKeysRevoked", unit=MetricUnit.Count, value=1)
    return Response(status_code=204)
