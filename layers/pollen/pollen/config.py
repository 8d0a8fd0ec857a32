"""Environment settings, validated once per cold start.

Only this module reads ``os.environ``; everything else receives a :class:`Settings`.
"""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import ConfigDict, Field, ValidationError

from pollen.model import BaseModel


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    table_name: str = Field(min_length=3, alias="TABLE_NAME")
    stage: str = Field(default="dev", alias="STAGE")
    delivery_queue_url: str | None = Field(default=None, alias="DELIVERY_QUEUE_URL")
    delivery_dlq_url: str | None = Field(default=None, alias="DELIVERY_DLQ_URL")
    auth_cache_ttl_seconds: int = Field(default=60, ge=0, le=3600, alias="AUTH_CACHE_TTL_SECONDS")
    config_cache_ttl_seconds: int = Field(default=30, ge=0, le=3600, alias="CONFIG_CACHE_TTL_SECONDS")
    aws_region: str = Field(default="us-east-1", alias="AWS_REGION")
    # Integration delivery retries: the n-th retry waits min(max, base * 2**(n-1)) seconds (or the
    # receiver's Retry-After when longer), times ``scale``; the local stack scales them down.
    delivery_retry_base_seconds: float = Field(default=60, ge=0, le=3600, alias="DELIVERY_RETRY_BASE_SECONDS")
    delivery_retry_max_seconds: float = Field(default=900, ge=0, le=43200, alias="DELIVERY_RETRY_MAX_SECONDS")
    delivery_retry_scale: float = Field(default=1.0, ge=0, le=1, alias="DELIVERY_RETRY_SCALE")
    delivery_log_retention_days: int = Field(default=30, ge=1, le=365, alias="DELIVERY_LOG_RETENTION_DAYS")
    # How long one upload of a migration import works before answering its progress (the client
    # uploads the same file again to carry on); below the function's timeout.
    # profile_updated: at most one per customer per window, sent when the window ends (SQS delay).
    profile_sync_minutes: int = Field(default=5, ge=1, le=15, alias="PROFILE_SYNC_MINUTES")
    import_budget_seconds: float = Field(default=5, gt=0, le=25, alias="IMPORT_BUDGET_SECONDS")
    # Rate limits per container (pollen.api.limits): requests a second and burst; 0 switches one off.
    rate_limit_merchant_rps: float = Field(default=50, ge=0, alias="RATE_LIMIT_MERCHANT_RPS")
    rate_limit_merchant_burst: int = Field(default=100, ge=1, alias="RATE_LIMIT_MERCHANT_BURST")
    rate_limit_anonymous_rps: float = Field(default=2, ge=0, alias="RATE_LIMIT_ANONYMOUS_RPS")
    rate_limit_anonymous_burst: int = Field(default=10, ge=1, alias="RATE_LIMIT_ANONYMOUS_BURST")
    rate_limit_public_rps: float = Field(default=20, ge=0, alias="RATE_LIMIT_PUBLIC_RPS")
    rate_limit_public_burst: int = Field(default=100, ge=1, alias="RATE_LIMIT_PUBLIC_BURST")


class SettingsError(RuntimeError):
    """The function was deployed without the environment it needs."""


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    env = dict(os.environ)
    env.setdefault("AWS_REGION", env.get("AWS_DEFAULT_REGION", "us-east-1"))
    try:
        return Settings.model_validate(env)
    except ValidationError as exc:
        raise SettingsError(f"invalid environment: {exc}") from exc
