from __future__ import annotations

import pytest

from pollen.domain import api_keys as rules
from pollen.domain.api_keys import Scope


def test_generated_key_parses_back_to_its_merchant_and_id() -> None:
    new = rules.generate_key("demo-store")
    parts = rules.parse_key(new.plaintext)
    assert parts == rules.KeyParts("demo-store", new.key_id)
    assert new.plaintext.startswith("pollen.demo-store.")
    assert new.key_hash == rules.hash_key(new.plaintext)
    assert new.plaintext.endswith(new.hint)


def test_keys_are_unique_and_carry_256_bits_of_secret() -> None:
    keys = {rules.generate_key("m1").plaintext for _ in range(200)}
    assert len(keys) == 200
    secret = next(iter(keys)).rsplit(".", 1)[1]
    assert len(secret) == 43  # 32 random bytes, base64url


def test_hash_is_sha256_hex_and_never_the_key() -> None:
    new = rules.generate_key("m1")
    assert len(new.key_hash) == 64
    assert new.plaintext not in new.key_hash
    assert rules.matches(new.plaintext, new.key_hash)
    assert not rules.matches(new.plaintext + "x", new.key_hash)


@pytest.mark.parametrize(
    "candidate",
    [
        "",
        "pollen",
        "pollen.demo-store",
        "pollen.DEMO.0123456789abcdef." + "a" * 43,
        "pollen.demo-store.0123456789abcdeg." + "a" * 43,
        "pollen.demo-store.0123456789abcdef." + "a" * 42,
        "sk_live.demo-store.0123456789abcdef." + "a" * 43,
        "pollen.demo#store.0123456789abcdef." + "a" * 43,
    ],
)
def test_malformed_keys_do_not_parse(candidate: str) -> None:
    assert rules.parse_key(candidate) is None


@pytest.mark.parametrize(
    ("held", "required", "allowed"),
    [
        (Scope.READ, Scope.READ, True),
        (Scope.READ, Scope.WRITE, False),
        (Scope.READ, Scope.ADMIN, False),
        (Scope.WRITE, Scope.READ, True),
        (Scope.WRITE, Scope.ADMIN, False),
        (Scope.ADMIN, Scope.WRITE, True),
        (Scope.ADMIN, Scope.ADMIN, True),
    ],
)
def test_scopes_nest(held: Scope, required: Scope, allowed: bool) -> None:
    assert held.allows(required) is allowed


def test_masked_key_shows_only_the_hint() -> None:
    new = rules.generate_key("m1")
    masked = rules.masked("m1", new.key_id, new.hint)
    secret = new.plaintext.rsplit(".", 1)[1]
    assert secret not in masked
    assert masked.endswith(new.hint)
