"""VIP tier items.

  M#{m}#CONFIG            → TIERS (the tier program, its own config item: cached with the config)
  M#{m}#C#{customer}      → TIER (the customer's window totals and tier; GSI1: the daily due index)
  M#{m}#TIERMEMBERS#{n}   → C#{customer} (who has tier totals, and their tier: re-evaluation, counts)
  M#{m}#TIERJOB           → STATUS (the re-evaluation job's progress after a program change)
  M#{m}#TIERCOUNT         → S#{lane}#{n} (members per tier: ``t_{tier_id}`` counters, moved in the
                            transaction that moves a customer's tier; the sum over the few items is
                            the count, read with one Query)

The daily due index is sharded like the hourly one (``DAILY#{shard}``) but separate from it, so the
hourly expiry job never reads tier items and the daily job reads only customers due that day.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from pydantic import Field

from pollen.clock import isoformat
from pollen.domain.tiers import TierProgram, TierProgramSettings, TierState, due_day
from pollen.model import BaseModel
from pollen.storage.keys import Key, config_pk, customer_pk, merchant_prefix, part
from pollen.storage.merchant_config import MerchantConfig
from pollen.storage.table import GSI1, Table
from pollen.storage.transactions import Transaction

if TYPE_CHECKING:
    from pollen.storage.ports import SaveTierState

TIERS_ENTITY = "tiers"
TIER_ENTITY = "tier"
MEMBER_ENTITY = "tier_member"
STATUS_ENTITY = "tier_job"
DAILY_SHARDS = 8
MEMBER_SHARDS = 8
COUNT_SHARDS = 4  # counter items per lane: concurrent tier changes rarely touch the same one
COUNT_ENTITY = "tier_count"
COUNT_PREFIX = "t_"


def tiers_key(merchant_id: str) -> Key:
    return Key(config_pk(merchant_id), "TIERS")


def tier_state_key(merchant_id: str, customer_id: str) -> Key:
    return Key(customer_pk(merchant_id, customer_id), "TIER")


def _shard(value: str, shards: int) -> int:
    return int(hashlib.sha256(value.encode()).hexdigest()[:8], 16) % shards


def member_pk(merchant_id: str, shard: int) -> str:
    return f"{merchant_prefix(merchant_id)}TIERMEMBERS#{shard}"


def member_key(merchant_id: str, customer_id: str) -> Key:
    return Key(member_pk(merchant_id, _shard(customer_id, MEMBER_SHARDS)), f"C#{part(customer_id)}")


def count_pk(merchant_id: str) -> str:
    return f"{merchant_prefix(merchant_id)}TIERCOUNT"


def count_key(merchant_id: str, customer_id: str, lane: int) -> Key:
    """The counter item a customer's tier moves are added to. ``lane`` keeps two customers whose tiers
    move in one transaction (a buyer and their referrer) on different items."""
    return Key(count_pk(merchant_id), f"S#{lane}#{_shard(customer_id, COUNT_SHARDS)}")


def status_key(merchant_id: str) -> Key:
    return Key(f"{merchant_prefix(merchant_id)}TIERJOB", "STATUS")


def daily_shard_pk(shard: int) -> str:
    return f"DAILY#{shard}"


def daily_index(key: Key, day: date) -> dict[str, str]:
    """GSI1 attributes listing an item under the day the daily job must look at it."""
    shard = _shard(f"{key.pk}#{key.sk}", DAILY_SHARDS)
    return {"GSI1PK": daily_shard_pk(shard), "GSI1SK": f"{day.isoformat()}#{key.pk}#{key.sk}"}


def daily_due_day(item: dict[str, Any]) -> str:
    """The day an item is listed under in the daily index (:func:`daily_index`), "" when it is not."""
    return str(item.get("GSI1SK", "")).split("#", 1)[0]


# ---- the program ------------------------------------------------------------------------------------


def tiers_item(merchant_id: str, program: TierProgram) -> dict[str, Any]:
    return {
        **tiers_key(merchant_id).as_dict(),
        "entity": TIERS_ENTITY,
        "merchant_id": merchant_id,
        "settings": program.model_dump(mode="json", exclude={"version", "updated_at"}),
        "version": program.version,
        "updated_at": isoformat(program.updated_at),
    }


def tier_program_of(config: MerchantConfig) -> TierProgram | None:
    item = config.items.get("TIERS")
    if item is None:
        return None
    return TierProgram.model_validate(
        {**item["settings"], "version": item["version"], "updated_at": item["updated_at"]}
    )


def put_tiers(tx: Transaction, merchant_id: str, program: TierProgram, *, expected_version: int) -> None:
    item = tiers_item(merchant_id, program)
    if expected_version == 0:
        tx.put(item, label="tiers", condition="attribute_not_exists(PK)")
    else:
        tx.put(
            item, label="tiers", condition="#v = :v", names={"#v": "version"}, values={":v": expected_version}
        )


# ---- a customer's tier state -------------------------------------------------------------------------


def tier_state_item(
    merchant_id: str, state: TierState, program: TierProgramSettings, today: date
) -> dict[str, Any]:
    key = tier_state_key(merchant_id, state.customer_id)
    due = due_day(state, program)
    return {
        **key.as_dict(),
        "entity": TIER_ENTITY,
        "merchant_id": merchant_id,
        **state.model_dump(mode="json"),
        **(daily_index(key, due) if due else {}),
    }


def parse_tier_state(item: dict[str, Any] | None, customer_id: str) -> TierState:
    if item is None:
        return TierState(customer_id=customer_id)
    return TierState.model_validate(item)


def read_tier_state(table: Table, merchant_id: str, customer_id: str) -> TierState:
    """A customer's tier state for a page (one eventually consistent GetItem: half the read units of a
    consistent one; a version-guarded write reads through the unit of work instead)."""
    return parse_tier_state(table.get(tier_state_key(merchant_id, customer_id)), customer_id)


def put_tier_state(
    tx: Transaction,
    merchant_id: str,
    state: TierState,
    program: TierProgramSettings,
    today: date,
    *,
    expected_version: int,
    label: str = "tier",
) -> None:
    """Write the state (its version is already the new one), guarded by the version it was read at.
    A second customer's state in the same transaction takes another ``label`` (``tier-2``)."""
    item = tier_state_item(merchant_id, state, program, today)
    if expected_version == 0:
        tx.put(item, label=label, condition="attribute_not_exists(PK)")
    else:
        tx.put(
            item, label=label, condition="#v = :v", names={"#v": "version"}, values={":v": expected_version}
        )


