"""The event catalogue: names, display names, typed payloads, filters and samples."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from pollen.domain.customers import Customer, CustomerRecord
from pollen.domain.event_filters import FILTERED_FIELD, EventFilters
from pollen.domain.wallet import LedgerEntry, Operation, Source, TxnType, Wallet
from pollen.events import catalogue as full
from pollen.events import deliverable
from pollen.events.catalogue import (
    CoinsExpiringPayload,
    CouponCreatedPayload,
    CouponUsedPayload,
    CustomerCreatedPayload,
    WalletTransactionPayload,
    catalogue,
    event_spec,
    filters_match,
    parse_payload,
    sample_event,
)
from pollen.events.deliverable import event_display_name
from pollen.events.envelope import OutboxEvent
from pollen.events.ledger import with_customer
from pollen.services.customers import customer_event
from pollen.services.expiry import _reminder
from pollen.services.unit_of_work import Units
from pollen.storage.codec import deserialize, plain, serialize
from pollen.storage.customers import ledger_event, ledger_item
from tests.support.fakes import FakeStore
from tests.support.integrations import NOW, OCCURRED, customer, customer_fields
from tests.support.integrations import wallet_event as sample_wallet_event
from tests.unit.use_cases.conftest import PROGRAM

DELIVERABLE = {
    "wallet_transaction",
    "coupon_created",
    "coupon_used",
    "coins_expiring",
    "customer_created",
    "tier_changed",
    "tier_expiring",
} | {
    "referral_invited",
    "referral_signed_up",
    "referral_completed",
    "referral_rejected",
    "referral_incomplete",
    "review_request",
}


def _event(event_type: str, payload: dict[str, Any]) -> OutboxEvent:
    return OutboxEvent(
        event_type=event_type, merchant_id="m1", customer_id="c-42", occurred_at=OCCURRED, payload=payload
    )


def test_the_catalogue_lists_every_deliverable_event_once_with_its_fields() -> None:
    specs = catalogue()
    assert [s.name for s in specs] == [
        "wallet_transaction",
        "coupon_created",
        "coupon_used",
        "coins_expiring",
        "customer_created",
        "profile_updated",
        "tier_changed",
        "tier_expiring",
        "referral_invited",
        "referral_signed_up",
        "referral_completed",
        "referral_rejected",
        "referral_incomplete",
        "review_request",
    ]
    assert len({s.display_name for s in specs}) == len(specs)
    for spec in specs:
        assert event_spec(spec.name) == spec
        assert spec.description
        assert "customer" in spec.fields
        assert all(spec.fields.values()), f"{spec.name} has a field without a description"
    wallet = event_spec("wallet_transaction")
    assert wallet is not None
    assert wallet.filters == ("transaction_types", "operations")
    assert {"transaction_type", "operation", "coins", "balance_after"} <= set(wallet.fields)
    assert event_spec("coupon_created") == event_spec("coupon_created")
    assert event_spec("coupon_created").filters == ()  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "internal", ["order_updated", "program_updated", "trigger_updated", "api_key_created", "merchant_created"]
)
def test_internal_events_are_not_deliverable(internal: str) -> None:
    assert event_spec(internal) is None
    event = _event(internal, {})
    with pytest.raises(ValueError, match="not a deliverable event"):
        parse_payload(event)
    with pytest.raises(ValueError, match="not a deliverable event"):
        event_display_name(event)


def test_every_filter_key_restricts_a_payload_field_and_is_offered_by_some_event() -> None:
    assert set(FILTERED_FIELD) == set(EventFilters.model_fields)
    offered = {key for spec in catalogue() for key in spec.filters}
    assert offered == set(EventFilters.model_fields)
    for spec in catalogue():
        for key in spec.filters:
            assert FILTERED_FIELD[key] in spec.fields


@pytest.mark.parametrize(
    ("txn_type", "name"),
    [
        ("reward", "Wallet Coins Rewarded"),
        ("redeem", "Wallet Coins Redeemed"),
        ("refund", "Wallet Coins Refunded"),
        ("expire", "Wallet Coins Expired"),
        ("adjust", "Wallet Coins Adjusted"),
        ("reversal", "Wallet Coins Reversed"),
        ("import", "Wallet Coins Imported"),
    ],
)
def test_wallet_transaction_display_name_follows_its_type(txn_type: str, name: str) -> None:
    assert event_display_name(sample_wallet_event(txn_type)) == name


def test_every_transaction_type_has_its_own_name() -> None:
    names = {event_display_name(sample_wallet_event(t.value)) for t in TxnType}
    assert len(names) == len(TxnType)
    assert "Wallet Transaction" not in names


def test_display_names_of_the_other_events() -> None:
    names = {
        spec.name: event_display_name(sample_event(spec.name, "m1", customer(), NOW)) for spec in catalogue()
    }
    assert names == {
        "wallet_transaction": "Wallet Coins Rewarded",
        "coupon_created": "Coupon Is Created",
        "coupon_used": "Coupon Is Used",
        "coins_expiring": "Wallet Coins Expiring",
        "customer_created": "Customer Is Created",
        "profile_updated": "Loyalty Profile Updated",
        "tier_changed": "VIP Tier Changed",
        "tier_expiring": "VIP Tier Expiring",
        "referral_invited": "Referral Invited",
        "referral_signed_up": "Referral Signed Up",
        "referral_completed": "Referral Completed",
        "referral_rejected": "Referral Rejected",
        "referral_incomplete": "Referral Incomplete Reminder",
        "review_request": "Review Requested",
    }


def test_the_wallet_event_pollen_writes_parses_to_its_typed_payload() -> None:
    """The payload shape comes from the emitter itself, not a copy of it."""
    cust = customer()
    entry = LedgerEntry(
        type=TxnType.REWARD,
        operation=Operation.CREDIT,
        coins=120,
        balance_after=120,
        source=Source.ORDER,
        reference="1001",
        created_at=OCCURRED,
        expires_on=date(2027, 3, 2),
    )
    wallet = Wallet(customer_id="c-42", balance=120, lots={"2027-03-02": 120}, pending=30)
    store = FakeStore()  # the unit of work that writes every wallet change builds the event
    uow = Units(store).begin("m1")
    uow.customers.save(CustomerRecord(cust, wallet), [entry], PROGRAM)
    uow.commit()
    (event,) = store.outbox
    payload = parse_payload(event)
    assert isinstance(payload, WalletTransactionPayload)
    assert payload.transaction_type == TxnType.REWARD
    assert payload.operation == Operation.CREDIT
    assert payload.expires_on == date(2027, 3, 2)
    assert payload.pending == 30
    assert payload.customer.email == "jon@example.com"
    assert payload.customer.phone == "+16135551111"


def test_a_ledger_entry_s_event_is_the_catalogue_s_payload_exactly() -> None:
    """What the router makes of a ledger item (pollen.events.ledger builds it as plain JSON): the typed
    payload, field for field and in its order, the customer from the profile read at routing time."""
    entry = LedgerEntry(
        type=TxnType.REDEEM,
        operation=Operation.DEBIT,
        coins=40,
        balance_after=80,
        source=Source.REDEMPTION,
        reference="SAVE-5",
        created_at=OCCURRED,
        note="a note",
    )
    item = plain(
        deserialize(
            serialize(ledger_item("m1", "c-42", entry, event_id="01JZ0000000000000000000000", pending=7))
        )
    )
    event = ledger_event(item)
    assert event is not None
    assert event.payload["customer"] == dict.fromkeys(
        ["customer_id", "email", "phone", "first_name", "last_name"]
    ) | {"customer_id": "c-42"}
    routed = with_customer(event, customer())
    payload = parse_payload(routed)
    assert isinstance(payload, WalletTransactionPayload)
    assert list(payload.model_dump(mode="json").items()) == list(routed.payload.items())
    assert (routed.event_id, routed.customer_id, routed.occurred_at) == (
        "01JZ0000000000000000000000",
        "c-42",
        OCCURRED,
    )
    assert (payload.pending, payload.customer.email, payload.note) == (7, "jon@example.com", "a note")
    erased = customer().model_copy(
        update={"email": None, "phone": None, "first_name": None, "last_name": None}
    )
    assert with_customer(event, erased).payload["customer"] == event.payload["customer"]


def test_the_customer_created_event_pollen_writes_parses() -> None:
    event = customer_event("m1", customer(), OCCURRED)
    payload = parse_payload(event)
    assert isinstance(payload, CustomerCreatedPayload)
    assert payload.source == "shopify"
    assert payload.customer.customer_id == "c-42"


def test_coupon_and_expiry_payloads_parse_with_decimal_strings() -> None:
    created = parse_payload(
        _event(
            "coupon_created",
            {
                "code": "POLLEN-5OFF-K3J9",
                "reward_id": "5-off",
                "reward_type": "fixed_amount",
                "value": "5.00",
                "currency": "USD",
                "coins": 500,
                "min_order": None,
                "expires_at": "2026-04-01T09:29:58.125Z",
                "channel": "online",
                "customer": customer_fields(),
            },
        )
    )
    assert isinstance(created, CouponCreatedPayload)
    assert created.value == Decimal("5.00")
    # coupon_used as the redemption service writes it: the coupon's fields plus the use
    used = parse_payload(
        _event(
            "coupon_used",
            {
                "code": "POLLEN-5OFF-K3J9",
                "reward_id": "5-off",
                "reward_type": "free_shipping",
                "value": None,
                "currency": None,
                "coins": 300,
                "min_order": None,
                "expires_at": "2026-04-01T09:29:58.125Z",
                "channel": "online",
                "order_id": "1002",
                "discount_amount": "7.50",
                "used_at": "2026-03-03T10:00:00+00:00",
                "customer": {"customer_id": "c-42"},
            },
        )
    )
    assert isinstance(used, CouponUsedPayload)
    assert used.discount_amount == Decimal("7.50")
    assert used.customer.email is None
    assert used.model_dump()["coins"] == 300  # fields the model does not name are kept
    expiring = parse_payload(
        _event(
            "coins_expiring",
            {
                "coins": 50,
                "expires_on": "2026-03-09",
                "days_left": 7,
                "balance": 80,
                "customer": customer_fields(),
            },
        )
    )
    assert isinstance(expiring, CoinsExpiringPayload)
    assert expiring.expires_on == date(2026, 3, 9)


@pytest.mark.parametrize(
    ("event_type", "payload"),
    [
        ("wallet_transaction", {"transaction_type": "reward"}),
        ("coupon_created", {"code": "X", "reward_type": "bogus"}),
        ("coins_expiring", {"coins": 5, "expires_on": "soon", "days_left": 1, "balance": 5, "customer": {}}),
        ("customer_created", {"source": "api"}),
    ],
)
def test_an_invalid_payload_is_a_value_error(event_type: str, payload: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="validation error"):
        parse_payload(_event(event_type, payload))


@pytest.mark.parametrize("name", sorted(DELIVERABLE))
def test_sample_events_are_valid_events_about_the_customer(name: str) -> None:
    cust: Customer = customer()
    first = sample_event(name, "m1", cust, NOW)
    second = sample_event(name, "m1", cust, NOW)
    assert first.event_type == name
    assert first.merchant_id == "m1"
    assert first.customer_id == "c-42"
    assert first.occurred_at == NOW
    assert first.event_id != second.event_id  # each test event is its own delivery
    parsed = parse_payload(first)
    assert parsed.model_dump()["customer"]["email"] == "jon@example.com"


def test_sample_of_an_internal_event_is_refused() -> None:
    with pytest.raises(ValueError, match="not a deliverable"):
        sample_event("order_updated", "m1", customer(), NOW)


# ---- filters -------------------------------------------------------------------------------------


def test_no_filters_match_every_event() -> None:
    assert filters_match(EventFilters(), sample_wallet_event("redeem", "debit"))
    assert filters_match(EventFilters(), sample_event("coupon_created", "m1", customer(), NOW))


@pytest.mark.parametrize(
    ("filters", "txn_type", "operation", "expected"),
    [
        ({"transaction_types": ["reward"]}, "reward", "credit", True),
        ({"transaction_types": ["reward"]}, "adjust", "credit", False),
        ({"transaction_types": ["reward", "adjust"]}, "adjust", "debit", True),
        ({"operations": ["credit"]}, "adjust", "credit", True),
        ({"operations": ["credit"]}, "adjust", "debit", False),
        ({"transaction_types": ["adjust"], "operations": ["credit"]}, "adjust", "debit", False),
        ({"transaction_types": ["adjust"], "operations": ["debit"]}, "adjust", "debit", True),
        ({"transaction_types": [], "operations": []}, "expire", "debit", True),
    ],
)
def test_wallet_filters(filters: dict[str, Any], txn_type: str, operation: str, expected: bool) -> None:
    assert (
        filters_match(EventFilters.model_validate(filters), sample_wallet_event(txn_type, operation))
        is expected
    )


def test_a_filter_on_an_event_that_does_not_support_it_never_matches() -> None:
    event = sample_event("coupon_created", "m1", customer(), NOW)
    assert not filters_match(EventFilters(operations=[Operation.CREDIT]), event)


def test_filters_are_strict_about_keys_and_values() -> None:
    with pytest.raises(ValidationError):
        EventFilters.model_validate({"transaction_types": ["gift"]})
    with pytest.raises(ValidationError):
        EventFilters.model_validate({"regions": ["eu"]})
    with pytest.raises(ValidationError):
        EventFilters.model_validate({"directions": ["sideways"]})
    filters = EventFilters.model_validate(
        {"transaction_types": ["reward", "reward", "adjust"], "operations": []}
    )
    assert filters.used() == {"transaction_types": ["adjust", "reward"]}


def test_the_coins_expiring_event_pollen_writes_parses() -> None:
    wallet = Wallet(customer_id="c-42", balance=80, lots={"2026-03-09": 50, "never": 30})
    event = _reminder(
        "m1", CustomerRecord(customer(), wallet), date(2026, 3, 9), 50, today=date(2026, 3, 2), now=NOW
    )
    payload = parse_payload(event)
    assert isinstance(payload, CoinsExpiringPayload)
    assert (payload.coins, payload.days_left, payload.balance) == (50, 7, 80)
    assert event_display_name(event) == "Wallet Coins Expiring"


def test_routing_s_list_of_deliverable_events_is_the_catalogue_s() -> None:
    """Routing reads pollen.events.deliverable (no payload models at the router's cold start)."""
    assert list(deliverable.DELIVERABLE.items()) == list(full.DELIVERABLE.items())
    assert list(deliverable.DISPLAY_NAMES) == list(deliverable.DELIVERABLE)  # delivery names them apart
    assert full.event_spec(deliverable.WALLET_TRANSACTION) is not None
