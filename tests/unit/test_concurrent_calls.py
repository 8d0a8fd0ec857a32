"""storage.client.concurrently: calls on a bounded pool, counted as the calling thread's (the counters
are per thread, one invocation = one thread), results in order, a failure raised once all are done."""

from __future__ import annotations

import threading
import time
from functools import partial

import pytest

from pollen.storage.client import call_counter, concurrently, sqs_call_counter


def test_calls_on_the_pool_are_counted_as_the_callers() -> None:
    call_counter.reset()
    sqs_call_counter.reset()
    in_flight, most = [0], [0]
    lock = threading.Lock()

    def put(n: int) -> int:
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
        time.sleep(0.01)
        call_counter.record("PutItem")  # what the botocore hook does on the pool's thread
        if n == 0:
            sqs_call_counter.record("SendMessageBatch")
        with lock:
            in_flight[0] -= 1
        return n * n

    assert concurrently([partial(put, n) for n in range(40)], workers=8) == [n * n for n in range(40)]
    assert call_counter.snapshot() == {"PutItem": 40}
    assert sqs_call_counter.snapshot() == {"SendMessageBatch": 1}
    assert 1 < most[0] <= 8


def test_a_failure_is_raised_after_every_call_has_finished() -> None:
    call_counter.reset()
    finished: list[int] = []

    def call(n: int) -> int:
        call_counter.record("PutItem")
        if n == 3:
            raise RuntimeError("no")
        time.sleep(0.01)
        finished.append(n)
        return n

    with pytest.raises(RuntimeError, match="no"):
        concurrently([partial(call, n) for n in range(10)], workers=4)
    assert sorted(finished) == [n for n in range(10) if n != 3]
    assert call_counter.snapshot() == {"PutItem": 10}
