"""VIP tiers for the APIs: the program (admin), member counts, the re-evaluation job, a customer's tier
and the multiplier the cart shows."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from pollen.domain.errors import FieldError, PreconditionFailed, RetryableConflict, ValidationFailed
from pollen.domain.program import Program
from pollen.domain.rewards import DynamicReward
from pollen.domain.tiers import (
    TierProgram,
    TierProgramSettings,
)
from pollen.observability import logger
from pollen.services.container import Container, container
from pollen.services.jobs import Cadence, JobResult, register
from pollen.services.merchants import merchant_config
from pollen.services.program import get_program
from pollen.services.retry import retrying
from pollen.services.tier_views import CustomerTier as CustomerTier  # noqa: PLC0414 - re-exported
from pollen.services.tier_views import TierProgress as TierProgress  # noqa: PLC0414
from pollen.services.tier_views import TierSummary as TierSummary  # noqa: PLC0414
from pollen.services.tier_views import cart_multiplier as cart_multiplier  # noqa: PLC0414
from pollen.services.tier_views import customer_tier as customer_tier  # noqa: PLC0414
from pollen.storage import tiers as tiers_storage
from pollen.storage.errors import ConditionFailed
from pollen.storage.keys import key_of
from pollen.storage.rewards import rewards_of
from pollen.storage.tiers import (
    MEMBER_SHARDS,
    TIER_ENTITY,
    JobStatus,
    due_tier_items,
    members_page,
    running_jobs,
    tier_program_of,
)

REEVALUATE_PER_RUN = 500  # members re-evaluated per merchant per hourly run (the job resumes after)


# ---- the program -----------------------------------------------------------------------------------


def get_tiers(c: Container, merchant_id: str) -> TierProgram | None:
    return tier_program_of(merchant_config(c, merchant_id))


def member_counts(c: Container, merchant_id: str) -> dict[str, int]:
    """Members per tier id: one Query of the counters the tier-moving transactions keep."""
    return tiers_storage.member_counts(c.table, merchant_id)


def _check_entry_rewards(c: Container, merchant_id: str, settings: TierProgramSettings) -> None:
    """An entry reward's ``reward_id`` must name a reward of the catalogue that is enabled and has fixed
    terms (a dynamic reward has no value without coins): 422 otherwise, before anything is written."""
    rewards = rewards_of(merchant_config(c, merchant_id))
    errors: list[FieldError] = []
    for n, tier in enumerate(settings.tiers):
        entry = tier.benefits.entry_reward
        if entry is None or entry.reward_id is None:
            continue
        reward = rewards.get(entry.reward_id)
        problem = (
            "no reward with this id"
            if reward is None
            else "the reward is disabled"
            if not reward.settings.enabled
            else "a dynamic reward cannot be an entry reward"
            if isinstance(reward.settings, DynamicReward)
            else None
        )
        if problem:
            errors.append(FieldError(f"tiers.{n}.benefits.entry_reward.reward_id", problem, "invalid_reward"))
    if errors:
        raise ValidationFailed("An entry reward names a reward that cannot be issued.", errors=errors)


def put_tier_program(
    c: Container,
    merchant_id: str,
    settings: TierProgramSettings,
    *,
    now: datetime,
    expected_version: int | None,
) -> TierProgram:
    """Replace the tier program (If-Match: ``expected_version``) and start re-evaluating members
    against it in the background (the request itself re-evaluates no one)."""
    from pollen.events.internal import TiersUpdatedPayload  # noqa: PLC0415 - admin's write path

    _check_entry_rewards(c, merchant_id, settings)
    current = get_tiers(c, merchant_id)
    base = current.version if current else 0
    if expected_version is not None and expected_version != base:
        raise PreconditionFailed("The tier program changed since you read it; fetch it again.")
    program = TierProgram(**settings.model_dump(), version=base + 1, updated_at=now)
    uow = c.units.begin(merchant_id)
    uow.tiers.save(program, expected_version=base)
    uow.tiers.save_job(JobStatus(program_version=program.version, state="running", started_at=now))
    settings_json = settings.model_dump(mode="json")
    uow.emit(
        "tiers_updated",
        TiersUpdatedPayload(version=program.version, settings=settings_json),
        customer_id=None,
        now=now,
    )
    try:
        uow.commit(now=now)
    except ConditionFailed as exc:
        if expected_version is not None:
            raise PreconditionFailed("The tier program changed since you read it; fetch it again.") from exc
        raise RetryableConflict("The tier program was changed concurrently; retry the request.") from exc
    finally:
        c.config.invalidate(merchant_id)
    return program


def job_status(c: Container, merchant_id: str) -> JobStatus:
    return c.units.begin(merchant_id).tiers.job()


def _settle(c: Container, merchant_id: str, customer_id: str, now: datetime, program: Program) -> str:
    from pollen.services.tier_qualification import settle_tier  # noqa: PLC0415 - the jobs' write path

    def attempt() -> str:
        return settle_tier(c, merchant_id, customer_id, now, program)

    return retrying(attempt)


def reevaluate(
    c: Container, merchant_id: str, now: datetime, *, budget: int = REEVALUATE_PER_RUN
) -> JobStatus:
    """Re-evaluate up to ``budget`` customers with tier totals against the current program, from
    where the last run stopped (shard + cursor, saved after every page): resumable and bounded."""
    status = job_status(c, merchant_id)
    tiers = get_tiers(c, merchant_id)
    if status.state != "running" or tiers is None:
        return status
    if status.program_version != tiers.version:  # a newer program: start over
        status = JobStatus(program_version=tiers.version, state="running", started_at=now)
    program = get_program(c, merchant_id)
    done = 0
    while status.shard < MEMBER_SHARDS and done < budget:
        items, cursor = members_page(
            c.table, merchant_id, status.shard, status.cursor, limit=min(100, budget - done)
        )
        for item in items:
            outcome = _settle(c, merchant_id, str(item["customer_id"]), now, program)
            status = status.model_copy(
                update={
                    "evaluated": status.evaluated + 1,
                    "changed": status.changed + outcome.startswith("tier_"),
                }
            )
        done += len(items)
        status = (
            status.model_copy(update={"cursor": cursor})
            if cursor
            else status.model_copy(update={"shard": status.shard + 1, "cursor": None})
        )
        _save_progress(c, merchant_id, status)
    if status.shard >= MEMBER_SHARDS:
        status = status.model_copy(update={"state": "done", "finished_at": now})
        _save_progress(c, merchant_id, status)
    return status


def _save_progress(c: Container, merchant_id: str, status: JobStatus) -> None:
    """Where re-evaluation stands (one item: a single PutItem, not a transaction)."""
    uow = c.units.begin(merchant_id)
    uow.tiers.save_job(status)
    uow.commit()


@register(Cadence.HOURLY, "tier-reevaluation")
def run_reevaluation(now: datetime) -> JobResult:
    c = container()
    evaluated = 0
    for merchant_id in running_jobs(c.table):
        before = job_status(c, merchant_id).evaluated
        status = reevaluate(c, merchant_id, now)
        evaluated += status.evaluated - before if status.evaluated >= before else status.evaluated
    logger.info("tier re-evaluation", extra={"evaluated": evaluated})
    return JobResult(job="tier-reevaluation", processed=evaluated, detail=f"{evaluated} members re-evaluated")


# ---- the daily job -------------------------------------------------------------------------------------


@register(Cadence.DAILY, "tiers")
def run_daily(now: datetime) -> JobResult:
    """Downgrades whose retention ended, ``tier_expiring`` warnings, and stale index entries: only the
    customers listed in the daily due index up to today (one Query per shard), each re-read and
    changed under its version. One failing customer does not stop the others."""
    c = container()
    outcomes: Counter[str] = Counter()
    errors: list[Exception] = []
    for item in due_tier_items(c.table, now.date()):
        if item.get("entity") != TIER_ENTITY:
            continue
        merchant_id, customer_id = str(item["merchant_id"]), str(item["customer_id"])
        try:
            outcomes[_settle(c, merchant_id, customer_id, now, get_program(c, merchant_id))] += 1
        except Exception as exc:
            logger.exception("tier settlement failed", extra={"pk": key_of(item)})
            errors.append(exc)
    detail = ", ".join(f"{n} {what}" for what, n in sorted(outcomes.items())) or "nothing due"
    logger.info("tier run", extra={"detail": detail, "failed": len(errors)})
    if errors:
        raise ExceptionGroup(f"tiers: {len(errors)} customers failed", errors)
    return JobResult(job="tiers", processed=sum(outcomes.values()), detail=detail)
