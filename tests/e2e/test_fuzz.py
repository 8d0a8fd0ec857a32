"""The API fuzzed: schemathesis against the local stack's ``/openapi.json`` (every HTTP function's
document, merged), as the clients with keys would call it.

Zero 5xx and zero answers outside the document (status, content type, body schema) are allowed.
In ``make test`` every operation gets the document's examples and one generated case; ``make soak``
(which CI runs after it) adds schemathesis' deterministic coverage cases (every boundary and
wrong-type value of every parameter and body field: about 4,300 requests per caller, three quarters
of the whole suite's fuzzing time) and ``POLLEN_FUZZ_EXAMPLES`` (default 3) generated cases per
operation; ``POLLEN_FUZZ_SEED`` changes the seed. It runs once with an admin key and once as an
app (the app key plus a customer token).

``DELETE /v1/admin/api-keys/{key_id}`` is left out: fuzzed, it revokes the very key the run uses
(it is covered by the OpenAPI contract test and the admin API tests).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import ROOT, LocalStack, wait_until_up

pytestmark = pytest.mark.e2e

STOP_SECONDS = 30


@pytest.fixture
def fuzz_stack(tmp_path: Path) -> Iterator[LocalStack]:
    """A stack of its own: thousands of fuzzed writes stay out of the other tests' store, and its
    rate limits are off (429 is documented, but a limited run would test little else)."""
    log_path = tmp_path / "stack.log"
    env = {
        **os.environ,
        "PORT": "0",  # the stack binds free ports itself and names them in stack.json
        "MOTO_PORT": "0",
        "POLLEN_STATE_DIR": str(tmp_path),
        "PYTHONUNBUFFERED": "1",
        "RATE_LIMIT_MERCHANT_RPS": "0",
        "RATE_LIMIT_ANONYMOUS_RPS": "0",
        "RATE_LIMIT_PUBLIC_RPS": "0",
    }
    env.pop("AWS_ENDPOINT_URL", None)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "infra.local"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    running = wait_until_up(process, tmp_path, log_path)
    try:
        yield running
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:  # clean shutdown is test_local_stack's concern, not this one's
            process.kill()
            process.wait(timeout=10)


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


def _customer_token(stack: LocalStack, customer_id: str) -> str:
    """A token for one customer, minted as the merchant's server would (write key)."""
    minted = httpx.post(
        f"{stack.base_url}/v1/customer-tokens",
        headers={"X-Api-Key": stack.key("write")},
        json={"customer_id": customer_id, "ttl_seconds": 3600},
        timeout=10,
    )
    assert minted.status_code == 201, minted.text
    return str(minted.json()["token"])


def _callers(stack: LocalStack) -> dict[str, list[str]]:
    """Headers per kind of caller; each is one schemathesis run: a server key, and an app (the app
    key plus a customer token, as a mobile app or the widget calls)."""
    token = _customer_token(stack, "fuzz-customer")
    return {
        "server key": [f"X-Api-Key: {_fuzz_key(stack)}"],
        "app key + customer token": [f"X-Api-Key: {stack.key('public')}", f"Authorization: Bearer {token}"],
    }


@pytest.mark.parametrize(
    ("phases", "examples"),
    [
        pytest.param("examples,fuzzing", "1", id="1"),
        pytest.param(
            "examples,coverage,fuzzing",
            os.environ.get("POLLEN_FUZZ_EXAMPLES", "3"),
            id="soak",
            marks=pytest.mark.soak,
        ),
    ],
)
def test_schemathesis_finds_no_server_error_and_no_answer_outside_the_spec(
    fuzz_stack: LocalStack, tmp_path: Path, phases: str, examples: str
) -> None:
    stack = fuzz_stack
    st = Path(sys.executable).parent / "st"
    for caller, headers in _callers(stack).items():
        command = [
            str(st),
            "run",
            f"{stack.base_url}/openapi.json",
            "--checks",
            CHECKS,
            "--phases",
            phases,
            "--max-examples",
            examples,
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
        run = subprocess.run(  # in tmp_path: schemathesis keeps a cache in its working directory
            command, capture_output=True, text=True, timeout=900, check=False, cwd=tmp_path
        )
        summary = run.stdout[-6000:]
        assert run.returncode == 0, f"schemathesis as {caller} failed:\n{summary}\n{run.stderr[-2000:]}"
        assert "0 generated" not in summary, summary
