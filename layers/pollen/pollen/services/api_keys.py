"""Create, list, revoke and authenticate API keys."""

from __future__ import annotations

from datetime import datetime

from pollen.domain import api_keys as rules
from pollen.domain.api_keys import ApiKey, Scope
from pollen.domain.errors import NotFound, Unauthenticated
from pollen.services.container import Container
from pollen.storage.errors import ConditionFailed

_BAD_KEY = "A valid API key is required in the X-Api-Key header."


def authenticate(c: Container, plaintext: str | None) -> ApiKey:
    """The active key for ``plaintext``; every failure looks the same to the caller."""
    if not plaintext:
        raise Unauthenticated(_BAD_KEY)
    key_hash = rules.hash_key(plaintext)
    hit, key = c.key_cache.get(key_hash)
    if not hit:
        parts = rules.parse_key(plaintext)
        key = c.api_keys.get(parts.merchant_id, parts.key_id) if parts else None
        if key is not None and not rules.matches(plaintext, key.key_hash):
            key = None
        c.key_cache.put(key_hash, key)
    if key is None or not key.active:
        raise Unauthenticated(_BAD_KEY)
    return key


def create_key(
    c: Container, merchant_id: str, *, name: str, scope: Scope, now: datetime
) -> tuple[ApiKey, str]:
    """A new key and its plaintext, which is never stored and never shown again."""
    from pollen.events.internal import ApiKeyCreatedPayload  # noqa: PLC0415 - write path only

    new = rules.generate_key(merchant_id)
    key = ApiKey(
        merchant_id=merchant_id,
        key_id=new.key_id,
        name=name,
        scope=scope,
        key_hash=new.key_hash,
        hint=new.hint,
        created_at=now,
    )
    uow = c.units.begin(merchant_id)
    uow.api_keys.add(key)
    payload = ApiKeyCreatedPayload(key_id=key.key_id, name=name, scope=scope.value)
    uow.emit("api_key_created", payload, customer_id=None, now=now)
    uow.commit(now=now)
    return key, new.plaintext


def list_keys(c: Container, merchant_id: str) -> list[ApiKey]:
    return sorted(c.api_keys.list(merchant_id), key=lambda k: k.created_at)


def revoke_key(c: Container, merchant_id: str, key_id: str, *, now: datetime) -> None:
    """Revoke at once on this container; other warm containers drop it within the cache TTL.

    Revoking an already revoked key succeeds without a second event (DELETE is idempotent).
    """
    from pollen.events.internal import ApiKeyRevokedPayload  # noqa: PLC0415 - write path only

    uow = c.units.begin(merchant_id)
    uow.api_keys.revoke(key_id, at=now)
    uow.emit("api_key_revoked", ApiKeyRevokedPayload(key_id=key_id), customer_id=None, now=now)
    try:
        uow.commit(now=now)
    except ConditionFailed as exc:
        if not exc.items.get("api_key"):
            raise NotFound("No API key with this id.") from exc
    finally:
        c.key_cache.evict(merchant_id, key_id)
