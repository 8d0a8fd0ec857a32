"""One cheap authenticated call that tells whether Klaviyo or Omnisend accepts an API key, made when
the key is saved, so a typo shows up as a 422 on the spot instead of as dead letters later.

- Klaviyo: ``GET https://a.klaviyo.com/api/accounts`` (revision 2026-01-15). 401 means the key is not
  a key; 403 means it is one without the ``accounts:read`` scope, which Pollen does not need (it needs
  ``events:write``): accepted.
- Omnisend: ``GET https://api.omnisend.com/v5/contacts?limit=1`` (``X-API-KEY``), which both the legacy
  and the dated API keys answer; 401/403 mean Omnisend refused the key.
Anything else (a timeout, a 5xx, no network as in ``make dev``) leaves the key unverified: it is saved
with a warning, since the service being down says nothing about the key.
"""

from __future__ import annotations

from typing import Literal

import httpx

from pollen.domain.integrations import Integration, IntegrationKind
from pollen.integrations import klaviyo
from pollen.model import BaseModel

CHECK_SECONDS = 5.0
OMNISEND_CHECK_URL = "https://api.omnisend.com/v5/contacts"


class KeyCheck(BaseModel):
    status: Literal["verified", "unverified", "rejected"]
    detail: str


def _request(client: httpx.Client, integration: Integration) -> httpx.Request:
    if integration.kind == IntegrationKind.KLAVIYO:
        return client.build_request(
            "GET",
            "https://a.klaviyo.com/api/accounts",
            headers={
                "Authorization": f"Klaviyo-API-Key {integration.api_key}",
                "revision": klaviyo.REVISION,
                "accept": klaviyo.JSON_API,
            },
        )
    return client.build_request(
        "GET",
        OMNISEND_CHECK_URL,
        params={"limit": "1"},
        headers={"X-API-KEY": str(integration.api_key), "accept": "application/json"},
    )


def check_key(client: httpx.Client, integration: Integration) -> KeyCheck:
    name = "Klaviyo" if integration.kind == IntegrationKind.KLAVIYO else "Omnisend"
    request = _request(client, integration)
    request.extensions["timeout"] = httpx.Timeout(CHECK_SECONDS).as_dict()
    try:
        response = client.send(request)
    except httpx.HTTPError as exc:
        return KeyCheck(status="unverified", detail=f"{name} could not be reached ({type(exc).__name__}).")
    status = response.status_code
    refused = {401} if integration.kind == IntegrationKind.KLAVIYO else {401, 403}
    if status in refused:
        return KeyCheck(status="rejected", detail=f"{name} refused this API key (HTTP {status}).")
    if 200 <= status < 300 or status == 403:
        return KeyCheck(status="verified", detail=f"{name} accepted this API key.")
    return KeyCheck(status="unverified", detail=f"{name} answered HTTP {status}; the key was not checked.")
