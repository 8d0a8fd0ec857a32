"""Start the local stack (`python -m infra.local`, what `make dev` runs) on free ports."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 60


@dataclass
class LocalStack:
    base_url: str
    moto_url: str
    demo: dict[str, Any]
    log_path: Path
    process: subprocess.Popen[bytes]

    def key(self, scope: str) -> str:
        return str(self.demo["api_keys"][scope])

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _ready(state: Path) -> dict[str, Any] | None:
    """What the stack wrote to ``stack.json`` (last, once it is up), if it has; None until then."""
    try:
        ready: dict[str, Any] = json.loads((state / "stack.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):  # not written yet (it is written atomically)
        return None
    return ready


def start_stack(state: Path, **extra_env: str) -> LocalStack:
    """``python -m infra.local`` with its state in ``state``; healthy when returned.

    The stack binds both its ports itself (``PORT=0``, ``MOTO_PORT=0``: the kernel picks free ones
    atomically) and names them in ``stack.json``. Choosing a free port here and passing it on would
    race every other process on the machine for it between the two steps."""
    log_path = state / "stack.log"
    (state / "stack.json").unlink(missing_ok=True)  # a stack killed earlier could have left one
    env = {
        **os.environ,
        "PORT": "0",
        "MOTO_PORT": "0",
        "POLLEN_STATE_DIR": str(state),
        "POLLEN_LOCAL_TIME_SCALE": "60",
        "POLLEN_LOCAL_RETRY_SCALE": "0.001",  # every retry delay 1 s (SQS counts whole seconds)
        "PYTHONUNBUFFERED": "1",
        "POLLEN_LOCAL_READ_TIMEOUT": "3",  # test_local_runtime waits for a 408; a client sends at once
        **extra_env,
        "POLLEN_DEMO_TIERS": "0",  # test_tiers_over_http applies the demo tiers itself, then removes them
        # One client drives every test here: per-store limits as for a large store (README: rate limits).
        "RATE_LIMIT_MERCHANT_RPS": "1000",
        "RATE_LIMIT_MERCHANT_BURST": "2000",
        "RATE_LIMIT_ANONYMOUS_RPS": "100",
        "RATE_LIMIT_ANONYMOUS_BURST": "200",
    }
    env.pop("AWS_ENDPOINT_URL", None)
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "infra.local"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    return wait_until_up(process, state, log_path)


def wait_until_up(process: subprocess.Popen[bytes], state: Path, log_path: Path) -> LocalStack:
    """The stack once ``stack.json`` names its ports and its API answers /v1/health."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        if process.poll() is not None:
            pytest.fail(f"local stack exited with {process.returncode}:\n{log_path.read_text()}")
        ready = _ready(state)
        try:
            if ready and httpx.get(f"{ready['base_url']}/v1/health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            process.send_signal(signal.SIGUSR1)  # what it is stuck on: every thread's stack, to its log
            time.sleep(1)
            process.kill()
            tail = log_path.read_text()[-12000:]
            pytest.fail(f"local stack not healthy within {STARTUP_SECONDS}s:\n{tail}")
        time.sleep(0.2)
    started = STARTUP_SECONDS - (deadline - time.monotonic())
    print(f"local stack healthy after {started:.1f}s")
    demo_file = state / "demo-store.json"
    demo = json.loads(demo_file.read_text()) if demo_file.exists() else {}
    return LocalStack(str(ready["base_url"]), str(ready["moto_endpoint"]), demo, log_path, process)


def stop_stack(stack: LocalStack) -> None:
    """Ctrl-C, as a developer stops `make dev`; it must exit 0 within 15 s."""
    stack.process.send_signal(signal.SIGINT)
    try:
        code = stack.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        stack.process.send_signal(signal.SIGUSR1)  # the stack prints its threads' stacks to its log
        time.sleep(1)
        stack.process.kill()
        pytest.fail(f"local stack did not stop within 15 s of Ctrl-C; its threads:\n{stack.log()[-12000:]}")
    assert code == 0, f"Ctrl-C should stop the stack cleanly, got {code}:\n{stack.log()[-3000:]}"


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    running = start_stack(tmp_path_factory.mktemp("pollen-state"))
    yield running
    stop_stack(running)


@pytest.fixture
def http(stack: LocalStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.base_url, timeout=10) as client:
        yield client
