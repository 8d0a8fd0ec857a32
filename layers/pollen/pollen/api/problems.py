"""RFC 9457 problem details: the one shape every error leaves in."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from pydantic import ConfigDict, Field

from pollen.model import BaseModel

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:pollen:problem:"


class ProblemFieldError(BaseModel):
    model_config = ConfigDict(frozen=True)

    field: str = Field(description="Dotted path of the offending field, e.g. `earning.coins_per_unit`.")
    location: str = Field(description="Where the field is: body, query, path or header.")
    message: str
    type: str


class Problem(BaseModel):
    model_config = ConfigDict(frozen=True)

    type: str = Field(description="A URN naming the kind of problem; stable, safe to branch on.")
    title: str
    status: int
    detail: str
    errors: list[ProblemFieldError] = Field(default_factory=list)


def problem_response(
    *,
    status: int,
    slug: str,
    title: str,
    detail: str,
    errors: list[ProblemFieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[str]:
    problem = Problem(
        type=f"{TYPE_PREFIX}{slug}", title=title, status=status, detail=detail, errors=errors or []
    )
    return Response(
        status_code=status,
        content_type=PROBLEM_CONTENT_TYPE,
        body=problem.model_dump_json(),
        headers=headers,
    )
