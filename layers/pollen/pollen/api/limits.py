"""Per-merchant rate limits: token buckets in the container's memory, no DynamoDB call.

Three budgets, each a token bucket (``rate`` tokens a second, up to ``burst`` saved up):

- **merchant**: every request made with a valid key of that merchant (all its keys together);
- **anonymous**: requests with no valid key (missing, unknown, malformed, revoked), per source IP,
  much lower, so a scan with forged keys cannot starve paying stores (nor cost a look-up each);
- **public**: routes with no key at all (health, Shopify webhooks, which carry their own HMAC),
  per source IP.

An empty bucket answers ``429`` with ``Retry-After`` (seconds until a token is back) and a problem
body. What this does not guarantee: buckets are per Lambda container, so a merchant's effective rate
is the per-container rate times the containers serving it (Lambda scales out under load). The
API's stage throttling (``DefaultRouteSettings`` in template.yaml) is the backstop for the whole
API; together they stop one store or one client from starving the others in one container, and keep
any one caller within a known multiple of its budget. Numbers are set by environment
(``RATE_LIMIT_*``, see :class:`pollen.config.Settings`) and stated in the README.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from typing import Final

from aws_lambda_powertools.event_handler import Response

from pollen.api.problems import problem_response
from pollen.config import Settings, get_settings
from pollen.domain.values import value

MAX_BUCKETS: Final = 10_000  # per budget; the least recently used are forgotten (they were full)


class _Bucket:
    """One key's tokens and when they were last counted (a plain class: a dataclass would compile its
    methods at import, which every HTTP function's cold start pays)."""

    __slots__ = ("tokens", "updated")

    def __init__(self, tokens: float, updated: float) -> None:
        self.tokens = tokens
        self.updated = updated


class TokenBuckets:
    """Token buckets by key, thread-safe (the local stack serves requests on threads)."""

    def __init__(self, rate: float, burst: int, *, clock: object = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def _now(self) -> float:
        return float(self._clock())  # type: ignore[operator]

    def _refill(self, key: str) -> _Bucket:
        now = self._now()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = _Bucket(tokens=float(self.burst), updated=now)
            self._buckets[key] = bucket
            if len(self._buckets) > MAX_BUCKETS:
                self._buckets.popitem(last=False)
        else:
            bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
            self._buckets.move_to_end(key)
        return bucket

    def take(self, key: str) -> int | None:
        """Take a token: None when there was one, else the seconds until there will be one."""
        if self.rate <= 0:
            return None  # disabled
        with self._lock:
            bucket = self._refill(key)
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return None
            return max(1, math.ceil((1 - bucket.tokens) / self.rate))

    def empty(self, key: str) -> bool:
        """Whether ``key`` has no token now (nothing is taken)."""
        if self.rate <= 0:
            return False
        with self._lock:
            return self._refill(key).tokens < 1


@value
class Budgets:
    merchant: TokenBuckets
    anonymous: TokenBuckets
    public: TokenBuckets
    settings: Settings


_budgets: Budgets | None = None
_budgets_lock = threading.Lock()


def budgets() -> Budgets:
    """This container's buckets, sized from the settings (rebuilt when the settings are reloaded)."""
    global _budgets  # noqa: PLW0603 - one set of buckets per container, by design
    s = get_settings()
    current = _budgets
    if current is not None and current.settings is s:
        return current
    with _budgets_lock:
        if _budgets is None or _budgets.settings is not s:
            _budgets = Budgets(
                merchant=TokenBuckets(s.rate_limit_merchant_rps, s.rate_limit_merchant_burst),
                anonymous=TokenBuckets(s.rate_limit_anonymous_rps, s.rate_limit_anonymous_burst),
                public=TokenBuckets(s.rate_limit_public_rps, s.rate_limit_public_burst),
                settings=s,
            )
        return _budgets


def reset() -> None:
    """Forget every bucket (tests, and settings changed in-process)."""
    global _budgets  # noqa: PLW0603
    with _budgets_lock:
        _budgets = None


def too_many_requests(retry_after: int, who: str) -> Response[str]:
    return problem_response(
        status=429,
        slug="rate-limited",
        title="Too many requests",
        detail=f"Too many requests {who}; retry after {retry_after} s.",
        headers={"Retry-After": str(retry_after)},
    )
