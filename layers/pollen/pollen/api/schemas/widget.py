"""Widget settings as the admin API and the storefront widget see them."""

from __future__ import annotations

from datetime import datetime

from pollen.domain.widget import StoredWidgetSettings, WidgetSettings


class WidgetSettingsView(WidgetSettings):
    """The settings with their version (also the ``ETag``) and when they last changed."""

    version: int
    updated_at: datetime | None

    @classmethod
    def of(cls, stored: StoredWidgetSettings) -> WidgetSettingsView:
        return cls.model_validate(stored.model_dump())


class PublicWidgetSettings(WidgetSettings):
    """What the storefront widget reads with the app key: the merchant's choices, nothing about customers."""

    version: int

    @classmethod
    def of(cls, stored: StoredWidgetSettings) -> PublicWidgetSettings:
        return cls.model_validate(stored.model_dump(exclude={"updated_at"}))
