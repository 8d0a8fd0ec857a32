"""Admin routes for customers: search, export and migration imports from other loyalty apps."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from pollen.api.app import principal
from pollen.api.auth import reads_raw_body, requires
from pollen.api.schemas.customers import CustomerList, CustomerProfile
from pollen.clock import utcnow
from pollen.domain.api_keys import Scope
from pollen.domain.errors import FieldError, NotFound, ValidationFailed
from pollen.services import customer_directory, imports
from pollen.services.container import container
from pollen.storage.imports import ImportStore

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]

CSV_TYPES = {"text/csv", "text/plain", "application/csv"}
MAX_IMPORT_BYTES = 5_000_000  # under Lambda's 6 MB request payload


@router.get("/v1/admin/customers", summary="Find customers by exact email or phone, or by id prefix")
@requires(Scope.ADMIN)
def search_customers(
    query: Annotated[str, Query(max_length=254)] = "",
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> CustomerList:
    page = customer_directory.find_customers(
        container(), principal(router).merchant_id, query, limit=limit, cursor=cursor
    )
    return CustomerList(items=[CustomerProfile.of(r) for r in page.items], next_cursor=page.next_cursor)


@router.get(
    "/v1/admin/customers/export",
    summary="All customers as CSV, a page at a time (X-Next-Cursor names the next page)",
    response_description="text/csv; the header row comes with the first page only",
)
@requires(Scope.ADMIN)
def export_customers(
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> Response[str]:
    body, next_cursor = customer_directory.export_page(
        container(), principal(router).merchant_id, limit=limit, cursor=cursor
    )
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
def import_customers() -> Response[imports.ImportReport]:
    event = router.current_event
    content_type = (event.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type not in CSV_TYPES:
        message = "Send the file as the request body with Content-Type: text/csv."
        raise ValidationFailed(message, errors=[FieldError("content-type", message, "unsupported")])
    content = event.decoded_body.encode() if isinstance(event.decoded_body, str) else b""
    if len(content) > MAX_IMPORT_BYTES:
        message = f"The file is larger than {MAX_IMPORT_BYTES // 1_000_000} MB; split it."
        raise ValidationFailed(message, errors=[FieldError("file", message, "too_large")])
    c = container()
    report = imports.run_import(
        c,
        principal(router).merchant_id,
        content,
        now=utcnow(),
        budget_seconds=c.settings.import_budget_seconds,
    )
    return Response(
        status_code=200 if report.status == "done" else 202, content_type="application/json", body=report
    )


@router.get("/v1/admin/imports/<import_id>", summary="An import's progress and report")
@requires(Scope.ADMIN)
def get_import(import_id: Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]) -> imports.ImportReport:
    found = ImportStore(container().table).get(principal(router).merchant_id, import_id)
    if found is None:
        raise NotFound("No import with this id.")
    return imports.ImportReport.model_validate(found)
