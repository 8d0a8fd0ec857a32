"""Exceptions → HTTP problems, in one place (STYLE.md rule 3). Status is chosen by type, never text."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.exceptions import NotFoundError, ServiceError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

from pollen.api.problems import ProblemFieldError, problem_response
from pollen.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidRequest,
    NotFound,
    PreconditionFailed,
    RetryableConflict,
    Unauthenticated,
    UpstreamRejected,
    UpstreamUnavailable,
    ValidationFailed,
)
from pollen.observability import logger

STATUS_BY_ERROR: dict[type[DomainError], int] = {
    InvalidRequest: 400,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    RetryableConflict: 409,
    PreconditionFailed: 412,
    ValidationFailed: 422,
    UpstreamRejected: 502,
    UpstreamUnavailable: 503,
}


def status_for(exc: DomainError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 400


def domain_problem(exc: DomainError) -> Response[str]:
    status = status_for(exc)
    headers = {"Retry-After": "1"} if isinstance(exc, RetryableConflict | UpstreamUnavailable) else None
    if status == 401:
        headers = {"WWW-Authenticate": 'ApiKey header="X-Api-Key"'}
    return problem_response(
        status=status,
        slug=exc.slug,
        title=exc.title,
        detail=exc.detail,
        errors=[
            ProblemFieldError(field=e.field, location=e.location, message=e.message, type=e.type)
            for e in exc.errors
        ],
        headers=headers,
    )


def _field_error(error: Any) -> ProblemFieldError:
    loc = [str(part) for part in error.get("loc", ())]
    location = loc[0] if loc else "body"
    field = ".".join(loc[1:]) or location
    return ProblemFieldError(
        field=field, location=location, message=str(error.get("msg", "invalid")), type=str(error.get("type"))
    )


def validation_problem(exc: RequestValidationError) -> Response[str]:
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return problem_response(
            status=400,
            slug="malformed-json",
            title="Malformed JSON",
            detail="The request body is not valid JSON.",
        )
    return problem_response(
        status=422,
        slug="validation-failed",
        title="Validation failed",
        detail="The request has invalid fields; see `errors`.",
        errors=[_field_error(e) for e in errors],
    )


def _domain(exc: DomainError) -> Response[str]:
    return domain_problem(exc)


def no_such_route() -> Response[str]:
    return problem_response(
        status=404, slug="no-such-route", title="Not found", detail="No such route. See /openapi.json."
    )


def _not_found(_: NotFoundError) -> Response[str]:
    return no_such_route()


def _undecodable(_: UnicodeDecodeError) -> Response[str]:
    """Powertools decodes a base64 body as UTF-8 while parsing it; bytes that are not are the client's."""
    return problem_response(
        status=400,
        slug="malformed-body",
        title="Malformed body",
        detail="The request body must be UTF-8 encoded JSON.",
    )


def _unsupported_media_type(_: RequestUnsupportedContentType) -> Response[str]:
    return problem_response(
        status=415,
        slug="unsupported-media-type",
        title="Unsupported media type",
        detail="Send the request body as JSON with Content-Type: application/json.",
    )


def _service_error(exc: ServiceError) -> Response[str]:
    """Powertools' own HTTP errors, in our problem shape."""
    status = exc.status_code if 400 <= exc.status_code < 600 else 500
    return problem_response(status=status, slug="http-error", title="Request failed", detail=str(exc.msg))


# What AWS answers when it is busy or briefly away (botocore has already retried each call): the request
# changed nothing it reports as done, so the client is told to come back, not that we failed.
TRANSIENT_AWS_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",  # a hot partition, or a table over its capacity
        "ThrottlingException",
        "RequestLimitExceeded",  # the account's on-demand throughput limit
        "InternalServerError",  # DynamoDB's 500
        "ServiceUnavailable",
    }
)
_BUSY = UpstreamUnavailable("The database is busy or briefly unavailable; retry the request.")


def _aws_error(exc: ClientError) -> Response[str]:
    """503 with Retry-After for AWS's transient answers; anything else is ours, a logged 500."""
    code = str(exc.response.get("Error", {}).get("Code", ""))
    if code not in TRANSIENT_AWS_CODES:
        return _unexpected(exc)
    logger.warning("AWS busy: asked the client to retry", extra={"aws_error": code})
    return domain_problem(_BUSY)


def _aws_unreachable(exc: Exception) -> Response[str]:
    logger.warning("AWS unreachable: asked the client to retry", extra={"aws_error": type(exc).__name__})
    return domain_problem(_BUSY)


def _unexpected(_: Exception) -> Response[str]:
    logger.exception("unhandled error")
    return problem_response(
        status=500,
        slug="internal-error",
        title="Internal error",
        detail="Something went wrong on our side; it has been logged. Retrying is safe.",
    )


def register_error_handlers(app: APIGatewayHttpResolver) -> None:
    """Every error, validation included, leaves as one problem shape; nothing else reaches the client."""
    app.exception_handler(DomainError)(_domain)
    app.exception_handler(RequestValidationError)(validation_problem)
    app.exception_handler(UnicodeDecodeError)(_undecodable)
    app.exception_handler(RequestUnsupportedContentType)(_unsupported_media_type)
    app.exception_handler(ServiceError)(_service_error)
    app.exception_handler(ClientError)(_aws_error)
    app.exception_handler([ConnectTimeoutError, ReadTimeoutError, EndpointConnectionError])(_aws_unreachable)
    app.not_found(_not_found)
    app.exception_handler(Exception)(_unexpected)
