"""The rewards catalogue, for the merchant: list, read, create or replace, delete."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path

from pollen.api.app import principal
from pollen.api.auth import requires
from pollen.clock import utcnow
from pollen.domain.api_keys import Scope
from pollen.domain.rewards import RewardId, RewardSettings
from pollen.services import rewards
from pollen.services.container import container
from pollen.views.rewards import RewardList, RewardView, reward_view

router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves Router.__init__ unannotated


@router.get("/v1/admin/rewards", summary="List the rewards catalogue")
@requires(Scope.ADMIN)
def list_rewards() -> RewardList:
    return RewardList(
        items=[reward_view(r) for r in rewards.list_rewards(container(), principal(router).merchant_id)]
    )


@router.get("/v1/admin/rewards/<reward_id>", summary="Read a reward")
@requires(Scope.ADMIN)
def get_reward(reward_id: Annotated[RewardId, Path()]) -> RewardView:
    return reward_view(rewards.get_reward(container(), principal(router).merchant_id, reward_id))


@router.put("/v1/admin/rewards/<reward_id>", summary="Create or replace a reward", responses={201: {}})
@requires(Scope.ADMIN)
def put_reward(
    reward_id: Annotated[RewardId, Path()], body: Annotated[RewardSettings, Body()]
) -> Response[RewardView]:
    reward, created = rewards.put_reward(
        container(), principal(router).merchant_id, reward_id, body, now=utcnow()
    )
    return Response(
        status_code=201 if created else 200, content_type="application/json", body=reward_view(reward)
    )


@router.delete(
    "/v1/admin/rewards/<reward_id>",
    summary="Delete a reward (issued coupons stay valid)",
    responses={204: {}},
)
@requires(Scope.ADMIN)
def delete_reward(reward_id: Annotated[RewardId, Path()]) -> Response[None]:
    rewards.delete_reward(container(), principal(router).merchant_id, reward_id)
    return Response(status_code=204)
