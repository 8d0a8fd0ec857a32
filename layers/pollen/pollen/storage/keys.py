"""Key builders for the single table. Every primary key starts with ``M#{merchant_id}#``.

Layout (PK → SK):
  M#{m}#CONFIG         → MERCHANT | PROGRAM | SHOPIFY | TRIGGER#{id} | REWARD#{id} | INTEGRATION#{id} |
                         SUBSCRIPTION#{id} | EVENTS | TOKEN_KEYS | ... (read together, cached)
  M#{m}#APIKEY         → K#{key_id}
  M#{m}#C#{customer}   → CUSTOMER (profile + wallet) | TXN#{seq} | TRIG#{trigger} | EVT#{ulid} (outbox)
  M#{m}#O#{order}      → ORDER (the facts received and what they applied)
  M#{m}#CPN#{code}     → COUPON (one per code: unique per merchant, read by code at checkout) |
                         SHOPIFY_PENDING (a coupon whose Shopify discount is not yet settled)
  M#{m}#EMAIL#{email}  → EMAIL (which customer has this email)
  M#{m}#RCPT#{key}     → RCPT (idempotency receipts, TTL)
  M#{m}#EVT            → EVT#{ulid} (outbox events that belong to no customer)
  M#{m}#PHONE#{phone}  → PHONE (which customer has this phone number, digits only)
  M#{m}#CDIR           → C#{customer} (the customer directory: one item per customer, written when the
                         customer is created; id-prefix search and export page through it)
  M#{m}#REJ            → R#{ulid} (signed Shopify webhooks Pollen could not use, with why; TTL)
  M#{m}#IMPORT#{id}    → IMPORT (a migration import's progress and report) | ROW#{n} (a row's receipt)
  M#{m}#DLV            → D#{event_id}.{subscription_id} (delivery log: one item per delivery,
                         its attempts inside; GSI1 lists them by status)
GSI1 holds look-ups: a customer's coupons (``M#{m}#C#{customer}#CPN``), a Shopify shop domain
(which cannot know the merchant), items by the day they fall due (wallets with coins to expire or
announce, orders to confirm, coupons to settle with Shopify), guest orders by email, deliveries by status.
"""

from __future__ import annotations

import hashlib
from typing import Any, NamedTuple


class Key(NamedTuple):
    pk: str
    sk: str

    def as_dict(self) -> dict[str, str]:
        return {"PK": self.pk, "SK": self.sk}


def part(value: str) -> str:
    """A key component: non-empty and free of the ``#`` separator."""
    if not value or "#" in value:
        raise ValueError(f"invalid key component: {value!r}")
    return value


def merchant_prefix(merchant_id: str) -> str:
    return f"M#{part(merchant_id)}#"


def config_pk(merchant_id: str) -> str:
    return f"{merchant_prefix(merchant_id)}CONFIG"


def merchant_key(merchant_id: str) -> Key:
    return Key(config_pk(merchant_id), "MERCHANT")


def program_key(merchant_id: str) -> Key:
    return Key(config_pk(merchant_id), "PROGRAM")


def shopify_key(merchant_id: str) -> Key:
    return Key(config_pk(merchant_id), "SHOPIFY")


def shop_domain_gsi1pk(shop_domain: str) -> str:
    return f"SHOPIFY#{part(shop_domain.lower())}"


def trigger_key(merchant_id: str, trigger_id: str) -> Key:
    return Key(config_pk(merchant_id), f"TRIGGER#{part(trigger_id)}")


def reward_key(merchant_id: str, reward_id: str) -> Key:
    return Key(config_pk(merchant_id), f"REWARD#{part(reward_id)}")


def coupon_key(merchant_id: str, code: str) -> Key:
    return Key(f"{merchant_prefix(merchant_id)}CPN#{part(code)}", "COUPON")


def coupon_pending_key(merchant_id: str, code: str) -> Key:
    return Key(f"{merchant_prefix(merchant_id)}CPN#{part(code)}", "SHOPIFY_PENDING")


def customer_coupons_gsi1pk(merchant_id: str, customer_id: str) -> str:
    return f"{customer_pk(merchant_id, customer_id)}#CPN"


def integration_key(merchant_id: str, integration_id: str) -> Key:
    return Key(config_pk(merchant_id), f"INTEGRATION#{part(integration_id)}")


