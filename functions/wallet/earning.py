"""Earning outside orders: a trigger's coins for a customer, and the program as apps show it."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Header, Path
from aws_lambda_powertools.metrics import MetricUnit

from pollen.api.app import principal
from pollen.api.auth import for_customer, requires
from pollen.api.schemas.headers import IdempotencyKey
from pollen.api.schemas.program import PublicProgram
from pollen.clock import utcnow
from pollen.domain.api_keys import Scope
from pollen.domain.customers import CustomerId
from pollen.domain.triggers import TriggerId
from pollen.observability import metrics
from pollen.services import triggers
from pollen.services.container import container
from pollen.services.idempotency import Idempotency
from pollen.services.ledger import Operated
from pollen.services.program import get_program

router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves Router.__init__ unannotated


@router.post(
    "/v1/customers/<customer_id>/triggers/<trigger_id>",
    summary="Award a trigger's coins (409 when its frequency forbids it)",
    responses={201: {}},
)
@for_customer(Scope.WRITE)
def award_trigger(
    customer_id: Annotated[CustomerId, Path()],
    trigger_id: Annotated[TriggerId, Path()],
    idempotency_key: Annotated[IdempotencyKey | None, Header(alias="idempotency-key")] = None,
) -> Response[Operated]:
    idempotency = (
        Idempotency("trigger", idempotency_key, {"customer_id": customer_id, "trigger_id": trigger_id})
        if idempotency_key
        else None
    )
    caller = principal(router)
    status, result = triggers.award_trigger(
        container(),
        caller.merchant_id,
        customer_id,
        trigger_id,
        now=utcnow(),
        idempotency=idempotency,
        by_customer=caller.acts_as_customer,
    )
    metrics.add_metric(name="TriggersAwarded", unit=MetricUnit.Count, value=1)
    return Response(status_code=status, content_type="application/json", body=result)


@router.get(
    "/v1/program", summary="The program as apps show it: currency, coin value, earning, expiry, triggers"
)
@requires(Scope.PUBLIC)
def get_public_program() -> PublicProgram:
    c, merchant_id = container(), principal(router).merchant_id
    return PublicProgram.of(get_program(c, merchant_id), triggers.list_triggers(c, merchant_id))
