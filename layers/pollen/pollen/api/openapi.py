"""The OpenAPI document as the API really behaves: security, error answers, success codes.

Powertools documents each operation with its 200 and a 422 (``HTTPValidationError``). Pollen's
answers are richer, and decided in one place for every function (:mod:`pollen.api.gate`,
:mod:`pollen.api.errors`), so they are documented in one place too:

- every keyed operation requires the ``ApiKey`` scheme (Swagger UI's "Authorize" then sends
  ``X-Api-Key``) and may answer 401 and 403; a public one declares ``security: []``;
- every operation may answer 400 (malformed JSON, duplicate keys, too deep), 413 (body too large),
  415 (not JSON) and 429 (rate limited, with ``Retry-After``): the gate checks every request;
- 404 where a path names a resource, 409 on writes (conflicts; a retryable one has ``Retry-After``),
  412 where ``If-Match`` is taken, 422 where anything is validated, and the extra answers listed
  in :data:`EXTRA_ERRORS` (Shopify's 502/503, 404 of a named resource in a query or body);
- success codes are the ones the route really answers (:data:`SUCCESS`; 200 otherwise);
- every error is ``application/problem+json`` with the :class:`~pollen.api.problems.Problem` schema
  (an unmatched path is API Gateway's own ``{"message": "Not Found"}``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Final

from aws_lambda_powertools.event_handler.api_gateway import Route

from pollen.api.auth import PUBLIC, requirement_of
from pollen.api.problems import PROBLEM_CONTENT_TYPE, Problem

REASONS: Final = {
    400: "Malformed request: JSON that does not parse, repeats a key or nests too deep; a bad cursor",
    401: "Missing, unknown or revoked API key",
    403: "The key's scope does not allow this operation",
    404: "No such resource",
    409: "Conflict with the current state (retryable ones carry Retry-After)",
    412: "If-Match does not match the current version",
    413: "Request body too large",
    415: "The request body is not JSON",
    422: "Invalid fields; see `errors`",
    429: "Rate limited; see Retry-After",
    502: "Shopify refused; nothing was changed",
    503: "Shopify unavailable; nothing was changed. Retry later",
}
WRITES: Final = frozenset({"post", "put", "patch", "delete"})

# Success codes where a route answers something other than (or besides) 200.
SUCCESS: Final[dict[tuple[str, str], tuple[int, ...]]] = {
    ("post", "/v1/admin/api-keys"): (201,),
    ("delete", "/v1/admin/api-keys/{key_id}"): (204,),
    ("put", "/v1/admin/triggers/{trigger_id}"): (200, 201),
    ("delete", "/v1/admin/triggers/{trigger_id}"): (204,),
    ("put", "/v1/admin/integrations/{integration_id}"): (200, 201),
    ("delete", "/v1/admin/integrations/{integration_id}"): (204,),
    ("post", "/v1/admin/event-subscriptions"): (201,),
    ("delete", "/v1/admin/event-subscriptions/{subscription_id}"): (204,),
    ("put", "/v1/admin/rewards/{reward_id}"): (200, 201),
    ("delete", "/v1/admin/rewards/{reward_id}"): (204,),
    ("post", "/v1/customers/{customer_id}/redemptions"): (201, 202),
    ("post", "/v1/customers/{customer_id}/triggers/{trigger_id}"): (200, 201),
    ("put", "/v1/admin/shopify"): (200, 201),
    ("put", "/v1/customers/{customer_id}"): (200, 201),
    ("post", "/v1/admin/customers/{customer_id}/adjustments"): (201,),
}
SUCCESS_REASONS: Final = {
    200: "OK",
    201: "Created",
    202: "Accepted: the coins are taken and the coupon is pending while Shopify confirms it "
    "(`coupon.shopify_status: pending`); retry with the same Idempotency-Key to see the outcome",
    204: "Done; no content",
}

# Routes whose success answer is not JSON.
MEDIA_TYPES: Final[dict[tuple[str, str], str]] = {
    ("get", "/v1/admin/analytics/export"): "text/csv",
    ("get", "/v1/admin/customers/export"): "text/csv",
}

GENERIC_REASONS: Final = {200: "OK", 201: "Created", 202: "Accepted", 204: "Done; no content"}

# Errors a route raises that the generic rules above do not predict.
EXTRA_ERRORS: Final[dict[tuple[str, str], tuple[int, ...]]] = {
    ("get", "/v1/shopify/app-proxy/customer-token"): (401,),  # public, but the signature must verify
    ("post", "/v1/admin/imports"): (413, 422),  # reads its own CSV body: not CSV, too large, not an import
    ("get", "/v1/rewards"): (404,),
    ("post", "/v1/customers/{customer_id}/redemptions"): (502, 503),
    ("delete", "/v1/customers/{customer_id}/coupons/{code}"): (502, 503),
    ("post", "/v1/admin/event-subscriptions"): (404,),
    ("post", "/webhooks/shopify"): (401,),  # the HMAC does not verify
}


def _problem_schemas() -> dict[str, Any]:
    schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    definitions = schema.pop("$defs", {})
    return {"Problem": schema, **definitions}


def _problem_response(status: int, *, not_found_route: bool = False) -> dict[str, Any]:
    problem = {"$ref": "#/components/schemas/Problem"}
    response: dict[str, Any] = {
        "description": REASONS.get(status, "Error"),
        "content": {PROBLEM_CONTENT_TYPE: {"schema": problem}},
    }
    if not_found_route:  # API Gateway answers a path no route matches itself
        response["content"]["application/json"] = {
            "schema": {"type": "object", "properties": {"message": {"type": "string"}}}
        }
    if status in {409, 429, 503}:
        response["headers"] = {
            "Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "string"}}
        }
    return response


def _errors_of(method: str, path: str, operation: dict[str, Any], secured: bool) -> set[int]:
    statuses = {400, 413, 415, 429}
    parameters = operation.get("parameters") or []
    if secured:
        statuses |= {401, 403}
    if "{" in path:
        statuses |= {404, 422}
    if parameters or "requestBody" in operation:
        statuses.add(422)
    if method in WRITES:
        statuses.add(409)
    if any(p.get("in") == "header" and p.get("name", "").lower() == "if-match" for p in parameters):
        statuses.add(412)
    return statuses | set(EXTRA_ERRORS.get((method, path), ()))


def _successes(method: str, path: str, operation: dict[str, Any]) -> dict[str, Any]:
    responses = operation.get("responses") or {}
    ok = responses.get("200") or {}
    content = ok.get("content")
    declared = tuple(sorted(int(c) for c in responses if c.isdigit() and 200 < int(c) < 300))
    listed = SUCCESS.get((method, path))
    codes = listed or ((200, *declared) if declared else (200,))  # routes declare e.g. responses={202: {}}
    answers: dict[str, Any] = {}
    for code in codes:
        reason = SUCCESS_REASONS.get(code, "OK") if listed else GENERIC_REASONS.get(code, "OK")
        answer: dict[str, Any] = {"description": reason}
        media = MEDIA_TYPES.get((method, path))
        if media is not None and code != 204:
            answer["content"] = {media: {"schema": {"type": "string"}}}
        elif code != 204 and content:
            answer["content"] = content
        answers[str(code)] = answer
    return answers


def finish(document: dict[str, Any], routes: Iterable[Route]) -> dict[str, Any]:
    """Rewrite each operation's ``security`` and ``responses`` from what its route really does."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(_problem_schemas())
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    by_operation = {(r.method.lower(), r.openapi_path): r for r in routes}
    for path, operations in (document.get("paths") or {}).items():
        for method, operation in operations.items():
            route = by_operation.get((method, path))
            if route is None or not isinstance(operation, dict):
                continue
            secured = requirement_of(route.func) not in (None, PUBLIC)
            operation["security"] = [{"ApiKey": []}] if secured else []
            responses = _successes(method, path, operation)
            for status in sorted(_errors_of(method, path, operation, secured)):
                responses[str(status)] = _problem_response(status, not_found_route=status == 404)
            operation["responses"] = responses
    return document


def finish_json(text: str, routes: Iterable[Route]) -> str:
    return json.dumps(finish(json.loads(text), routes))