def subscription_key(merchant_id: str, subscription_id: str) -> Key:
    return Key(config_pk(merchant_id), f"SUBSCRIPTION#{part(subscription_id)}")


def events_settings_key(merchant_id: str) -> Key:
    """The global events switch."""
    return Key(config_pk(merchant_id), "EVENTS")


def token_keyring_key(merchant_id: str) -> Key:
    """The merchant's customer-token secrets (in the cached config partition)."""
    return Key(config_pk(merchant_id), "TOKEN_KEYS")


def data_request_key(merchant_id: str, request_id: str) -> Key:
    """The export answering one Shopify ``customers/data_request``."""
    return Key(f"{merchant_prefix(merchant_id)}PRIVACY", f"DATA_REQUEST#{part(request_id)}")


def api_keys_pk(merchant_id: str) -> str:
    return f"{merchant_prefix(merchant_id)}APIKEY"


def api_key_key(merchant_id: str, key_id: str) -> Key:
    return Key(api_keys_pk(merchant_id), f"K#{part(key_id)}")


def customer_pk(merchant_id: str, customer_id: str) -> str:
    return f"{merchant_prefix(merchant_id)}C#{part(customer_id)}"


def outbox_key(merchant_id: str, event_id: str, customer_id: str | None = None) -> Key:
    """Outbox events live beside the entity they describe, so no partition runs hot."""
    pk = customer_pk(merchant_id, customer_id) if customer_id else f"{merchant_prefix(merchant_id)}EVT"
    return Key(pk, f"EVT#{part(event_id)}")


def receipt_key(merchant_id: str, scope: str, idempotency_key: str) -> Key:
    """Receipts are keyed by a digest so any client-chosen key is a safe key component."""
    digest = hashlib.sha256(f"{scope}\x00{idempotency_key}".encode()).hexdigest()
    return Key(f"{merchant_prefix(merchant_id)}RCPT#{digest}", "RCPT")


def customer_key(merchant_id: str, customer_id: str) -> Key:
    return Key(customer_pk(merchant_id, customer_id), "CUSTOMER")


def ledger_key(merchant_id: str, customer_id: str, seq: int) -> Key:
    """Ledger entries sort by their position in the wallet's ledger, exactly (ids could tie in a ms)."""
    return Key(customer_pk(merchant_id, customer_id), f"TXN#{seq:010d}")


def trigger_count_key(merchant_id: str, customer_id: str, trigger_id: str) -> Key:
    return Key(customer_pk(merchant_id, customer_id), f"TRIG#{part(trigger_id)}")


def order_key(merchant_id: str, order_id: str) -> Key:
    return Key(f"{merchant_prefix(merchant_id)}O#{part(order_id)}", "ORDER")


def email_key(merchant_id: str, email: str) -> Key:
    return Key(f"{merchant_prefix(merchant_id)}EMAIL#{part(email.strip().lower())}", "EMAIL")


DUE_SHARDS = 8
# The ``entity`` of the items listed in the due index besides wallets and orders, here so the due-items
# job tells them apart without importing each one's store (and its models).
PENDING_ENTITY = "coupon_shopify_pending"  # a coupon whose Shopify discount is not settled
REFERRAL_ENTITY = "referral"  # an invited friend who has not ordered yet
REVIEW_ENTITY = "review_request"
DELIVERY_ENTITY = "delivery"  # a delivery log item (its stream images feed the analytics rollups)


def due_index(pk: str, day: str) -> dict[str, str]:
    """GSI1 attributes that list an item (a wallet with coins to expire or announce, an order to
    confirm) under the day it falls due. Sharded by the item's key so no index partition runs hot;
    the scheduled job reads each shard up to today, so a missed run is caught up on the next."""
    shard = int(hashlib.sha256(pk.encode()).hexdigest()[:8], 16) % DUE_SHARDS
    return {"GSI1PK": due_shard_pk(shard), "GSI1SK": f"{part(day)}#{pk}"}


def wallet_due_index(pk: str, day: str) -> dict[str, str]:
    """:func:`due_index` for a wallet, on GSI2: an index of its own that projects only what a wallet
    write never changes, so a write that keeps the due day costs no index write."""
    listed = due_index(pk, day)
    return {"GSI2PK": listed["GSI1PK"], "GSI2SK": listed["GSI1SK"]}


