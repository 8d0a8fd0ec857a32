"""The delivery budget against a real socket (httpx.MockTransport bypasses httpcore's timeouts)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from pollen.integrations import outbound
from pollen.integrations.outbound import outbound_client
from tests.support.integrations import NOW


@pytest.fixture
def silent_peer() -> Iterator[str]:
    """Accepts connections, reads the request, never answers."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen()
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            held.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/hook"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_a_peer_that_never_answers_is_a_retry_within_the_budget(silent_peer: str) -> None:
    with outbound_client() as client:
        request = client.build_request("POST", silent_peer, content=b"{}")
        start = time.perf_counter()
        attempt = outbound.send(client, request, now=NOW, budget_seconds=0.5)
        elapsed = time.perf_counter() - start
    assert attempt.outcome == "retry"
    assert attempt.error is not None
    assert attempt.error.startswith("timeout (ReadTimeout)")
    assert 0.45 <= elapsed < 1.5
    assert 450 <= attempt.latency_ms < 1500


def test_a_refused_connection_is_a_retry() -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    with outbound_client() as client:
        request = client.build_request("POST", f"http://127.0.0.1:{port}/hook", content=b"{}")
        attempt = outbound.send(client, request, now=NOW)
    assert attempt.outcome == "retry"
    assert (attempt.error or "").startswith("ConnectError")
