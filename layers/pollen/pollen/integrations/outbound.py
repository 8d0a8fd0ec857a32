"""Sending one event to one integration, and what came of it.

:func:`deliver` builds the exact request the integration expects (Klaviyo, Omnisend or a signed
webhook), sends it within a 10 s budget and classifies the answer; it never raises for HTTP trouble:

- ``delivered``: a 2xx.
- ``retry``: a timeout, a transport error (connection refused, reset...), a 5xx or a 429, with the
  ``Retry-After`` a 429/503 gave (seconds or an HTTP date) in ``retry_after_seconds``.
- ``permanent``: any other status (4xx; a 3xx too, since redirects are not followed), or a request
  that cannot be built (a stored URL or secret that is no longer valid, an event that is not
  deliverable).
- ``skipped``: the customer lacks the field the integration's primary selector needs (email or
  E.164 phone); nothing is sent.
- ``uncertain``: for a destination that does not drop duplicates (Omnisend's real-time events), the
  request was fully sent but no answer came (a read timeout, or the peer closed the connection
  without a response): it may have been accepted, so it is not retried blindly but dead-lettered
  with that reason, for the merchant to check and replay (one confirmation path, no double email).
  Klaviyo (``unique_id``) and signed webhooks (``webhook-id``) dedupe, so for them it is ``retry``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx
from pydantic import ConfigDict

from pollen import __version__
from pollen.domain.deliveries import AttemptOutcome
from pollen.domain.integrations import Integration, IntegrationKind
from pollen.domain.profile import ProfileProperties
from pollen.events.deliverable import event_display_name
from pollen.events.envelope import OutboxEvent
from pollen.integrations import klaviyo, omnisend, webhook
from pollen.integrations.event_request import Skip
from pollen.model import BaseModel

TIMEOUT_SECONDS = 10.0
ERROR_BODY_LIMIT = 300  # characters of a failed response's body kept in the error
_PHASES = ("connect", "read", "write", "pool")

Outcome = AttemptOutcome  # one definition: pollen.domain.deliveries


class Attempt(BaseModel):
    model_config = ConfigDict(frozen=True)

    outcome: Outcome
    http_status: int | None
    latency_ms: int
    error: str | None
    retry_after_seconds: float | None  # from a 429/503 Retry-After header (seconds or HTTP date)


def outbound_client(transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """One client per warm container (connection reuse); 10 s timeouts, no redirects."""
    return httpx.Client(
        transport=transport,
        timeout=httpx.Timeout(TIMEOUT_SECONDS),
        follow_redirects=False,
        headers={"user-agent": f"Pollen/{__version__}"},
    )


class _Deadline(Mapping[str, float]):
    """httpcore reads the request's ``timeout`` extension at each phase (pool, connect, write, read);
    answering with the time left makes one budget cover the whole request, where ``httpx.Timeout``
    alone would allow 10 s per phase. (A peer dripping header bytes one by one can still stretch a
    phase; the function's own timeout bounds that.)"""

    def __init__(self, deadline: float, clock: Callable[[], float] = time.perf_counter) -> None:
        self._deadline = deadline
        self._clock = clock

    def __getitem__(self, phase: str) -> float:
        if phase not in _PHASES:
            raise KeyError(phase)
        return max(0.001, self._deadline - self._clock())

    def __iter__(self) -> Iterator[str]:
        return iter(_PHASES)

    def __len__(self) -> int:
        return len(_PHASES)


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` as seconds from ``now``: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def classify(status: int, headers: httpx.Headers, text: str, *, latency_ms: int, now: datetime) -> Attempt:
    if 200 <= status < 300:
        return Attempt(
            outcome="delivered",
            http_status=status,
            latency_ms=latency_ms,
            error=None,
            retry_after_seconds=None,
        )
    error = f"HTTP {status}" + (f": {text[:ERROR_BODY_LIMIT]}" if text else "")
    retry_after = retry_after_seconds(headers.get("retry-after"), now) if status in {429, 503} else None
    outcome: Outcome = "retry" if status == 429 or status >= 500 else "permanent"
    return Attempt(
        outcome=outcome,
        http_status=status,
        latency_ms=latency_ms,
        error=error,
        retry_after_seconds=retry_after,
    )


def _elapsed_ms(start: float) -> int:
    return round((time.perf_counter() - start) * 1000)


def _failed(outcome: Outcome, error: str, latency_ms: int = 0) -> Attempt:
    return Attempt(
        outcome=outcome, http_status=None, latency_ms=latency_ms, error=error, retry_after_seconds=None
    )


def send(
    client: httpx.Client,
    request: httpx.Request,
    *,
    now: datetime,
    budget_seconds: float = TIMEOUT_SECONDS,
    dedupes: bool = True,
) -> Attempt:
    """Send ``request`` within ``budget_seconds`` in all and classify the outcome. ``dedupes`` says
    whether the destination drops a repeated request; when it does not, a request that was sent but
    never answered is ``uncertain`` instead of ``retry``."""
    start = time.perf_counter()
    request.extensions["timeout"] = _Deadline(start + budget_seconds)
    try:
        response = client.send(request, stream=True)
        try:
            status = response.status_code
            text = ""
            if not 200 <= status < 300:  # a little of the body explains the failure
                chunks = []
                for chunk in response.iter_bytes():
                    chunks.append(chunk)
                    if sum(map(len, chunks)) >= ERROR_BODY_LIMIT:
                        break
                text = b"".join(chunks).decode("utf-8", "replace").strip()
        finally:
            response.close()
    except httpx.TimeoutException as exc:
        sent = isinstance(exc, httpx.ReadTimeout)  # the read phase starts once the request is written
        outcome: Outcome = "uncertain" if sent and not dedupes else "retry"
        return _failed(
            outcome, f"timeout ({type(exc).__name__}) after {_elapsed_ms(start)} ms", _elapsed_ms(start)
        )
    except httpx.RemoteProtocolError as exc:  # e.g. the peer closed the connection without answering
        closed: Outcome = "retry" if dedupes else "uncertain"
        return _failed(closed, f"{type(exc).__name__}: {exc}", _elapsed_ms(start))
    except httpx.UnsupportedProtocol as exc:
        return _failed("permanent", f"unsupported URL: {exc}", _elapsed_ms(start))
    except httpx.TransportError as exc:
        return _failed("retry", f"{type(exc).__name__}: {exc}", _elapsed_ms(start))
    return classify(status, response.headers, text, latency_ms=_elapsed_ms(start), now=now)


def build_request(
    client: httpx.Client,
    integration: Integration,
    event: OutboxEvent,
    *,
    name: str,
    now: datetime,
    profile: ProfileProperties | None = None,
) -> httpx.Request:
    """The exact request ``integration`` receives for ``event`` named ``name`` (with the customer's
    ``profile`` properties for the marketing tools); :class:`Skip` when the customer cannot be
    matched, ValueError/InvalidURL when the stored integration is unusable."""
    if integration.kind == IntegrationKind.KLAVIYO:
        return klaviyo.build_request(client, integration, event, name=name, profile=profile)
    if integration.kind == IntegrationKind.OMNISEND:
        return omnisend.build_request(client, integration, event, name=name, profile=profile)
    return webhook.build_request(client, integration, event, name=name, now=now)


def deliver(
    client: httpx.Client,
    integration: Integration,
    event: OutboxEvent,
    *,
    name_prefix: str,
    now: datetime,
    profile: ProfileProperties | None = None,
) -> Attempt:
    """Send ``event`` to ``integration`` as ``name_prefix`` + its display name; never raises for HTTP
    trouble (see the module docstring for the outcomes)."""
    try:
        name = name_prefix + event_display_name(event)
        request = build_request(client, integration, event, name=name, now=now, profile=profile)
    except Skip as skip:
        return _failed("skipped", str(skip))
    except (ValueError, httpx.InvalidURL) as exc:
        return _failed("permanent", f"cannot build the request: {exc}")
    return send(client, request, now=now, dedupes=integration.kind != IntegrationKind.OMNISEND)