def indexed_due_day(item: dict[str, Any]) -> str | None:
    """The day an item is listed under in the due index (:func:`due_index`, :func:`wallet_due_index`),
    None when it is not listed. A wallet written before GSI2 existed is still listed on GSI1."""
    for index in ("GSI2", "GSI1"):
        sk = item.get(f"{index}SK")
        if str(item.get(f"{index}PK", "")).startswith("DUE#") and sk:
            return str(sk).split("#", 1)[0]
    return None


def due_shard_pk(shard: int) -> str:
    return f"DUE#{shard}"


def guest_orders_gsi1pk(merchant_id: str, email: str) -> str:
    return f"{merchant_prefix(merchant_id)}GUEST#{part(email.strip().lower())}"


def customer_directory_pk(merchant_id: str) -> str:
    return f"{merchant_prefix(merchant_id)}CDIR"


def customer_directory_key(merchant_id: str, customer_id: str) -> Key:
    return Key(customer_directory_pk(merchant_id), f"C#{part(customer_id)}")


def rejected_webhooks_pk(merchant_id: str) -> str:
    return f"{merchant_prefix(merchant_id)}REJ"


def rejected_webhook_key(merchant_id: str, entry_id: str) -> Key:
    return Key(rejected_webhooks_pk(merchant_id), f"R#{part(entry_id)}")


def import_pk(merchant_id: str, import_id: str) -> str:
    return f"{merchant_prefix(merchant_id)}IMPORT#{part(import_id)}"


def import_key(merchant_id: str, import_id: str) -> Key:
    return Key(import_pk(merchant_id, import_id), "IMPORT")


def import_row_key(merchant_id: str, import_id: str, row: int) -> Key:
    return Key(import_pk(merchant_id, import_id), f"ROW#{row:07d}")


def phone_digits(phone: str) -> str:
    """A phone number as a key: ``+`` and digits only (``+1 (613) 555-1111`` → ``+16135551111``)."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    return f"+{digits}" if phone.strip().startswith("+") else digits


def phone_key(merchant_id: str, phone: str) -> Key:
    return Key(f"{merchant_prefix(merchant_id)}PHONE#{part(phone_digits(phone))}", "PHONE")


def deliveries_pk(merchant_id: str) -> str:
    """The merchant's delivery log: one item per delivery (attempts inside), newest event last."""
    return f"{merchant_prefix(merchant_id)}DLV"


def delivery_key(merchant_id: str, delivery_id: str) -> Key:
    return Key(deliveries_pk(merchant_id), f"D#{part(delivery_id)}")


def delivery_status_gsi1pk(merchant_id: str, status: str) -> str:
    """GSI1 partition listing the merchant's deliveries in one status (the item moves as it changes)."""
    return f"{merchant_prefix(merchant_id)}DLV#{part(status)}"


def rollup_pk(merchant_id: str) -> str:
    """The merchant's analytics: one item per local day (``D#YYYY-MM-DD``) and the running ``TOTAL``,
    so any range (plus the total) is one Query."""
    return f"{merchant_prefix(merchant_id)}ROLLUP"


def rollup_day_key(merchant_id: str, day: str) -> Key:
    return Key(rollup_pk(merchant_id), f"D#{part(day)}")


def rollup_total_key(merchant_id: str) -> Key:
    return Key(rollup_pk(merchant_id), "TOTAL")


def rollup_marker_key(merchant_id: str, identity: str) -> Key:
    """Proof that one fact was folded into the rollups (its own partition: no hot spot)."""
    digest = hashlib.sha256(identity.encode()).hexdigest()[:40]
    return Key(f"{merchant_prefix(merchant_id)}AGG#{digest}", "AGG")


def rollup_seen_key(merchant_id: str, minute: str) -> Key:
    """The facts of one minute (``YYYYMMDDHHMM`` UTC) already folded into the rollups: one item a
    whole stream batch shares, in its own partition (no hot spot)."""
    return Key(f"{merchant_prefix(merchant_id)}AGG#T#{part(minute)}", "SEEN")


def rollup_job_key(merchant_id: str, job_id: str) -> Key:
    return Key(f"{merchant_prefix(merchant_id)}ROLLUPJOB", f"JOB#{part(job_id)}")


