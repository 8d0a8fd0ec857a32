"""Admin API for VIP tiers: the tier program (If-Match), member counts, and the re-evaluation job's status."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Header
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import Field

from pollen.api.app import principal
from pollen.api.auth import requires
from pollen.api.schemas.headers import parse_if_match
from pollen.clock import utcnow
from pollen.domain.api_keys import Scope
from pollen.domain.tiers import TierProgram, TierProgramSettings
from pollen.model import BaseModel
from pollen.observability import metrics
from pollen.services import tiers
from pollen.services.container import container
from pollen.storage.tiers import JobStatus

router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves Router.__init__ unannotated


def _merchant_id() -> str:
    return principal(router).merchant_id


class TierProgramView(TierProgramSettings):
    """The tier program with its version (the ETag), last change, and members per tier now."""

    version: int = Field(description="0 while the merchant has no tier program.")
    updated_at: datetime | None
    members: dict[str, int] = Field(description="Customers holding each tier, by tier_id.")


class TierJobView(BaseModel):
    program_version: int
    state: str = Field(description="idle | running | done")
    evaluated: int = Field(description="Customers re-evaluated so far against program_version.")
    changed: int = Field(description="Of which changed tier.")
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, status: JobStatus) -> TierJobView:
        return cls.model_validate(status.model_dump(exclude={"shard", "cursor"}))


def _members(merchant_id: str, program: TierProgram | None) -> dict[str, int]:
    """Members of each tier the program has (0 for none yet)."""
    if program is None or not program.tiers:
        return {}
    counts = tiers.member_counts(container(), merchant_id)
    return {tier.tier_id: counts.get(tier.tier_id, 0) for tier in program.tiers}


def _view(merchant_id: str, program: TierProgram | None) -> Response[TierProgramView]:
    settings = program.model_dump(exclude={"version", "updated_at"}) if program else {}
    view = TierProgramView(
        **TierProgramSettings.model_validate(settings).model_dump(),
        version=program.version if program else 0,
        updated_at=program.updated_at if program else None,
        members=_members(merchant_id, program),
    )
    return Response(
        status_code=200, content_type="application/json", body=view, headers={"ETag": f'"{view.version}"'}
    )


@router.get("/v1/admin/tiers", summary="Read the VIP tier program, with members per tier")
@requires(Scope.ADMIN)
def get_tiers() -> Response[TierProgramView]:
    merchant_id = _merchant_id()
    return _view(merchant_id, tiers.get_tiers(container(), merchant_id))


@router.put(
    "/v1/admin/tiers",
    summary="Replace the VIP tier program (If-Match); members are re-evaluated in the background",
)
@requires(Scope.ADMIN)
def put_tiers(
    body: Annotated[TierProgramSettings, Body()],
    if_match: Annotated[str | None, Header(alias="if-match")] = None,
) -> Response[TierProgramView]:
    merchant_id = _merchant_id()
    program = tiers.put_tier_program(
        container(), merchant_id, body, now=utcnow(), expected_version=parse_if_match(if_match)
    )
    metrics.add_metric(name="TierProgramUpdates", unit=MetricUnit.Count, value=1)
    return _view(merchant_id, program)


@router.get("/v1/admin/tiers/status", summary="Progress of re-evaluating members after a program change")
@requires(Scope.ADMIN)
def get_tiers_status() -> TierJobView:
    return TierJobView.of(tiers.job_status(container(), _merchant_id()))
