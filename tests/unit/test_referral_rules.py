"""Referral rules: codes, contact normalisation, masks, every fraud guard, settings validation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from pollen.domain.coupons import normalize_code
from pollen.domain.referrals import (
    CODE_PATTERN,
    FraudSettings,
    MaxRewarded,
    Party,
    Reason,
    Referral,
    ReferralSettings,
    ReferralStatus,
    RewardSpec,
    contact_digest,
    fingerprint,
    mask_email,
    mask_phone,
    new_referral_code,
    normalize_email,
    normalize_referral_code,
    phone_digits_only,
    screen,
    window_key,
)
from pollen.events.catalogue import EventFilters, filters_match, parse_payload
from pollen.services.referral_rewards import referral_event


def test_codes_are_personal_human_friendly_and_unguessable() -> None:
    codes = {new_referral_code("Zoë-Anne") for _ in range(2000)}
    assert len(codes) == 2000  # 40 random bits: no collisions in a few thousand
    assert all(c.startswith("ZOEANNE-") and CODE_PATTERN.match(c) for c in codes)
    assert not any(ch in c.split("-")[1] for c in codes for ch in "01IO")
    assert new_referral_code(None).startswith("FRIEND-")
    assert new_referral_code("李").startswith("FRIEND-")
    code = new_referral_code("Ann")
    assert normalize_referral_code(f"  {code.lower()} ") == code
    assert normalize_referral_code("K7QX-M4TR-9BWE") is None  # a coupon code is never a referral code
    assert normalize_code(code) is None  # and the other way round


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("Anna@Example.com", "anna@example.com"),
        ("anna+shop@example.com", "anna@example.com"),
        ("a.n.n.a@example.com", "a.n.n.a@example.com"),  # dots matter where the provider says so
        ("A.nna+x@GMail.com", "anna@gmail.com"),
        ("anna@googlemail.com", "anna@gmail.com"),
        ("not-an-email", "not-an-email"),
    ],
)
def test_email_normalisation(raw: str, normal: str) -> None:
    assert normalize_email(raw) == normal


def test_phone_digits_and_digests() -> None:
    assert phone_digits_only("+1 (613) 555-0101") == phone_digits_only("613.555.0101") == "6135550101"
    assert contact_digest("email", "Anna+x@gmail.com") == contact_digest("email", "anna@gmail.com")
    assert contact_digest("email", "a#b@x.com").isalnum()  # always a safe key component
    assert fingerprint("1 Main St., Ottawa") == fingerprint("1 main st ottawa")


def test_masks() -> None:
    assert mask_email("friend@x.com") == "f***@x.com"
    assert mask_phone("+1 613 555 0199") == "***99"
    assert mask_email(None) is None


REFERRER = Party(
    customer_id="a",
    email="ann@gmail.com",
    phone="+16135550101",
    addresses=frozenset({"h1"}),
    devices=frozenset({"d1"}),
)


@pytest.mark.parametrize(
    ("friend", "kwargs", "reason"),
    [
        (Party(customer_id="a"), {}, Reason.SELF_REFERRAL),
        (Party(email="A.n.n+x@GoogleMail.com"), {}, Reason.SELF_REFERRAL),
        (Party(phone="613-555-0101"), {}, Reason.SELF_REFERRAL),
        (Party(customer_id="b"), {"referred_by": "someone"}, Reason.ALREADY_REFERRED),
        (Party(customer_id="b"), {"friend_is_customer": True}, Reason.NOT_NEW_CUSTOMER),
        (Party(customer_id="b", addresses=frozenset({"h1"})), {}, Reason.SAME_ADDRESS),
        (Party(customer_id="b", devices=frozenset({"d1"})), {}, Reason.SAME_DEVICE),
        (Party(customer_id="b"), {"referred_by": "a"}, None),  # the same referrer again is no rejection
        (Party(customer_id="b", email="bob@gmail.com"), {}, None),
    ],
)
def test_every_guard(friend: Party, kwargs: dict[str, object], reason: Reason | None) -> None:
    args = {"friend_is_customer": False, "referred_by": None, **kwargs}
    assert screen(FraudSettings(), REFERRER, friend, **args) == reason  # type: ignore[arg-type]


def test_each_guard_can_be_switched_off() -> None:
    off = FraudSettings(
        self_referral=False,
        existing_customer=False,
        already_referred=False,
        same_address=False,
        same_device=False,
    )
    friend = Party(customer_id="a", addresses=frozenset({"h1"}), devices=frozenset({"d1"}))
    assert screen(off, REFERRER, friend, friend_is_customer=True, referred_by="x") is None


def test_settings_validation_and_windows() -> None:
    assert ReferralSettings().enabled is False
    with pytest.raises(ValidationError):
        RewardSpec.model_validate({"type": "coins"})
    with pytest.raises(ValidationError):
        RewardSpec.model_validate({"type": "percentage", "value": "120"})
    with pytest.raises(ValidationError):
        RewardSpec.model_validate({"type": "free_shipping", "value": "5"})
    with pytest.raises(ValidationError):
        ReferralSettings.model_validate({"surprise": True})
    now = datetime(2026, 12, 2, 12, tzinfo=UTC)
    assert window_key(MaxRewarded(count=1, per="day"), now) == "day-2026-12-02"
    assert window_key(MaxRewarded(count=1, per="month"), now) == "month-2026-12"
    assert window_key(MaxRewarded(count=1), now) == "lifetime"


def test_referral_events_parse_and_filter_by_role_and_reason() -> None:
    now = datetime(2026, 12, 2, 12, tzinfo=UTC)
    referral = Referral(
        referral_id="01KB2R7M4Q8X3T5V9N2P6W8Y0Z",
        referrer_id="a",
        channel="code",
        status=ReferralStatus.REJECTED,
        reason=Reason.SAME_DEVICE,
        friend_email="friend@x.com",
        created_at=now,
        updated_at=now,
    )
    about = {"customer_id": "a", "email": "a@x.com"}
    rejected = referral_event("referral_rejected", "m1", referral, about=about, now=now)
    completed = referral_event("referral_completed", "m1", referral, about=about, role="friend", now=now)
    for event in (rejected, completed):
        parse_payload(event)  # what Pollen writes is what the catalogue promises
    assert rejected.payload["friend"]["email"] == "f***@x.com"
    assert filters_match(EventFilters(referral_reasons=["same_device"]), rejected)
    assert not filters_match(EventFilters(referral_reasons=["self_referral"]), rejected)
    assert filters_match(EventFilters(referral_roles=["friend"]), completed)
    assert not filters_match(EventFilters(referral_roles=["referrer"]), completed)
    assert not filters_match(EventFilters(referral_roles=["friend"]), rejected)  # not offered there
