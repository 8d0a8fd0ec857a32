"""The unit of work's referral repository (loaded by ``UnitOfWork.referrals`` on first use, so the
functions that never touch a referral do not import it)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from pollen.domain.referrals import FriendState, InviteHold, Referral, ReferrerProfile, StoredReferralSettings
from pollen.storage.ports import (
    ClaimCode,
    CodeOwner,
    CodeRef,
    ContactOwner,
    ContactRef,
    CountReferrer,
    CountWindow,
    FriendRef,
    HoldInvite,
    InviteRef,
    ReferralRef,
    ReferrerRef,
    SaveFriend,
    SaveReferral,
    SaveReferralSettings,
    SetReferrerDiscount,
    WindowCount,
    WindowRef,
)

if TYPE_CHECKING:
    from pollen.services.unit_of_work import UnitOfWork


class Referrals:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    # ---- reading ----
    def want_referrer(self, customer_id: str) -> None:
        self._uow._want(ReferrerRef(customer_id))

    def referrer(self, customer_id: str) -> ReferrerProfile:
        """The profile; an empty one (no code, no counters) for a customer who never referred."""
        found = self._uow.get_as(ReferrerRef(customer_id), ReferrerProfile)
        return found or ReferrerProfile(customer_id)

    def stored_referrer(self, customer_id: str) -> ReferrerProfile | None:
        """The stored profile; None when the customer has none (never referred, never viewed it)."""
        return self._uow.get_as(ReferrerRef(customer_id), ReferrerProfile)

    def want_friend(self, customer_id: str) -> None:
        self._uow._want(FriendRef(customer_id))

    def friend(self, customer_id: str) -> FriendState:
        """The customer as a friend; version 0 when nothing is stored yet."""
        found = self._uow.get_as(FriendRef(customer_id), FriendState)
        return found or FriendState(customer_id)

    def want_invite(self, digest: str) -> None:
        self._uow._want(InviteRef(digest))

    def invite(self, digest: str) -> InviteHold | None:
        return self._uow.get_as(InviteRef(digest), InviteHold)

    def want_referral(self, referrer_id: str, referral_id: str) -> None:
        self._uow._want(ReferralRef(referrer_id, referral_id))

    def referral(self, referrer_id: str, referral_id: str) -> Referral | None:
        return self._uow.get_as(ReferralRef(referrer_id, referral_id), Referral)

    def fetch_referral(self, referrer_id: str, referral_id: str) -> Referral | None:
        """The referral as stored now, read on its own (one GetItem)."""
        return self._uow.fetch_as(ReferralRef(referrer_id, referral_id), Referral)

    def want_code(self, code: str) -> None:
        self._uow._want(CodeRef(code))

    def code_owner(self, code: str) -> CodeOwner | None:
        """The referrer a referral code names (None: no such code)."""
        return self._uow.get_as(CodeRef(code), CodeOwner)

    def want_window(self, referrer_id: str, window: str) -> None:
        self._uow._want(WindowRef(referrer_id, window))

    def window_count(self, referrer_id: str, window: str) -> int:
        """Referrals the referrer was rewarded for in ``window`` so far."""
        found = self._uow.get_as(WindowRef(referrer_id, window), WindowCount)
        return found.rewarded if found else 0

    def count_window(self, referrer_id: str, window: str, *, limit: int, expires_at: int | None) -> None:
        """One more rewarded referral in ``window``; the commit fails (``referral-window``) beyond
        ``limit``."""
        self._uow.stage(CountWindow(referrer_id, window, limit, expires_at))

    def want_contact(self, kind: Literal["email", "phone"], value: str) -> None:
        self._uow._want(ContactRef(kind, value))

    def contact_is_customer(self, kind: Literal["email", "phone"], value: str) -> bool:
        return isinstance(self._uow._get(ContactRef(kind, value)), ContactOwner)

    # ---- changing ----
    def save_settings(self, settings: StoredReferralSettings, *, base: int) -> None:
        self._uow.stage(SaveReferralSettings(settings, base))

    def claim_code(self, code: str, customer_id: str, *, at: datetime, on_profile: bool) -> None:
        self._uow.stage(ClaimCode(code, customer_id, at, on_profile))

    def count(
        self,
        customer_id: str,
        add: Mapping[str, int | Decimal],
        *,
        addresses: frozenset[str] | None = None,
        devices: frozenset[str] | None = None,
        code: str | None = None,
    ) -> None:
        self._uow.stage(CountReferrer(customer_id, dict(add), addresses, devices, code))

    def set_discount(self, customer_id: str, discount_id: str) -> None:
        self._uow.stage(SetReferrerDiscount(customer_id, discount_id))

    def save(self, referral: Referral, *, before: Referral | None) -> None:
        self._uow.stage(SaveReferral(referral, before))

    def hold_invite(self, digest: str, referral: Referral) -> None:
        self._uow.stage(HoldInvite(digest, referral))

    def save_friend(self, state: FriendState, *, expected_version: int) -> None:
        self._uow.stage(SaveFriend(state, expected_version))
