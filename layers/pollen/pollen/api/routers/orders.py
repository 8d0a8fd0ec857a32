"""Admin route for one order: its coins, status, facts and what a clawback could not take back."""

# No ``from __future__ import annotations``: Powertools reads a route's hints on every request to
# resolve its Depends (pollen.api.deps), and evaluated annotations cost nothing to read again.

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from pollen.api.auth import requires
from pollen.api.deps import MerchantId, Services
from pollen.domain.api_keys import Scope
from pollen.domain.orders import ExternalId
from pollen.views.orders import AdminOrderView

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]


@router.get("/v1/admin/orders/<order_id>", summary="An order's coins, status and clawback shortfall")
@requires(Scope.ADMIN)
def get_order(
    order_id: Annotated[ExternalId, Path()], c: Services, merchant_id: MerchantId
) -> AdminOrderView:
    from pollen.services import orders  # noqa: PLC0415 - rarely used: the order path loads on use

    record = orders.get_order(c, merchant_id, order_id)
    data = record.facts.data
    return AdminOrderView(
        **orders.order_view(record).model_dump(),
        currency=data.currency if data else None,
        total=str(data.total) if data and data.total is not None else None,
        discount_codes=list(data.discount_codes) if data else [],
        paid=record.facts.paid,
        cancelled=record.facts.cancelled,
        confirmed=record.facts.confirmed,
        confirm_on=record.confirm_on,
        refunds=sorted(record.facts.refunds),
        updated_at=record.updated_at,
    )
