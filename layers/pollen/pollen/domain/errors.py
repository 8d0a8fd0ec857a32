"""Domain exceptions. ``pollen.api.errors`` maps each class to an HTTP status in one place."""

from __future__ import annotations

from pollen.domain.values import value


@value
class FieldError:
    field: str
    message: str
    type: str = "invalid"
    location: str = "body"


class DomainError(Exception):
    """Base of every error a caller can act on; never carries secrets or other merchants' data."""

    title = "Request failed"
    slug = "request-failed"

    def __init__(self, detail: str, *, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors: list[FieldError] = errors or []


class InvalidRequest(DomainError):
    title = "Invalid request"
    slug = "invalid-request"


class ValidationFailed(DomainError):
    title = "Validation failed"
    slug = "validation-failed"


class Unauthenticated(DomainError):
    title = "Unauthenticated"
    slug = "unauthenticated"


FORBIDDEN_DETAIL = "This API key or customer token does not allow this operation."


class Forbidden(DomainError):
    """Every 403 carries the same detail (:data:`FORBIDDEN_DETAIL`): it never says why."""

    title = "Forbidden"
    slug = "forbidden"

    def __init__(self, detail: str = FORBIDDEN_DETAIL) -> None:
        super().__init__(detail)


class NotFound(DomainError):
    title = "Not found"
    slug = "not-found"


class Conflict(DomainError):
    title = "Conflict"
    slug = "conflict"


class PreconditionFailed(DomainError):
    title = "Precondition failed"
    slug = "precondition-failed"


class RetryableConflict(Conflict):
    """A concurrent writer touched the same items; the caller may retry the same request."""

    title = "Concurrent update"
    slug = "concurrent-update"


class UpstreamUnavailable(DomainError):
    """A peer (Shopify) did not answer in time; nothing is left half done and the request may be retried."""

    title = "Upstream unavailable"
    slug = "upstream-unavailable"


class UpstreamRejected(DomainError):
    """A peer (Shopify) refused the request; nothing is left half done."""

    title = "Upstream rejected the request"
    slug = "upstream-rejected"
