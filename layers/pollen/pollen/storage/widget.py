"""The widget settings item (``M#{m}#CONFIG`` → ``WIDGET``): read from the cached config partition."""

from __future__ import annotations

from typing import Any

from pollen.clock import isoformat
from pollen.domain.widget import StoredWidgetSettings
from pollen.storage.keys import widget_settings_key
from pollen.storage.merchant_config import MerchantConfig
from pollen.storage.transactions import Transaction

ENTITY = "widget_settings"


def widget_item(merchant_id: str, settings: StoredWidgetSettings) -> dict[str, Any]:
    return {
        **widget_settings_key(merchant_id).as_dict(),
        "entity": ENTITY,
        "merchant_id": merchant_id,
        "settings": settings.model_dump(mode="json", exclude={"version", "updated_at"}),
        "version": settings.version,
        "updated_at": isoformat(settings.updated_at) if settings.updated_at else None,
    }


def widget_settings_of(config: MerchantConfig) -> StoredWidgetSettings:
    """The stored settings, or the defaults (version 0) when the merchant never saved any."""
    item = config.items.get(widget_settings_key(config.merchant.merchant_id).sk)
    if item is None:
        return StoredWidgetSettings(version=0)
    return StoredWidgetSettings.model_validate(
        {**item["settings"], "version": item["version"], "updated_at": item.get("updated_at")}
    )


def put_widget_settings(
    tx: Transaction, merchant_id: str, settings: StoredWidgetSettings, *, base: int
) -> None:
    """Write version ``base + 1``; the condition fails when someone else wrote since ``base``."""
    item = widget_item(merchant_id, settings)
    if base == 0:
        tx.put(item, label="widget-settings", condition="attribute_not_exists(PK)")
    else:
        tx.put(
            item, label="widget-settings", condition="#v = :v", names={"#v": "version"}, values={":v": base}
        )