def put_member(
    tx: Transaction, merchant_id: str, customer_id: str, tier_id: str | None, *, label: str = "tier-member"
) -> None:
    """The customer's line in the member list (written when their state is created or their tier moves)."""
    tx.put(
        {
            **member_key(merchant_id, customer_id).as_dict(),
            "entity": MEMBER_ENTITY,
            "merchant_id": merchant_id,
            "customer_id": customer_id,
            "tier_id": tier_id,
        },
        label=label,
    )


def move_member_count(
    tx: Transaction,
    merchant_id: str,
    customer_id: str,
    from_tier: str | None,
    to_tier: str | None,
    *,
    lane: int = 0,
    label: str = "tier-count",
) -> None:
    """One member less in ``from_tier`` and one more in ``to_tier``. Staged in the transaction that
    writes the customer's tier state under its version, so it applies exactly once per tier move."""
    if from_tier == to_tier:
        return
    names: dict[str, str] = {"#e": "entity", "#m": "merchant_id"}
    values: dict[str, Any] = {":e": COUNT_ENTITY, ":m": merchant_id}
    adds: list[str] = []
    for n, (tier, step) in enumerate(((from_tier, -1), (to_tier, 1))):
        if tier is not None:
            names[f"#t{n}"], values[f":s{n}"] = f"{COUNT_PREFIX}{tier}", step
            adds.append(f"#t{n} :s{n}")
    tx.update(
        count_key(merchant_id, customer_id, lane),
        label=label,
        update=f"SET #e = :e, #m = :m ADD {', '.join(adds)}",
        names=names,
        values=values,
    )


def member_counts(table: Table, merchant_id: str) -> dict[str, int]:
    """Members per tier id: the sum of the counter items (one Query, a handful of small items)."""
    counts: dict[str, int] = {}
    for item in table.query_all(count_pk(merchant_id)):
        for name, value in item.items():
            if name.startswith(COUNT_PREFIX):
                tier = name.removeprefix(COUNT_PREFIX)
                counts[tier] = counts.get(tier, 0) + int(value)
    return counts


def due_tier_items(table: Table, today: date) -> list[dict[str, Any]]:
    """Every item of the daily index due on or before ``today`` (index copies: re-read before acting)."""
    upto = f"{today.isoformat()}#\uffff"
    items: list[dict[str, Any]] = []
    for shard in range(DAILY_SHARDS):
        cursor: str | None = None
        while True:
            page = table.query(daily_shard_pk(shard), index=GSI1, sk_upto=upto, cursor=cursor)
            items.extend(page.items)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    return items


def members_page(
    table: Table, merchant_id: str, shard: int, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    page = table.query(member_pk(merchant_id, shard), limit=limit, cursor=cursor)
    return page.items, page.next_cursor


# ---- the re-evaluation job -------------------------------------------------------------------------


class JobStatus(BaseModel):
    """Progress of re-evaluating members against a program version (resumable: shard + cursor)."""

    program_version: int = 0
    state: str = Field(default="idle", description="idle | running | done")
    shard: int = 0
    cursor: str | None = None
    evaluated: int = 0
    changed: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None


def status_item(merchant_id: str, status: JobStatus) -> dict[str, Any]:
    return {
        **status_key(merchant_id).as_dict(),
        "entity": STATUS_ENTITY,
        "merchant_id": merchant_id,
        **status.model_dump(mode="json"),
        **({"GSI1PK": "TIERJOBS", "GSI1SK": merchant_id} if status.state == "running" else {}),
    }


def parse_status(item: dict[str, Any] | None) -> JobStatus:
    return JobStatus.model_validate(item) if item else JobStatus()


def running_jobs(table: Table) -> list[str]:
    """Merchants whose re-evaluation is not finished (a sparse index: only running jobs are in it)."""
    return [str(i["merchant_id"]) for i in table.query_all("TIERJOBS", index=GSI1)]


def stage_tier_state(tx: Transaction, merchant_id: str, change: SaveTierState, n: int) -> None:
    """The unit of work's :class:`SaveTierState`: the state, a new or moved member's line and the
    member counters. ``n`` counts the commit's tier saves: a second one (a referrer's, in their
    friend's order) is labelled ``tier-2``... and counts in its own lane."""
    suffix = f"-{n + 1}" if n else ""
    state = change.state
    put_tier_state(
        tx,
        merchant_id,
        state,
        change.program,
        change.today,
        expected_version=change.expected_version,
        label=f"tier{suffix}",
    )
    if change.new_member:
        put_member(tx, merchant_id, state.customer_id, state.tier_id, label=f"tier-member{suffix}")
    move_member_count(
        tx,
        merchant_id,
        state.customer_id,
        change.from_tier,
        state.tier_id,
        lane=n + 1 if n else 0,
        label=f"tier-count{suffix}",
    )
