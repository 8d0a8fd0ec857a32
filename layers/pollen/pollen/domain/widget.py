"""The storefront widget's settings: what a merchant shapes without code (colours, launcher position,
texts per locale, languages, which sections show). Stored with the program's config, read by the
widget through the app-key route ``GET /v1/widget/settings`` (nothing about any customer in it)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from pollen.domain.strict import Count, Switch
from pollen.model import BaseModel

LOCALES: tuple[str, ...] = ("en", "fr")  # the locales the widget ships texts for
Locale = Literal["en", "fr"]
DEFAULT_LOCALES: tuple[Locale, ...] = ("en", "fr")
HexColor = Annotated[str, StringConstraints(pattern=r"^#[0-9a-fA-F]{6}$")]
Text40 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
Text80 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
Text300 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Offset = Annotated[Count, Field(ge=0, le=200, description="Pixels from the screen's edges.")]


class Colors(BaseModel):
    """``#rrggbb`` colours: launcher, buttons and header (``primary``), the panel's text and background."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    primary: HexColor = "#5b3cc4"
    text: HexColor = "#1f2328"
    background: HexColor = "#ffffff"


class Launcher(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    position: Literal["bottom-left", "bottom-right"] = "bottom-right"
    offset_x: Offset = 20
    offset_y: Offset = 20


class Texts(BaseModel):
    """Texts of one locale that replace the widget's own; a missing one keeps the built-in text."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    launcher: Text40 | None = None
    title: Text80 | None = None
    join_title: Text80 | None = None
    join_text: Text300 | None = None


class Sections(BaseModel):
    """Which parts of the panel show (the balance always does)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ways_to_earn: Switch = True
    rewards: Switch = True
    referral: Switch = True
    tier: Switch = True
    history: Switch = True


class WidgetSettings(BaseModel):
    """``PUT /v1/admin/widget``: the whole document (omitted parts take their defaults)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    colors: Colors = Field(default_factory=Colors)
    launcher: Launcher = Field(default_factory=Launcher)
    locales: list[Locale] = Field(
        default_factory=lambda: list(DEFAULT_LOCALES),
        min_length=1,
        max_length=len(LOCALES),
        description="The languages shoppers may see; the page's <html lang> (else the browser's) picks one.",
    )
    default_locale: Locale = Field(default="en", description="When the page's language is not offered.")
    texts: dict[Locale, Texts] = Field(default_factory=dict)
    sections: Sections = Field(default_factory=Sections)

    @model_validator(mode="after")
    def _consistent(self) -> WidgetSettings:
        if len(set(self.locales)) != len(self.locales):
            raise ValueError("locales must not repeat")
        if self.default_locale not in self.locales:
            raise ValueError("default_locale must be one of locales")
        return self


class StoredWidgetSettings(WidgetSettings):
    model_config = ConfigDict(frozen=True, extra="ignore")

    version: int = Field(ge=0)
    updated_at: datetime | None = None
