"""A customer's VIP tier: current tier, benefits, expiry, next tier and progress (one DynamoDB call)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path

from pollen.api.app import principal
from pollen.api.auth import for_customer
from pollen.clock import utcnow
from pollen.domain.api_keys import Scope
from pollen.domain.customers import CustomerId
from pollen.services import tier_views as tiers
from pollen.services.container import container

router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves Router.__init__ unannotated


def _merchant_id() -> str:
    return principal(router).merchant_id


@router.get("/v1/customers/<customer_id>/tier", summary="VIP tier, benefits, expiry and progress to the next")
@for_customer(Scope.READ)
def get_customer_tier(customer_id: Annotated[CustomerId, Path()]) -> tiers.CustomerTier:
    return tiers.customer_tier(container(), _merchant_id(), customer_id, utcnow())
