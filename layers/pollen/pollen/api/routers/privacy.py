"""Privacy: the exports answering Shopify's ``customers/data_request`` (admin scope)."""

# No ``from __future__ import annotations``: Powertools reads a route's hints on every request to
# resolve its Depends (pollen.api.deps), and evaluated annotations cost nothing to read again.

from datetime import datetime
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import StringConstraints

from pollen.api.auth import requires
from pollen.api.deps import MerchantId, Services
from pollen.domain.api_keys import Scope
from pollen.model import BaseModel

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]

RequestId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,128}$")]


class DataExport(BaseModel):
    request_id: str
    created_at: datetime
    export: dict[str, Any]


@router.get(
    "/v1/admin/privacy/data-requests/<request_id>",
    summary="What Pollen holds about a customer, collected for a Shopify customers/data_request",
)
@requires(Scope.ADMIN)
def get_data_request(
    request_id: Annotated[RequestId, Path()], c: Services, merchant_id: MerchantId
) -> DataExport:
    from pollen.services import privacy  # noqa: PLC0415 - rarely used: the order and coupon models on use

    item = privacy.data_export(c, merchant_id, request_id)
    return DataExport(request_id=item["request_id"], created_at=item["created_at"], export=item["export"])
