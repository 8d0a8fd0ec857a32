"""The local clock: ISO 8601 durations, moving ``pollen.clock.utcnow`` (and only it), the
``/_local/clock`` route, and a guard that no rule reads the system clock around the seam."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from infra.local.clock import ClockError, LocalClock, format_duration, parse_duration
from infra.local.server import LocalApi, LocalRequest
from pollen import clock

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def real_time() -> Iterator[None]:
    clock.set_offset(timedelta(0))
    yield
    clock.set_offset(timedelta(0))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("P8D", timedelta(days=8)),
        ("PT36H", timedelta(hours=36)),
        ("P1W", timedelta(weeks=1)),
        ("P1DT2H30M", timedelta(days=1, hours=2, minutes=30)),
        ("pt90s", timedelta(seconds=90)),
        ("PT0.5S", timedelta(seconds=0.5)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["8D", "P", "PT", "P1Y", "P1M", "P1DT", "-P1D", "P1.5D", ""])
def test_what_is_not_a_duration(text: str) -> None:
    with pytest.raises(ValueError, match="ISO 8601 duration"):
        parse_duration(text)


def test_format_round_trips() -> None:
    for value in (timedelta(0), timedelta(days=8), timedelta(days=1, hours=2, seconds=5), timedelta(hours=3)):
        assert parse_duration(format_duration(value)) == value


def test_advance_set_and_reset_move_utcnow_and_not_the_wallclock() -> None:
    changes: list[str] = []
    local = LocalClock(on_change=lambda: changes.append("saved"))
    before = clock.utcnow()
    status = local.move({"advance": "P8D"})
    assert status["offset"] == "P8D"
    assert clock.utcnow() - before >= timedelta(days=8)
    assert clock.utcnow() - before < timedelta(days=8, minutes=1)
    assert abs(clock.wallclock() - datetime.now(UTC)) < timedelta(seconds=5)
    local.move({"advance": "PT12H"})
    assert local.offset == timedelta(days=8, hours=12)
    target = datetime.now(UTC) + timedelta(days=30)
    local.move({"set": target.isoformat().replace("+00:00", "Z")})
    assert abs(clock.utcnow() - target) < timedelta(seconds=5)
    local.move({"reset": True})
    assert local.offset == timedelta(0)
    assert changes == ["saved"] * 4


@pytest.mark.parametrize(
    "request_body",
    [
        {"advance": "PT0S"},
        {"advance": "soon"},
        {"set": "2001-01-01T00:00:00Z"},
        {"set": "tomorrow"},
        {"reset": False},
        {"advance": "P1D", "reset": True},
        {"rewind": "P1D"},
        [],
        None,
    ],
)
def test_bad_requests_do_not_move_the_clock(request_body: object) -> None:
    local = LocalClock()
    with pytest.raises(ClockError):
        local.move(request_body)
    assert local.offset == timedelta(0)


def test_the_clock_route() -> None:
    api = LocalApi([], lambda spec, event: None, clock=LocalClock())
    status, _, body = api.handle(LocalRequest("POST", "/_local/clock", [], b'{"advance": "P2D"}'))
    assert status == 200
    assert json.loads(body)["offset"] == "P2D"
    status, _, body = api.handle(LocalRequest("GET", "/_local/clock", []))
    assert json.loads(body)["offset_seconds"] == 2 * 86400
    status, headers, body = api.handle(LocalRequest("POST", "/_local/clock", [], b'{"advance": "2 days"}'))
    assert status == 400
    assert ("content-type", "application/problem+json") in headers
    assert json.loads(body)["status"] == 400
    status, _, _ = api.handle(LocalRequest("POST", "/_local/clock", [], b"{not json"))
    assert status == 400


def test_local_routes_can_be_added_and_come_before_the_template() -> None:
    api = LocalApi([], lambda spec, event: None)
    api.add_route("GET", "/dashboard/", lambda request, path: (200, [], path.encode()), prefix=True)
    assert api.handle(LocalRequest("GET", "/dashboard/app.js", []))[2] == b"/dashboard/app.js"
    assert api.handle(LocalRequest("POST", "/dashboard/app.js", []))[0] == 404


# Reading the system clock anywhere but pollen/clock.py would escape the local clock (and tests' "now").
_SYSTEM_CLOCK = re.compile(r"datetime\.(now|utcnow|today)\(|date\.today\(|time\.time\(\)|time\.gmtime\(")
_ALLOWED = {
    "layers/pollen/pollen/clock.py",  # the seam itself
    "layers/pollen/pollen/ids.py",  # ULIDs: ordering, not a rule
}


def test_no_rule_reads_the_system_clock_around_the_seam() -> None:
    offenders = []
    for folder in ("layers/pollen/pollen", "functions"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if relative in _ALLOWED:
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if _SYSTEM_CLOCK.search(line):
                    offenders.append(f"{relative}:{number}: {line.strip()}")
    assert not offenders, "use pollen.clock.utcnow() (or take `now`):\n" + "\n".join(offenders)
