"""The demo store `make dev` starts with: a merchant, its program, four API keys (the app key and three
server keys), a Shopify link, two triggers and one reward of each kind."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel

from infra.onboard import onboard
from pollen.clock import utcnow
from pollen.domain.merchants import ShopifyConnection
from pollen.domain.program import EarningRule, ExpiryRule, ProgramSettings
from pollen.domain.referrals import (
    FriendReward,
    Qualifying,
    ReferralRewardType,
    ReferralSettings,
    Reminder,
    RewardSpec,
)
from pollen.domain.rewards import (
    DynamicReward,
    FixedAmountReward,
    FreeShippingReward,
    PercentageReward,
    RewardSettings,
    RewardType,
)
from pollen.domain.tiers import (
    Benefits,
    EntryReward,
    Metric,
    Threshold,
    TierDefinition,
    TierProgramSettings,
    Window,
    WindowKind,
)
from pollen.domain.triggers import TriggerSettings
from pollen.ids import new_token
from pollen.services.container import container
from pollen.services.referrals import update_settings as update_referral_settings
from pollen.services.rewards import put_reward
from pollen.services.tiers import put_tier_program
from pollen.services.triggers import put_trigger

DEMO_MERCHANT_ID = "demo-store"
DEMO_SHOP_DOMAIN = "pollen-demo.myshopify.com"


class DemoApiKeys(BaseModel):
    public: str  # the app key: ships in apps and widgets (customer routes also need a customer token)
    read: str
    write: str
    admin: str


class DemoShopify(BaseModel):
    shop_domain: str
    webhook_secret: str


class DemoStore(BaseModel):
    """What `make dev` prints and writes to `.pollen/demo-store.json`."""

    base_url: str
    merchant_id: str
    api_keys: DemoApiKeys
    shopify: DemoShopify


DEMO_PROGRAM = ProgramSettings(
    currency="USD",
    earning=EarningRule(coins_per_unit=Decimal(1), unit_amount=Decimal(1)),
    coin_value=Decimal("0.05"),
    expiry=ExpiryRule(days=365, reminder_days_before=14),
)


DEMO_TRIGGERS = {
    "signup": TriggerSettings(name="Signed up", coins=50, frequency="once"),
    "app_install": TriggerSettings(
        name="Installed the app", coins=25, frequency="once", customer_runnable=True
    ),
}


DEMO_REWARDS: dict[str, RewardSettings] = {
    "five-off": FixedAmountReward(
        type=RewardType.FIXED_AMOUNT, name="$5 off", coins=100, amount=Decimal("5.00"), validity_days=30
    ),
    "ten-percent": PercentageReward(
        type=RewardType.PERCENTAGE,
        name="10% off (up to $20)",
        coins=150,
        percentage=Decimal(10),
        max_discount=Decimal("20.00"),
        min_order_subtotal=Decimal("30.00"),
    ),
    "free-shipping": FreeShippingReward(type=RewardType.FREE_SHIPPING, name="Free shipping", coins=80),
    "pay-with-coins": DynamicReward(
        type=RewardType.DYNAMIC,
        name="Pay with coins",
        min_coins=20,
        max_coins=2000,
        step=10,
        max_cart_percent=Decimal(50),
    ),
}


DEMO_TIERS = TierProgramSettings(
    tiers=[
        TierDefinition(
            tier_id="silver",
            name="Silver",
            threshold=Threshold(metric=Metric.SPEND, value=Decimal(100)),
            benefits=Benefits(
                earn_multiplier=Decimal("1.5"),
                entry_reward=EntryReward(coins=50),
                perks=["1.5x coins on every order", "50 coins when you join"],
            ),
        ),
        TierDefinition(
            tier_id="gold",
            name="Gold",
            threshold=Threshold(metric=Metric.SPEND, value=Decimal(500)),
            benefits=Benefits(earn_multiplier=Decimal(2), perks=["2x coins on every order", "Early access"]),
        ),
    ],
    window=Window(kind=WindowKind.ROLLING_DAYS, days=365),
    retention_days=30,
    downgrade_warning_days=7,
)


DEMO_REFERRALS = ReferralSettings(
    enabled=True,
    referrer_reward=RewardSpec(type=ReferralRewardType.COINS, coins=500),
    friend_reward=FriendReward(type=ReferralRewardType.COINS, coins=250),
    qualifying=Qualifying(min_order_subtotal=Decimal(25)),
    reminder=Reminder(after_days=3, max_reminders=2),
)


def seed_demo_store(base_url: str, merchant_id: str = DEMO_MERCHANT_ID, *, tiers: bool = False) -> DemoStore:
    """Create the demo merchant in the table the environment points at, with fresh keys and secret.
    ``tiers`` adds the demo VIP tiers (Silver, Gold): ``make dev`` does, the test fixtures do not."""
    shopify = ShopifyConnection(shop_domain=DEMO_SHOP_DOMAIN, webhook_secret=new_token(32))
    keys = onboard(merchant_id, "Pollen Demo Store", DEMO_PROGRAM, shopify=shopify)
    for trigger_id, settings in DEMO_TRIGGERS.items():
        put_trigger(container(), merchant_id, trigger_id, settings, now=utcnow())
    for reward_id, reward in DEMO_REWARDS.items():
        put_reward(container(), merchant_id, reward_id, reward, now=utcnow())
    update_referral_settings(container(), merchant_id, DEMO_REFERRALS, now=utcnow(), expected_version=None)
    if tiers:
        put_tier_program(container(), merchant_id, DEMO_TIERS, now=utcnow(), expected_version=None)
    return DemoStore(
        base_url=base_url,
        merchant_id=merchant_id,
        api_keys=DemoApiKeys.model_validate(keys.model_dump()),
        shopify=DemoShopify(shop_domain=shopify.shop_domain, webhook_secret=shopify.webhook_secret),
    )
