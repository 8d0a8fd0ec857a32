"""Admin API: health, API keys and program settings (admin scope unless marked public)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from pollen import __version__
from pollen.api.app import create_app, principal
from pollen.api.auth import public, requires
from pollen.api.schemas.api_keys import ApiKeyList, ApiKeyView, CreateApiKeyRequest, CreatedApiKey, KeyId
from pollen.api.schemas.health import Health
from pollen.api.schemas.program import ProgramView, parse_if_match
from pollen.clock import utcnow
from pollen.domain.api_keys import Scope
from pollen.domain.program import ProgramSettings
from pollen.observability import lambda_entry, metrics
from pollen.services import api_keys, program
from pollen.services.container import container

app = create_app(title="Pollen Admin API")


@app.get("/v1/health", summary="Liveness check (no key needed)")
@public
def health() -> Health:
    return Health(status="ok", version=__version__, time=utcnow())


@app.post("/v1/admin/api-keys", summary="Create an API key (shown once)", responses={201: {}})
@requires(Scope.ADMIN)
def create_api_key(body: Annotated[CreateApiKeyRequest, Body()]) -> Response[CreatedApiKey]:
    key, plaintext = api_keys.create_key(
        container(), principal(app).merchant_id, name=body.name, scope=body.scope, now=utcnow()
    )
    metrics.add_metric(name="ApiKeysCreated", unit=MetricUnit.Count, value=1)
    created = CreatedApiKey(**ApiKeyView.of(key).model_dump(), key=plaintext)
    return Response(
        status_code=201,
        content_type="application/json",
        body=created,
        headers={"Cache-Control": "no-store", "Location": f"/v1/admin/api-keys/{key.key_id}"},
    )


@app.get("/v1/admin/api-keys", summary="List API keys (masked)")
@requires(Scope.ADMIN)
def list_api_keys() -> ApiKeyList:
    keys = api_keys.list_keys(container(), principal(app).merchant_id)
    return ApiKeyList(items=[ApiKeyView.of(k) for k in keys])


@app.delete("/v1/admin/api-keys/<key_id>", summary="Revoke an API key", responses={204: {}})
@requires(Scope.ADMIN)
def revoke_api_key(key_id: Annotated[KeyId, Path()]) -> Response[None]:
    api_keys.revoke_key(container(), principal(app).merchant_id, key_id, now=utcnow())
    metrics.add_metric(name="ApiKeysRevoked", unit=MetricUnit.Count, value=1)
    return Response(status_code=204)


def _program_response(view: ProgramView) -> Response[ProgramView]:
    return Response(
        status_code=200, content_type="application/json", body=view, headers={"ETag": f'"{view.version}"'}
    )


@app.get("/v1/admin/program", summary="Read the program settings")
@requires(Scope.ADMIN)
def get_program() -> Response[ProgramView]:
    current = program.get_program(container(), principal(app).merchant_id)
    return _program_response(ProgramView.of(current))


@app.put("/v1/admin/program", summary="Replace the program settings (If-Match for safe concurrent edits)")
@requires(Scope.ADMIN)
def put_program(
    body: Annotated[ProgramSettings, Body()],
    if_match: Annotated[str | None, Header(alias="if-match")] = None,
) -> Response[ProgramView]:
    updated = program.update_program(
        container(), principal(app).merchant_id, body, now=utcnow(), expected_version=parse_if_match(if_match)
    )
    metrics.add_metric(name="ProgramUpdates", unit=MetricUnit.Count, value=1)
    return _program_response(ProgramView.of(updated))


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
