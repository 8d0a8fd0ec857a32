from __future__ import annotations

import json

import pytest
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from pollen.api.errors import STATUS_BY_ERROR, domain_problem, validation_problem
from pollen.domain import errors
from pollen.storage.errors import ConditionFailed, WriteConflict


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (errors.InvalidRequest("x"), 400),
        (errors.Unauthenticated("x"), 401),
        (errors.Forbidden("x"), 403),
        (errors.NotFound("x"), 404),
        (errors.Conflict("x"), 409),
        (ConditionFailed(["wallet"], {}), 409),
        (WriteConflict(), 409),
        (errors.PreconditionFailed("x"), 412),
        (errors.ValidationFailed("x", errors=[errors.FieldError("coins", "too many")]), 422),
    ],
)
def test_each_domain_error_has_one_status_and_a_problem_body(exc: errors.DomainError, status: int) -> None:
    response = domain_problem(exc)
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/problem+json"
    assert isinstance(response.body, str)
    body = json.loads(response.body)
    assert body["status"] == status
    assert body["type"].startswith("urn:pollen:problem:")
    assert {"type", "title", "status", "detail", "errors"} <= body.keys()


def test_every_mapped_error_is_a_domain_error() -> None:
    assert all(issubclass(cls, errors.DomainError) for cls in STATUS_BY_ERROR)


def test_retryable_conflicts_say_when_to_retry() -> None:
    assert domain_problem(WriteConflict()).headers["Retry-After"] == "1"


def test_field_errors_carry_dotted_paths() -> None:
    exc = RequestValidationError(
        [
            {
                "loc": ("body", "earning", "unit_amount"),
                "msg": "Input should be greater than 0",
                "type": "greater_than",
            }
        ]
    )
    response = validation_problem(exc)
    assert response.status_code == 422
    assert isinstance(response.body, str)
    (error,) = json.loads(response.body)["errors"]
    assert error == {
        "field": "earning.unit_amount",
        "location": "body",
        "message": "Input should be greater than 0",
        "type": "greater_than",
    }


def test_malformed_json_is_a_400() -> None:
    exc = RequestValidationError([{"loc": ("body", 1), "msg": "JSON decode error", "type": "json_invalid"}])
    response = validation_problem(exc)
    assert response.status_code == 400
    assert isinstance(response.body, str)
    assert json.loads(response.body)["type"] == "urn:pollen:problem:malformed-json"
