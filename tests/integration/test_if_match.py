"""Preconditions on PUT /v1/admin/program: a stale or foreign ETag is 412, a malformed header 400,
never a 500 and never a write."""

from __future__ import annotations

import pytest

from infra.inprocess import InProcessApi
from infra.seed import DemoStore
from tests.integration.test_admin_api import PROGRAM
from tests.support.problems import problem


@pytest.mark.parametrize(
    ("if_match", "status"),
    [
        ('"stale-0"', 412),  # a well-formed entity tag this API never issued: cannot match
        ('W/"abc"', 412),
        ('"0"', 412),
        ('"99"', 412),
        ("stale-0", 400),  # not an entity tag
        ('"1", "2"', 400),
        ('"1', 400),
        ("", 400),
    ],
)
def test_a_malformed_or_foreign_if_match_is_a_problem_not_a_500(
    api: InProcessApi, demo: DemoStore, if_match: str, status: int
) -> None:
    admin = demo.api_keys.admin
    response = api.put("/v1/admin/program", key=admin, json_body=PROGRAM, headers={"if-match": if_match})
    answer = problem(response, status)
    if status == 400:
        assert answer["errors"][0]["field"] == "if-match"
        assert answer["errors"][0]["location"] == "header"
    assert api.get("/v1/admin/program", key=admin).json()["version"] == 1  # nothing written


@pytest.mark.parametrize("if_match", ['"1"', 'W/"1"', "1", "*"])
def test_a_current_if_match_or_a_wildcard_updates(api: InProcessApi, demo: DemoStore, if_match: str) -> None:
    admin = demo.api_keys.admin
    response = api.put("/v1/admin/program", key=admin, json_body=PROGRAM, headers={"if-match": if_match})
    assert response.status == 200, response.body
    assert response.headers["etag"] == '"2"'
