"""The merchant's customer-token keyring: one item in the config partition, cached with it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pollen.clock import isoformat
from pollen.domain.customer_tokens import Keyring, TokenSecret
from pollen.storage.keys import token_keyring_key

if TYPE_CHECKING:
    from pollen.storage.merchant_config import MerchantConfig
    from pollen.storage.transactions import Transaction

KEYRING_ENTITY = "customer_token_keys"


def keyring_of(config: MerchantConfig) -> Keyring:
    return parse_keyring(config.items.get(token_keyring_key(config.merchant.merchant_id).sk))


def parse_keyring(item: dict[str, Any] | None) -> Keyring:
    if not item:
        return Keyring()
    return Keyring(
        secrets=[TokenSecret.model_validate(s) for s in item.get("secrets", [])], version=int(item["version"])
    )


def put_keyring(tx: Transaction, merchant_id: str, ring: Keyring) -> None:
    """Guarded by the version it replaces, so two rotations never both win."""
    item = {
        **token_keyring_key(merchant_id).as_dict(),
        "entity": KEYRING_ENTITY,
        "merchant_id": merchant_id,
        "secrets": [
            {
                "kid": s.kid,
                "secret": s.secret,
                "created_at": isoformat(s.created_at),
                "retires_at": isoformat(s.retires_at) if s.retires_at else None,
            }
            for s in ring.secrets
        ],
        "version": ring.version,
    }
    if ring.version == 1:
        tx.put(item, label="token-keys", condition="attribute_not_exists(PK)")
    else:
        tx.put(
            item,
            label="token-keys",
            condition="#v = :v",
            names={"#v": "version"},
            values={":v": ring.version - 1},
        )
