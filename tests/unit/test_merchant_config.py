"""The merchant config parses its program when first asked for it (storage/merchant_config.py)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from pollen.domain.merchants import Merchant
from pollen.domain.program import Program, default_settings
from pollen.storage.merchant_config import merchant_item, parse_config, program_item

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def items(program: dict[str, object] | None) -> list[dict[str, object]]:
    found: list[dict[str, object]] = [merchant_item(Merchant(merchant_id="m1", name="M", created_at=NOW))]
    return found + ([program] if program is not None else [])


def test_the_program_is_the_stored_one() -> None:
    program = Program(**default_settings("EUR").model_dump(), version=3, updated_at=NOW)
    config = parse_config(items(program_item("m1", program)))
    assert config is not None
    assert config.program == program
    assert config.program is config.program  # parsed once


def test_no_program_item_is_no_program() -> None:
    config = parse_config(items(None))
    assert config is not None
    assert config.program is None


def test_a_broken_program_fails_who_reads_it_not_who_reads_the_rest() -> None:
    broken = {**program_item("m1", Program(**default_settings().model_dump(), version=1, updated_at=NOW))}
    broken["settings"] = {"currency": "nope"}
    config = parse_config(items(broken))
    assert config is not None
    assert config.merchant.merchant_id == "m1"
    with pytest.raises(ValidationError):
        _ = config.program


def test_reading_a_config_does_not_load_the_program_models() -> None:
    code = (
        "import sys\n"
        "from pollen.storage.merchant_config import parse_config\n"
        "config = parse_config([{'PK': 'M#m1#CONFIG', 'SK': 'MERCHANT', 'merchant_id': 'm1', 'name': 'M',"
        " 'created_at': '2026-01-01T00:00:00+00:00'}])\n"
        "assert config is not None and config.shopify is None\n"
        "assert 'pollen.domain.program' not in sys.modules, 'the program models were loaded'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
