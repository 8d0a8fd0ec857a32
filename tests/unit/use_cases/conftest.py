"""Use cases on in-memory fakes (tests/support/fakes.py): no moto, no network, milliseconds each."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import TypeAdapter

from pollen.domain.customers import Customer
from pollen.domain.merchants import Merchant
from pollen.domain.program import Program, default_settings
from pollen.domain.rewards import Reward, RewardSettings
from pollen.domain.wallet import Source, TxnType, Wallet
from pollen.services.container import Container
from tests.support.fakes import FakeConfigs, FakeStore, fake_container

M = "shop-1"
NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
REWARDS: TypeAdapter[Any] = TypeAdapter(RewardSettings)


def reward(reward_id: str, **settings: object) -> Reward:
    return Reward(
        reward_id=reward_id, settings=REWARDS.validate_python(settings), created_at=NOW, updated_at=NOW
    )


FIVE_OFF = reward("five-off", type="fixed_amount", name="$5 off", coins=100, amount="5.00")
PROGRAM = Program(**default_settings().model_dump(), version=1, updated_at=NOW)


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def configs() -> FakeConfigs:
    configs = FakeConfigs()
    configs.put(Merchant(merchant_id=M, name="Shop", created_at=NOW), PROGRAM, [FIVE_OFF])
    return configs


@pytest.fixture
def c(store: FakeStore, configs: FakeConfigs) -> Container:
    return fake_container(store, configs)


def with_coins(store: FakeStore, customer_id: str, *credits: int) -> None:
    """A customer with an email and a wallet credited ``credits`` (each its own lot and entry)."""
    customer = Customer(
        customer_id=customer_id, email=f"{customer_id}@example.com", created_at=NOW, updated_at=NOW
    )
    wallet, entries = Wallet(customer_id=customer_id), []
    for n, coins in enumerate(credits):
        wallet, entry = wallet.credit(
            coins,
            type=TxnType.ADJUST,
            source=Source.ADMIN,
            reference=f"seed-{n}",
            now=NOW,
            expiry_days=30 * (n + 1),
        )
        entries.append(entry)
    store.add_customer(M, customer, wallet, entries)


@pytest.fixture(autouse=True)
def _ledger_holds(store: FakeStore) -> object:
    yield
    store.check_ledger()


__all__ = ["FIVE_OFF", "NOW", "PROGRAM", "Decimal", "M", "reward", "with_coins"]
