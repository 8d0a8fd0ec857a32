"""API keys: format, generation, hashing and scopes.

A key reads ``pollen.<merchant_id>.<key_id>.<secret>``. The merchant and key id route the look-up to
one item (``M#{merchant}#APIKEY`` / ``K#{key_id}``); only the SHA-256 of the whole key is stored, and
the presented key's hash is compared with it in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

from pydantic import ConfigDict

from pollen.ids import new_hex_id, new_token
from pollen.model import BaseModel

PREFIX = "pollen"
_KEY_RE = re.compile(r"^pollen\.([a-z0-9][a-z0-9-]{1,62})\.([0-9a-f]{16})\.([A-Za-z0-9_-]{43})$")


class Scope(StrEnum):
    """``public``: the app key (ships in apps and widgets); ``read``/``write``/``admin``: server keys."""

    PUBLIC = "public"
    READ = "read"
    WRITE = "write"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def allows(self, required: Scope) -> bool:
        """Scopes nest: admin ⊃ write ⊃ read ⊃ public."""
        return self.rank >= required.rank

    @property
    def is_server(self) -> bool:
        """A server key never ships in an app: it may act for any customer of its merchant."""
        return self is not Scope.PUBLIC


_RANK = {Scope.PUBLIC: 0, Scope.READ: 1, Scope.WRITE: 2, Scope.ADMIN: 3}


class KeyParts(NamedTuple):
    merchant_id: str
    key_id: str


class NewKey(NamedTuple):
    plaintext: str
    key_id: str
    key_hash: str
    hint: str


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def generate_key(merchant_id: str) -> NewKey:
    key_id = new_hex_id(8)
    secret = new_token(32)  # 256 bits; 43 URL-safe characters
    plaintext = f"{PREFIX}.{merchant_id}.{key_id}.{secret}"
    return NewKey(plaintext, key_id, hash_key(plaintext), secret[-4:])


def parse_key(plaintext: str) -> KeyParts | None:
    """The routing parts of a well-formed key, or ``None``. Says nothing about whether it exists."""
    match = _KEY_RE.match(plaintext)
    return KeyParts(match.group(1), match.group(2)) if match else None


def matches(plaintext: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_key(plaintext), stored_hash)


def masked(merchant_id: str, key_id: str, hint: str) -> str:
    return f"{PREFIX}.{merchant_id}.{key_id}.…{hint}"


class ApiKey(BaseModel):
    """A stored key: its hash, never the key."""

    model_config = ConfigDict(frozen=True)

    merchant_id: str
    key_id: str
    name: str
    scope: Scope
    key_hash: str
    hint: str
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None