def tracked_id_key(merchant_id: str, client_event_id: str) -> Key:
    """An anonymous tracked event's client id, kept for dedupe."""
    digest = hashlib.sha256(client_event_id.encode()).hexdigest()[:40]
    return Key(f"{merchant_prefix(merchant_id)}TRK#{digest}", "TRK")


def tracked_day_key(merchant_id: str, customer_id: str, day: str) -> Key:
    """A customer's tracked events of one day: their client ids (dedupe) and count (cap)."""
    return Key(customer_pk(merchant_id, customer_id), f"TRK#{part(day)}")


# ---- referrals ---------------------------------------------------------------------------------
# M#{m}#CONFIG → REFERRAL_PROGRAM (settings, cached with the config partition)
# M#{m}#C#{c}  → REFERRER (code, counters, fingerprints) | REFERRED (the customer as a friend: first
#                order, who referred them) | REF#{referral_id} (the referrals this customer made) |
#                RWIN#{window} (rewarded referrals per max_rewarded window)
# M#{m}#RCODE#{code} → RCODE (which customer a referral code belongs to)
# M#{m}#RINV#{digest} → RINV (an invited email/phone, digested: the first referrer holds it)
# M#{m}#REFS#{status|all} → {referral_id} (the admin's copies, newest last)


def referral_settings_key(merchant_id: str) -> Key:
    return Key(config_pk(merchant_id), "REFERRAL_PROGRAM")


def referrer_key(merchant_id: str, customer_id: str) -> Key:
    return Key(customer_pk(merchant_id, customer_id), "REFERRER")


def referred_key(merchant_id: str, customer_id: str) -> Key:
    return Key(customer_pk(merchant_id, customer_id), "REFERRED")


def referral_key(merchant_id: str, referrer_id: str, referral_id: str) -> Key:
    return Key(customer_pk(merchant_id, referrer_id), f"REF#{part(referral_id)}")


def referral_window_key(merchant_id: str, referrer_id: str, window: str) -> Key:
    return Key(customer_pk(merchant_id, referrer_id), f"RWIN#{part(window)}")


def referral_code_key(merchant_id: str, code: str) -> Key:
    return Key(f"{merchant_prefix(merchant_id)}RCODE#{part(code)}", "RCODE")


def invite_key(merchant_id: str, digest: str) -> Key:
    return Key(f"{merchant_prefix(merchant_id)}RINV#{part(digest)}", "RINV")


def referrals_admin_pk(merchant_id: str, status: str) -> str:
    return f"{merchant_prefix(merchant_id)}REFS#{part(status)}"


def referral_admin_key(merchant_id: str, status: str, referral_id: str) -> Key:
    return Key(referrals_admin_pk(merchant_id, status), part(referral_id))


def review_request_key(merchant_id: str, order_id: str) -> Key:
    """M#{m}#RR#{order} → REVIEW: an order's review request (one per order; GSI1 due index while pending)."""
    return Key(f"{merchant_prefix(merchant_id)}RR#{part(order_id)}", "REVIEW")


def widget_settings_key(merchant_id: str) -> Key:
    """The storefront widget's settings, in the config partition (read with it, cached)."""
    return Key(config_pk(merchant_id), "WIDGET")


def merchant_of(pk: str) -> str:
    """The merchant id in a ``M#{m}#…`` partition key ("" for keys of no merchant)."""
    return pk.split("#")[1] if pk.startswith("M#") else ""


def customer_of(pk: str) -> tuple[str, str]:
    """The merchant and customer ids of a customer's partition key (``M#{m}#C#{c}``)."""
    parts = pk.split("#")
    if len(parts) != 4 or parts[0] != "M" or parts[2] != "C":
        raise ValueError(f"not a customer's partition: {pk!r}")
    return parts[1], parts[3]


KEY_ATTRIBUTES = frozenset({"PK", "SK", "entity"})


def without_keys(item: dict[str, Any]) -> dict[str, Any]:
    """An item's own attributes: its table key and entity tag left out (exports, job views)."""
    return {name: value for name, value in item.items() if name not in KEY_ATTRIBUTES}


def key_of(item: dict[str, Any]) -> str:
    """An item's partition key, for logs ("" when it has none)."""
    return str(item.get("PK", ""))


def item_merchant(item: dict[str, Any]) -> str:
    """The merchant an item belongs to, from its partition key ("" for items of no merchant)."""
    return merchant_of(key_of(item))
