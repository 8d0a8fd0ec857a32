"""The request body, checked before anything parses it: size, media type, JSON shape.

Powertools parses a body with ``json.loads`` (last duplicate key wins, nesting limited only by the
interpreter's recursion limit) and would try multipart or form bodies for any route with a body
parameter. Pollen takes only JSON, so this runs first and answers, as a problem:

- ``413`` for a body over :data:`MAX_BODY_BYTES` (API Gateway's own limit is 10 MB);
- ``415`` for a body (or a body route) whose ``Content-Type`` is not JSON (``application/json`` or
  ``application/*+json``; no header means JSON, as ``curl -d`` users expect);
- ``400`` for JSON that is malformed, nested deeper than :data:`MAX_DEPTH`, or repeats a key in one
  object (RFC 8259 leaves duplicates undefined; we refuse rather than pick one).

The signed Shopify webhook goes through the same checks: its HMAC covers the bytes, not their shape.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Final

from aws_lambda_powertools.event_handler import Response

from pollen.api.problems import problem_response
from pollen.json_depth import MAX_JSON_DEPTH, json_depth

MAX_BODY_BYTES: Final = 256 * 1024
MAX_RAW_BODY_BYTES: Final = 5_000_000  # routes that read their own body: signed webhooks, CSV imports
MAX_DEPTH: Final = MAX_JSON_DEPTH


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen[key] = value
    return seen


def is_json_media_type(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def _bad_body(detail: str, slug: str = "malformed-json", title: str = "Malformed JSON") -> Response[str]:
    return problem_response(status=400, slug=slug, title=title, detail=detail)


def unsupported_media_type() -> Response[str]:
    return problem_response(
        status=415,
        slug="unsupported-media-type",
        title="Unsupported media type",
        detail="Send the request body as JSON with Content-Type: application/json.",
    )


def raw_body(event: Any) -> bytes | None:
    """The body's bytes, or None when a base64 body does not decode."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            return None
    return body.encode("utf-8", "surrogatepass")


def check_body(event: dict[str, Any], *, takes_body: bool) -> Response[str] | None:
    """A problem for a body Pollen will not read, or None when the body may be parsed."""
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    content_type = headers.get("content-type", "").strip()
    body = raw_body(event)
    if body is None:
        return _bad_body("The request body is not valid base64.", "malformed-body", "Malformed body")
    if len(body) > MAX_BODY_BYTES:
        return problem_response(
            status=413,
            slug="body-too-large",
            title="Body too large",
            detail=f"The request body may be at most {MAX_BODY_BYTES} bytes.",
        )
    if content_type and not is_json_media_type(content_type) and (body or takes_body):
        return unsupported_media_type()
    return check_json(body) if body else None


def check_json(body: bytes) -> Response[str] | None:
    """A 400 problem for JSON that is malformed, too deep or has a duplicate key."""
    try:
        parsed = json.loads(body.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except UnicodeDecodeError:
        return _bad_body("The request body must be UTF-8 encoded JSON.", "malformed-body", "Malformed body")
    except _DuplicateKey as exc:
        return _bad_body(f"The key {json.dumps(str(exc))[:100]} appears twice in one object.")
    except RecursionError:
        return _too_deep()
    except ValueError:
        return _bad_body("The request body is not valid JSON.")
    return _too_deep() if json_depth(parsed) > MAX_DEPTH else None


def _too_deep() -> Response[str]:
    return _bad_body(f"The JSON is nested more than {MAX_DEPTH} levels deep.")


def check_size(event: dict[str, Any], limit: int) -> Response[str] | None:
    """413 for a body over ``limit`` bytes (for routes that read their own body, which bound the rest)."""
    body = raw_body(event)
    if body is not None and len(body) > limit:
        return problem_response(
            status=413,
            slug="body-too-large",
            title="Body too large",
            detail=f"The request body may be at most {limit} bytes.",
        )
    return None
