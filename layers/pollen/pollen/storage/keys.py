"""Key builders for the single table. Every primary key starts with ``M#{merchant_id}#``.

Layout (PK → SK):
  M#{m}#CONFIG         → MERCHANT | PROGRAM | SHOPIFY | ... (read together, cached)
  M#{m}#APIKEY         → K#{key_id}
  M#{m}#C#{customer}   → PROFILE | WALLET | TXN#{ulid} | EVT#{ulid} (outbox)
  M#{m}#RCPT#{key}     → RCPT (idempotency receipts, TTL)
  M#{m}#EVT            → EVT#{ulid} (outbox events that belong to no customer)
GSI1 holds look-ups that cannot know the merchant, e.g. a Shopify shop domain.
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple


class Key(NamedTuple):
    pk: str
    sk: str

    def as_dict(self) -> dict[str, str]:
        return {"PK": self.pk, "SK": self.sk}


def part(value: str) -> str:
    """A key component: non-empty and free of the ``#`` separator."""
    if not value or "#" in value:
        raise ValueError(f"invalid key component: {value!r}")
    return value


def merchant_prefix(merchant_id: str) -> str:
    return f"M#{part(merchant_id)}#"


def config_pk(merchant_id: str) -> str:
    return f"{merchant_prefix(merchant_id)}CONFIG"


def merchant_key(merchant_id: str) -> Key:
    return Key(config_pk(merchant_id), "MERCHANT")


def program_key(merchant_id: str) -> Key:
    return Key(config_pk(merchant_id), "PROGRAM")


def shopify_key(merchant_id: str) -> Key:
    return Key(config_pk(merchant_id), "SHOPIFY")


def shop_domain_gsi1pk(shop_domain: str) -> str:
    return f"SHOPIFY#{part(shop_domain.lower())}"


def api_keys_pk(merchant_id: str) -> str:
    return f"{merchant_prefix(merchant_id)}APIKEY"


def api_key_key(merchant_id: str, key_id: str) -> Key:
    return Key(api_keys_pk(merchant_id), f"K#{part(key_id)}")


def customer_pk(merchant_id: str, customer_id: str) -> str:
    return f"{merchant_prefix(merchant_id)}C#{part(customer_id)}"


def outbox_key(merchant_id: str, event_id: str, customer_id: str | None = None) -> Key:
    """Outbox events live beside the entity they describe, so no partition runs hot."""
    pk = customer_pk(merchant_id, customer_id) if customer_id else f"{merchant_prefix(merchant_id)}EVT"
    return Key(pk, f"EVT#{part(event_id)}")


def receipt_key(merchant_id: str, scope: str, idempotency_key: str) -> Key:
    """Receipts are keyed by a digest so any client-chosen key is a safe key component."""
    digest = hashlib.sha256(f"{scope}\x00{idempotency_key}".encode()).hexdigest()
    return Key(f"{merchant_prefix(merchant_id)}RCPT#{digest}", "RCPT")
