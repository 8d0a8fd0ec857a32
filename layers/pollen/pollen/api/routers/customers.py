"""Admin routes for customers: search, export, coins adjusted by hand and migration imports from other
loyalty apps."""

# No ``from __future__ import annotations``: Powertools reads a route's hints on every request to
# resolve its Depends (pollen.api.deps), and evaluated annotations cost nothing to read again.

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from pollen.api.auth import reads_raw_body, requires
from pollen.api.deps import MerchantId, Services
from pollen.api.schemas.customers import AdjustmentRequest, CustomerList, CustomerProfile
from pollen.api.schemas.headers import IdempotencyKey
from pollen.clock import utcnow
from pollen.domain.api_keys import Scope
from pollen.domain.customers import CustomerId
from pollen.domain.errors import FieldError, ValidationFailed
from pollen.services import customer_directory, imports
from pollen.services.idempotency import Idempotency
from pollen.services.ledger import Operated

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]

CSV_TYPES = {"text/csv", "text/plain", "application/csv"}
MAX_IMPORT_BYTES = 5_000_000  # under Lambda's 6 MB request payload


@router.get("/v1/admin/customers", summary="Find customers by exact email or phone, or by id prefix")
@requires(Scope.ADMIN)
def search_customers(
    c: Services,
    merchant_id: MerchantId,
    query: Annotated[str, Query(max_length=254)] = "",
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> CustomerList:
    page = customer_directory.find_customers(c, merchant_id, query, limit=limit, cursor=cursor)
    return CustomerList(items=[CustomerProfile.of(r) for r in page.items], next_cursor=page.next_cursor)


@router.get(
    "/v1/admin/customers/export",
    summary="All customers as CSV, a page at a time (X-Next-Cursor names the next page)",
    response_description="text/csv; the header row comes with the first page only",
)
@requires(Scope.ADMIN)
def export_customers(
    c: Services,
    merchant_id: MerchantId,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> Response[str]:
    body, next_cursor = customer_directory.export_page(c, merchant_id, limit=limit, cursor=cursor)
    headers = {"Content-Disposition": 'attachment; filename="customers.csv"'}
    if next_cursor:
        headers["X-Next-Cursor"] = next_cursor
    return Response(status_code=200, content_type="text/csv; charset=utf-8", body=body, headers=headers)


@router.post(
    "/v1/admin/imports",
    summary="Import members and balances from a CSV (upload the same file again until status is done)",
    responses={202: {"description": "Still running: upload the same file again to carry on."}},
)
@requires(Scope.ADMIN)
@reads_raw_body
def import_customers(c: Services, merchant_id: MerchantId) -> Response[imports.ImportReport]:
    event = router.current_event
    content_type = (event.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type not in CSV_TYPES:
        message = "Send the file as the request body with Content-Type: text/csv."
        raise ValidationFailed(message, errors=[FieldError("content-type", message, "unsupported")])
    content = event.decoded_body.encode() if isinstance(event.decoded_body, str) else b""
    if len(content) > MAX_IMPORT_BYTES:
        message = f"The file is larger than {MAX_IMPORT_BYTES // 1_000_000} MB; split it."
        raise ValidationFailed(message, errors=[FieldError("file", message, "too_large")])
    report = imports.run_import(
        c,
        merchant_id,
        content,
        now=utcnow(),
        budget_seconds=c.settings.import_budget_seconds,
    )
    return Response(
        status_code=200 if report.status == "done" else 202, content_type="application/json", body=report
    )


@router.get("/v1/admin/imports/<import_id>", summary="An import's progress and report")
@requires(Scope.ADMIN)
def get_import(
    import_id: Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")], c: Services, merchant_id: MerchantId
) -> imports.ImportReport:
    return imports.get_report(c, merchant_id, import_id)


@router.post(
    "/v1/admin/customers/<customer_id>/adjustments",
    summary="Add or take coins by hand (never below zero)",
    responses={201: {}},
)
@requires(Scope.ADMIN)
def adjust_coins(
    customer_id: Annotated[CustomerId, Path()],
    body: Annotated[AdjustmentRequest, Body()],
    c: Services,
    merchant_id: MerchantId,
    idempotency_key: Annotated[IdempotencyKey | None, Header(alias="idempotency-key")] = None,
) -> Response[Operated]:
    idempotency = (
        Idempotency("adjustment", idempotency_key, {"customer_id": customer_id, **body.model_dump()})
        if idempotency_key
        else None
    )
    from pollen.services import adjustments  # noqa: PLC0415 - rarely used: the unit of work on use

    status, result = adjustments.adjust(
        c, merchant_id, customer_id, body.coins, body.reason, now=utcnow(), idempotency=idempotency
    )
    return Response(status_code=status, content_type="application/json", body=result)
