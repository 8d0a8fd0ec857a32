"""AWS busy or out of reach (after botocore's own retries) is a 503 the client may retry, with
Retry-After, in the problem shape: never a 500. Any other AWS error is ours: a logged 500."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from botocore.exceptions import EndpointConnectionError

from infra.inprocess import InProcessApi
from infra.seed import DemoStore
from pollen.storage import client
from tests.support.problems import problem

CUSTOMER = "busy-1"


def _answer(code: str, status: int) -> Callable[..., Any]:
    def refuse(model: Any, **_: Any) -> Any:
        if model.name != "GetItem":
            return None
        error = {"Code": code, "Message": f"{code} (from the test)"}
        return AWSResponse("https://dynamodb", status, HTTPHeaders(), None), {
            "Error": error,
            "ResponseMetadata": {"HTTPStatusCode": status},
        }

    return refuse


def _unreachable(model: Any, **_: Any) -> Any:
    if model.name == "GetItem":
        raise EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")


@pytest.fixture
def refusing(api: InProcessApi, demo: DemoStore) -> Iterator[Callable[[Callable[..., Any]], None]]:
    """Installs a refusal of every GetItem once the customer exists and the key is cached."""
    created = api.put(
        f"/v1/customers/{CUSTOMER}", json_body={"email": "busy@example.com"}, key=demo.api_keys.write
    )
    assert created.status in {200, 201}, created.body
    assert api.get(f"/v1/customers/{CUSTOMER}/wallet", key=demo.api_keys.read).status == 200  # key cached
    dynamodb = client.dynamodb()
    installed: list[Callable[..., Any]] = []

    def install(hook: Callable[..., Any]) -> None:
        dynamodb.meta.events.register("before-call.dynamodb", hook)
        installed.append(hook)

    yield install
    for hook in installed:
        dynamodb.meta.events.unregister("before-call.dynamodb", hook)


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ProvisionedThroughputExceededException", 400),
        ("ThrottlingException", 400),
        ("RequestLimitExceeded", 400),
        ("InternalServerError", 500),
    ],
)
def test_a_busy_table_is_a_503_to_retry(
    api: InProcessApi, demo: DemoStore, refusing: Callable[[Callable[..., Any]], None], code: str, status: int
) -> None:
    refusing(_answer(code, status))
    response = api.get(f"/v1/customers/{CUSTOMER}/wallet", key=demo.api_keys.read)
    body = problem(response, 503)
    assert body["type"] == "urn:pollen:problem:upstream-unavailable"
    assert response.headers.get("retry-after") == "1"
    assert code not in response.body.decode()  # AWS's words stay in our log


def test_an_unreachable_table_is_a_503_to_retry(
    api: InProcessApi, demo: DemoStore, refusing: Callable[[Callable[..., Any]], None]
) -> None:
    refusing(_unreachable)
    response = api.get(f"/v1/customers/{CUSTOMER}/wallet", key=demo.api_keys.read)
    assert problem(response, 503)["type"] == "urn:pollen:problem:upstream-unavailable"
    assert response.headers.get("retry-after") == "1"


def test_any_other_aws_error_is_ours(
    api: InProcessApi, demo: DemoStore, refusing: Callable[[Callable[..., Any]], None]
) -> None:
    refusing(_answer("ValidationException", 400))
    response = api.get(f"/v1/customers/{CUSTOMER}/wallet", key=demo.api_keys.read)
    assert problem(response, 500)["type"] == "urn:pollen:problem:internal-error"
    assert "retry-after" not in response.headers
