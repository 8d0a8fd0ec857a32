"""The storefront widget's settings: read (cached with the merchant's config: 0 DynamoDB calls warm)
and replaced through the unit of work (one TransactWriteItems, If-Match aware)."""

from __future__ import annotations

from datetime import datetime

from pollen.domain.errors import PreconditionFailed, RetryableConflict
from pollen.domain.widget import StoredWidgetSettings, WidgetSettings
from pollen.services.container import Container
from pollen.services.merchants import merchant_config
from pollen.storage.errors import ConditionFailed
from pollen.storage.widget import widget_settings_of


def get_settings(c: Container, merchant_id: str) -> StoredWidgetSettings:
    return widget_settings_of(merchant_config(c, merchant_id))


def update_settings(
    c: Container, merchant_id: str, settings: WidgetSettings, *, now: datetime, expected_version: int | None
) -> StoredWidgetSettings:
    """Replace the settings; with ``If-Match`` (``expected_version``) a concurrent change is a 412."""
    current = get_settings(c, merchant_id)
    base = expected_version if expected_version is not None else current.version
    stored = StoredWidgetSettings(**settings.model_dump(), version=base + 1, updated_at=now)
    uow = c.units.begin(merchant_id)
    uow.widget_settings.save(stored)
    try:
        uow.commit(now=now)
    except ConditionFailed as exc:
        if expected_version is not None:
            raise PreconditionFailed(
                "The widget settings changed since you read them; fetch them again and reapply your change."
            ) from exc
        raise RetryableConflict("The widget settings were changed concurrently; retry.") from exc
    finally:
        c.config.invalidate(merchant_id)
    return stored
