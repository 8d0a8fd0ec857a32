"""boto3 clients for the tests' own reads and writes, made once per process and environment.

A client costs tens of milliseconds to build; the tests' own reads (the ledger check after every
test, the demo store's writes) would build one per test. moto intercepts every client made after it is
imported, so one client per endpoint serves every test."""

from __future__ import annotations

import os
from typing import Any

import boto3

_clients: dict[tuple[str, ...], Any] = {}


def client_for(service: str) -> Any:
    """A client for ``service`` as ``boto3.client(service)`` would make it from the environment now."""
    key = (
        service,
        os.environ.get("AWS_ENDPOINT_URL", ""),
        os.environ.get("AWS_DEFAULT_REGION", ""),
        os.environ.get("AWS_ACCESS_KEY_ID", ""),
        os.environ.get("AWS_SECRET_ACCESS_KEY", ""),
    )
    client = _clients.get(key)
    if client is None:
        client = _clients[key] = boto3.session.Session().client(service)  # type: ignore[call-overload]
    return client
