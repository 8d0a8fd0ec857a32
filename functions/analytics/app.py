"""Analytics: the admin reports over daily rollups (summary, series, CSV export, rebuild) and the
tracking endpoint widgets and apps report what only they see through."""

from __future__ import annotations

import gc

gc.disable()  # no cyclic collection while init imports: it finds nothing (docs/design.md, "Cold start")

from datetime import date
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from pollen.api.app import create_app, principal
from pollen.api.auth import requires
from pollen.api.schemas.analytics import (
    RebuildJob,
    RebuildRequest,
    Series,
    Summary,
    TrackRequest,
    TrackResult,
)
from pollen.clock import utcnow
from pollen.domain.api_keys import Scope
from pollen.domain.errors import Forbidden, Unauthenticated
from pollen.observability import lambda_entry, metrics
from pollen.services import analytics, customer_tokens
from pollen.services.container import container

app = create_app(title="Pollen Analytics API")

RangeName = Literal["today", "7d", "30d", "60d", "90d", "custom"]
RangeQuery = Annotated[RangeName, Query(alias="range", description="today | 7d | 30d | 60d | 90d | custom")]
FromQuery = Annotated[date | None, Query(alias="from", description="First day (custom ranges), YYYY-MM-DD.")]
ToQuery = Annotated[date | None, Query(alias="to", description="Last day, inclusive (custom ranges).")]
OffsetQuery = Annotated[
    int, Query(ge=-1000, le=1000, description="Move the window by its own length (-1: the period before).")
]

# The tracking route's access: apps and widgets call it with the app key. An event about a customer
# needs, from an app key, that customer's token (a server key may report for any customer).
TRACK_SCOPE = Scope.PUBLIC


@app.get("/v1/admin/analytics/summary", summary="Totals for a range and the previous period, with deltas")
@requires(Scope.ADMIN)
def get_summary(
    range_: RangeQuery = "30d", from_: FromQuery = None, to: ToQuery = None, offset: OffsetQuery = 0
) -> Summary:
    q = analytics.RangeQuery(range_, from_, to, offset)
    data = analytics.summary(container(), principal(app).merchant_id, q, utcnow())
    return Summary.model_validate(data)


@app.get("/v1/admin/analytics/series", summary="Metrics per day, week or month, for charts")
@requires(Scope.ADMIN)
def get_series(
    *,
    metrics_: Annotated[
        str | None, Query(alias="metrics", description="Comma-separated metric names.")
    ] = None,
    range_: RangeQuery = "30d",
    from_: FromQuery = None,
    to: ToQuery = None,
    offset: OffsetQuery = 0,
    granularity: Annotated[Literal["day", "week", "month"], Query()] = "day",
) -> Series:
    c = container()
    names = analytics.parse_metrics(metrics_)
    q = analytics.RangeQuery(range_, from_, to, offset)
    data = analytics.series(c, principal(app).merchant_id, names, q, granularity=granularity, now=utcnow())
    return Series.model_validate(data)


@app.get("/v1/admin/analytics/export", summary="The daily rollups of a range as CSV (a column per metric)")
@requires(Scope.ADMIN)
def export(
    format_: Annotated[Literal["csv"], Query(alias="format")] = "csv",
    range_: RangeQuery = "30d",
    from_: FromQuery = None,
    to: ToQuery = None,
    offset: OffsetQuery = 0,
) -> Response[str]:
    q = analytics.RangeQuery(range_, from_, to, offset)
    body = analytics.export_csv(container(), principal(app).merchant_id, q, utcnow())
    filename = f"pollen-analytics-{principal(app).merchant_id}.{format_}"
    return Response(
        status_code=200,
        content_type="text/csv; charset=utf-8",
        body=body,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@app.post(
    "/v1/admin/analytics/rebuild",
    summary="Start rebuilding a range of days from the ledger, orders, coupons and delivery log",
    responses={202: {}},
)
@requires(Scope.ADMIN)
def start_rebuild(body: Annotated[RebuildRequest, Body()]) -> Response[RebuildJob]:
    from pollen.services import rebuild  # noqa: PLC0415 - rarely used: ledger reads (cold start)

    job = rebuild.start(container(), principal(app).merchant_id, body.from_, body.to, utcnow())
    return Response(status_code=202, content_type="application/json", body=RebuildJob.model_validate(job))


@app.get("/v1/admin/analytics/rebuild/<job_id>", summary="A rebuild's progress")
@requires(Scope.ADMIN)
def get_rebuild(job_id: Annotated[str, Path(pattern=r"^[0-9A-Z]{26}$")]) -> RebuildJob:
    from pollen.services import rebuild  # noqa: PLC0415 - rarely used: ledger reads (cold start)

    return RebuildJob.model_validate(rebuild.get(container(), principal(app).merchant_id, job_id))


@app.post(
    "/v1/admin/analytics/rebuild/<job_id>/resume",
    summary="Carry a rebuild on from where it stopped (each call works for a bounded time)",
)
@requires(Scope.ADMIN)
def resume_rebuild(job_id: Annotated[str, Path(pattern=r"^[0-9A-Z]{26}$")]) -> RebuildJob:
    from pollen.services import rebuild  # noqa: PLC0415 - rarely used: ledger reads (cold start)

    job = rebuild.resume(container(), principal(app).merchant_id, job_id, utcnow())
    return RebuildJob.model_validate(job)


@app.post(
    "/v1/events/track",
    summary="Report events only a widget or app sees (batched, deduped)",
    responses={202: {}},
)
@requires(TRACK_SCOPE)
def track(
    body: Annotated[TrackRequest, Body()],
    authorization: Annotated[str | None, Header(alias="authorization")] = None,
) -> Response[TrackResult]:
    caller, c = principal(app), container()
    events = [analytics.TrackInput(**e.model_dump()) for e in body.events]
    if not caller.scope.is_server and any(e.customer_id for e in events):
        token = customer_tokens.bearer_token(authorization)
        if token is None:
            raise Unauthenticated(customer_tokens.BAD_TOKEN)
        subject = customer_tokens.verify_token(c, caller.merchant_id, token, now=utcnow())
        if any(e.customer_id not in {None, subject} for e in events):
            raise Forbidden()
    outcome = analytics.track(c, caller.merchant_id, events, utcnow())
    metrics.add_metric(name="EventsTracked", unit=MetricUnit.Count, value=outcome.accepted)
    result = TrackResult(accepted=outcome.accepted, duplicates=outcome.duplicates, capped=outcome.capped)
    return Response(status_code=202, content_type="application/json", body=result)


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


gc.enable()
gc.freeze()  # what init built stays: the collector never walks it again
