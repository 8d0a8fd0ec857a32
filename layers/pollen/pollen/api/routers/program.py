"""Admin routes for the loyalty program's settings (If-Match for safe concurrent edits) and its
triggers (coins for actions: sign-up, birthday, a review...)."""

# No ``from __future__ import annotations``: Powertools reads a route's hints on every request to
# resolve its Depends (pollen.api.deps), and evaluated annotations cost nothing to read again.

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from aws_lambda_powertools.metrics import MetricUnit

from pollen.api.auth import requires
from pollen.api.deps import MerchantId, Services
from pollen.api.schemas.headers import parse_if_match
from pollen.api.schemas.program import ProgramView
from pollen.api.schemas.triggers import TriggerList
from pollen.clock import utcnow
from pollen.domain.api_keys import Scope
from pollen.domain.program import ProgramSettings
from pollen.domain.triggers import Trigger, TriggerId, TriggerSettings
from pollen.observability import metrics
from pollen.services import program, triggers

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]


def _program_response(view: ProgramView) -> Response[ProgramView]:
    return Response(
        status_code=200, content_type="application/json", body=view, headers={"ETag": f'"{view.version}"'}
    )


@router.get("/v1/admin/program", summary="Read the program settings")
@requires(Scope.ADMIN)
def get_program(c: Services, merchant_id: MerchantId) -> Response[ProgramView]:
    return _program_response(ProgramView.of(program.get_program(c, merchant_id)))


@router.put("/v1/admin/program", summary="Replace the program settings (If-Match for safe concurrent edits)")
@requires(Scope.ADMIN)
def put_program(
    body: Annotated[ProgramSettings, Body()],
    c: Services,
    merchant_id: MerchantId,
    if_match: Annotated[str | None, Header(alias="if-match")] = None,
) -> Response[ProgramView]:
    updated = program.update_program(
        c, merchant_id, body, now=utcnow(), expected_version=parse_if_match(if_match)
    )
    metrics.add_metric(name="ProgramUpdates", unit=MetricUnit.Count, value=1)
    return _program_response(ProgramView.of(updated))


@router.get("/v1/admin/triggers", summary="List triggers")
@requires(Scope.ADMIN)
def list_triggers(c: Services, merchant_id: MerchantId) -> TriggerList:
    return TriggerList(items=triggers.list_triggers(c, merchant_id))


@router.get("/v1/admin/triggers/<trigger_id>", summary="Read a trigger")
@requires(Scope.ADMIN)
def get_trigger(trigger_id: Annotated[TriggerId, Path()], c: Services, merchant_id: MerchantId) -> Trigger:
    return triggers.get_trigger(c, merchant_id, trigger_id)


@router.put("/v1/admin/triggers/<trigger_id>", summary="Create or replace a trigger", responses={201: {}})
@requires(Scope.ADMIN)
def put_trigger(
    trigger_id: Annotated[TriggerId, Path()],
    body: Annotated[TriggerSettings, Body()],
    c: Services,
    merchant_id: MerchantId,
) -> Response[Trigger]:
    trigger, created = triggers.put_trigger(c, merchant_id, trigger_id, body, now=utcnow())
    return Response(status_code=201 if created else 200, content_type="application/json", body=trigger)


@router.delete("/v1/admin/triggers/<trigger_id>", summary="Delete a trigger", responses={204: {}})
@requires(Scope.ADMIN)
def delete_trigger(
    trigger_id: Annotated[TriggerId, Path()], c: Services, merchant_id: MerchantId
) -> Response[None]:
    triggers.delete_trigger(c, merchant_id, trigger_id)
    return Response(status_code=204)
