"""The API fuzzed: schemathesis against the local stack's ``/openapi.json`` (every HTTP function's
document, merged), as a client with a server key would call it.

Zero 5xx and zero answers outside the document (status, content type, body schema) are allowed.
Bounded for CI (``POLLEN_FUZZ_EXAMPLES`` per operation, default 5, plus schemathesis' deterministic
coverage cases: about 2,500 requests, a few minutes on 2 cores); ``POLLEN_FUZZ_SEED`` changes the
seed. Another caller (a customer token, say) is one more entry in :func:`_callers`.

``DELETE /v1/admin/api-keys/{key_id}`` is left out: fuzzed, it revokes the very key the run uses
(it is covered by the OpenAPI contract test and the admin API tests).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import LocalStack

pytestmark = pytest.mark.e2e

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def _fuzz_key(stack: LocalStack) -> str:
    """A fresh admin key for the run, so nothing it does can lock other tests out."""
    created = httpx.post(
        f"{stack.base_url}/v1/admin/api-keys",
        headers={"X-Api-Key": stack.key("admin")},
        json={"name": "schemathesis", "scope": "admin"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    return str(created.json()["key"])


def _callers(stack: LocalStack) -> dict[str, list[str]]:
    """Headers per kind of caller; each is one schemathesis run."""
    return {"server key": [f"X-Api-Key: {_fuzz_key(stack)}"]}


def test_schemathesis_finds_no_server_error_and_no_answer_outside_the_spec(
    stack: LocalStack, tmp_path: Path
) -> None:
    st = Path(sys.executable).parent / "st"
    for caller, headers in _callers(stack).items():
        command = [
            str(st),
            "run",
            f"{stack.base_url}/openapi.json",
            "--checks",
            CHECKS,
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            os.environ.get("POLLEN_FUZZ_EXAMPLES", "5"),
            "--seed",
            os.environ.get("POLLEN_FUZZ_SEED", "20261202"),
            "--workers",
            "1",  # hypothesis on CPython 3.11 can trip over concurrent ast.parse in threads
            "--no-shrink",
            "--request-timeout",
            "10",
            "--exclude-path-regex",
            "^/v1/admin/api-keys/",
            "--report",
            "junit",
            "--report-dir",
            str(tmp_path / caller.replace(" ", "-")),
        ]
        for header in headers:
            command += ["--header", header]
        run = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
        summary = run.stdout[-6000:]
        assert run.returncode == 0, f"schemathesis as {caller} failed:\n{summary}\n{run.stderr[-2000:]}"
        assert "0 generated" not in summary, summary
