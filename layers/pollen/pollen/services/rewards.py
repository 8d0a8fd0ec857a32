"""The rewards catalogue: the merchant edits it; customers see what they can redeem now."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pollen.domain.errors import NotFound
from pollen.domain.rewards import AllowedCoins, Reward, RewardSettings, eligibility
from pollen.domain.values import value
from pollen.services.container import Container
from pollen.services.merchants import merchant_config
from pollen.services.program import get_program
from pollen.storage.customers import CustomerStore
from pollen.storage.rewards import rewards_of


def list_rewards(c: Container, merchant_id: str) -> list[Reward]:
    return sorted(rewards_of(merchant_config(c, merchant_id)).values(), key=lambda r: r.reward_id)


def get_reward(c: Container, merchant_id: str, reward_id: str) -> Reward:
    reward = rewards_of(merchant_config(c, merchant_id)).get(reward_id)
    if reward is None:
        raise NotFound("No reward with this id.")
    return reward


def put_reward(
    c: Container, merchant_id: str, reward_id: str, settings: RewardSettings, *, now: datetime
) -> tuple[Reward, bool]:
    """Create or replace; coupons already issued keep the terms they were issued with."""
    existing = rewards_of(merchant_config(c, merchant_id)).get(reward_id)
    reward = Reward(
        reward_id=reward_id,
        settings=settings,
        created_at=existing.created_at if existing else now,
        updated_at=now,
    )
    uow = c.units.begin(merchant_id)
    uow.rewards.save(reward)
    uow.emit("reward_updated", reward, customer_id=None, now=now)  # the definition is the payload
    uow.commit(now=now)
    c.config.invalidate(merchant_id)
    return reward, existing is None


def delete_reward(c: Container, merchant_id: str, reward_id: str) -> None:
    get_reward(c, merchant_id, reward_id)
    uow = c.units.begin(merchant_id)
    uow.rewards.delete(reward_id)
    uow.commit()
    c.config.invalidate(merchant_id)


@value
class Offer:
    """A reward as one customer sees it now."""

    reward: Reward
    eligible: bool
    reason: str | None
    allowed_coins: AllowedCoins | None


def offers(
    c: Container, merchant_id: str, *, customer_id: str | None, cart_total: Decimal | None
) -> list[Offer]:
    """Enabled rewards with eligibility for this customer and cart; one GetItem when a customer is named."""
    program = get_program(c, merchant_id)
    balance: int | None = None
    if customer_id is not None:
        record = CustomerStore(c.table).get(merchant_id, customer_id, consistent=False)  # half the read units
        if record is None:
            raise NotFound("No customer with this id.")
        balance = record.wallet.balance
    # Without a customer the offer says what each reward asks, not whether they can pay for it.
    spendable = balance if balance is not None else 10**9
    result = []
    for reward in list_rewards(c, merchant_id):
        if reward.settings.enabled:
            eligible, reason, allowed = eligibility(
                reward, coin_value=program.coin_value, balance=spendable, cart_total=cart_total
            )
            result.append(Offer(reward, eligible, reason, allowed))
    return result
