"""Admin routes for the delivery log and the dead-letter queue (what failed, why; replay)."""

# No ``from __future__ import annotations``: Powertools reads a route's hints on every request to
# resolve its Depends (pollen.api.deps), and evaluated annotations cost nothing to read again.

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from aws_lambda_powertools.metrics import MetricUnit

from pollen.api.auth import requires
from pollen.api.deps import MerchantId, Services
from pollen.api.schemas.deliveries import DeliveryPage, ReplayRequest
from pollen.clock import utcnow
from pollen.domain.api_keys import Scope
from pollen.domain.deliveries import DeliveryStatus
from pollen.observability import metrics
from pollen.services import dead_letters
from pollen.views.deliveries import DeadLetterList, ReplayResult

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]


@router.get("/v1/admin/deliveries", summary="The delivery log, newest first (attempts included)")
@requires(Scope.ADMIN)
def list_deliveries(
    c: Services,
    merchant_id: MerchantId,
    status: Annotated[DeliveryStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> DeliveryPage:
    page = c.deliveries.page(merchant_id, status=status, limit=limit, cursor=cursor)
    return DeliveryPage(items=page.items, next_cursor=page.next_cursor)


@router.get("/v1/admin/deliveries/dead-letters", summary="What sits in the dead-letter queue, with reasons")
@requires(Scope.ADMIN)
def list_dead_letters(c: Services, merchant_id: MerchantId) -> DeadLetterList:
    return dead_letters.list_dead_letters(c, merchant_id)


@router.post(
    "/v1/admin/deliveries/dead-letters/replay",
    summary="Queue dead letters again (all, or the ids given) with a fresh retry budget",
)
@requires(Scope.ADMIN)
def replay_dead_letters(
    c: Services, merchant_id: MerchantId, body: Annotated[ReplayRequest | None, Body()] = None
) -> ReplayResult:
    ids = body.delivery_ids if body is not None else None
    result = dead_letters.replay(c, merchant_id, ids, now=utcnow())
    metrics.add_metric(name="DeadLettersReplayed", unit=MetricUnit.Count, value=result.replayed)
    return result
