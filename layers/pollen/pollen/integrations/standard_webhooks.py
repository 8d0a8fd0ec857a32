"""Standard Webhooks signatures (https://www.standardwebhooks.com, spec v1, symmetric ``v1``).

The signed content is ``{webhook-id}.{webhook-timestamp}.{body}``; the signature is
``v1,`` + base64(HMAC-SHA256(key, content)) where the key is the base64-decoded part of the
``whsec_`` secret. Receivers verify it with any Standard Webhooks (or Svix) library, reject stale
timestamps, and dedupe on ``webhook-id`` (the Pollen event id, the same on every retry).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping

from pollen.domain.integrations import webhook_secret_key

SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE_SECONDS = 5 * 60


class InvalidSignature(ValueError):
    """The request was not signed with this secret, or too long ago (or in the future)."""


def _signed_content(msg_id: str, timestamp: int, body: bytes) -> bytes:
    return f"{msg_id}.{timestamp}.".encode() + body


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: ``v1,<base64 HMAC-SHA256>``."""
    digest = hmac.new(webhook_secret_key(secret), _signed_content(msg_id, timestamp, body), hashlib.sha256)
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest.digest()).decode('ascii')}"


def signature_headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, msg_id, timestamp, body),
    }


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: int,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> None:
    """Raise :class:`InvalidSignature` unless one of the (space-separated) ``v1`` signatures matches
    and the timestamp is within ``tolerance_seconds`` of ``now``. Header names are case-insensitive."""
    lowered = {k.lower(): v for k, v in headers.items()}
    msg_id = lowered.get("webhook-id")
    raw_timestamp = lowered.get("webhook-timestamp")
    signatures = lowered.get("webhook-signature")
    if not msg_id or not raw_timestamp or not signatures:
        raise InvalidSignature("missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        timestamp = int(raw_timestamp)
    except ValueError as exc:
        raise InvalidSignature("webhook-timestamp is not an integer") from exc
    if abs(now - timestamp) > tolerance_seconds:
        raise InvalidSignature("webhook-timestamp is outside the tolerance")
    expected = sign(secret, msg_id, timestamp, body)
    for candidate in signatures.split(" "):
        version, _, _ = candidate.partition(",")
        if version == SIGNATURE_VERSION and hmac.compare_digest(candidate.encode(), expected.encode()):
            return
    raise InvalidSignature("no matching signature")
