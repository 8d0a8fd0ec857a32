"""Request and response bodies of the referrals API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from pollen.domain.referrals import (
    IssuedReward,
    Referral,
    mask_email,
    mask_phone,
)
from pollen.model import BaseModel

Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
    ),
]
Phone = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=32, pattern=r"^\+?[0-9 ()./-]{6,31}$")
]
DeviceId = Annotated[str, StringConstraints(min_length=1, max_length=128)]
ShareChannel = Literal["email", "sms", "whatsapp", "facebook", "x", "copy_link", "other"]


class InviteBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Email | None = None
    phone: Phone | None = None
    name: Annotated[str, StringConstraints(max_length=100)] | None = None
    device_id: DeviceId | None = Field(default=None, description="The referrer's browser/device id.")

    @model_validator(mode="after")
    def _one_contact(self) -> Self:
        if not self.email and not self.phone:
            raise ValueError("give the friend's email or phone")
        return self


class ShareBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: ShareChannel
    device_id: DeviceId | None = None


class ReferralView(BaseModel):
    """One referral as the referrer (and their app) sees it: the friend's contact masked."""

    referral_id: str
    channel: str
    status: str
    reason: str | None
    code: str | None
    friend_email: str | None
    friend_phone: str | None
    friend_name: str | None
    rewards: list[IssuedReward]
    created_at: datetime
    signed_up_at: datetime | None
    completed_at: datetime | None
    rejected_at: datetime | None
    reversed_at: datetime | None

    @classmethod
    def of(cls, r: Referral) -> ReferralView:
        return cls(
            referral_id=r.referral_id,
            channel=r.channel,
            status=r.status.value,
            reason=r.reason.value if r.reason else None,
            code=r.code,
            friend_email=mask_email(r.friend_email),
            friend_phone=mask_phone(r.friend_phone),
            friend_name=r.friend_name,
            rewards=r.rewards,
            created_at=r.created_at,
            signed_up_at=r.signed_up_at,
            completed_at=r.completed_at,
            rejected_at=r.rejected_at,
            reversed_at=r.reversed_at,
        )


class ReferralStats(BaseModel):
    invited: int
    signed_up: int
    completed: int
    rejected: int
    reversed: int
    coins_earned: int
    friends_revenue: str
    shares: dict[str, int]


class ReferralPageView(BaseModel):
    customer_id: str
    code: str
    share_url: str
    enabled: bool
    stats: ReferralStats


class ReferralPage(BaseModel):
    items: list[ReferralView]
    next_cursor: str | None
