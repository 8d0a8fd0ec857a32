"""One check for problem responses (RFC 9457, application/problem+json), in-process or over HTTP."""

from __future__ import annotations

from typing import Any

import httpx

from infra.inprocess import ApiResponse

PROBLEM_FIELDS = {"type", "title", "status", "detail", "errors"}


def problem(response: ApiResponse | httpx.Response, status: int) -> dict[str, Any]:
    """Assert ``response`` is a problem with ``status`` and every field of the shape; return its body."""
    if isinstance(response, httpx.Response):
        got, content_type, text = (
            response.status_code,
            response.headers.get("content-type", ""),
            response.text,
        )
    else:
        got, content_type, text = response.status, response.content_type, response.body.decode()
    assert got == status, text
    assert content_type == "application/problem+json", content_type
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body.keys() >= PROBLEM_FIELDS, f"missing {PROBLEM_FIELDS - body.keys()}"
    assert body["type"].startswith("urn:pollen:problem:"), body["type"]
    assert body["title"], body
    assert body["detail"], body
    return body
