"""SLA clocks with time passed in: business hours, 24x7, holidays, DST, met/breached flags."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from collector.incidents import store
from collector.incidents.manager import IncidentService, acknowledge, resolve
from collector.incidents.policy import BusinessHours, Target
from collector.incidents.sla import AlwaysClock, BusinessClock, clock_for, deadlines, met
from collector.incidents.testing import device, event, make_policy, paris

OFFICE = BusinessHours(
    timezone="Europe/Paris", weekdays=[0, 1, 2, 3, 4], start="08:00", end="18:00", holidays=["2026-05-01"]
)
PREMIUM_P2 = Target(respond="1h", resolve="4h")


@pytest.mark.parametrize(
    ("opened", "duration", "due"),
    [
        pytest.param(paris(2026, 1, 9, 17, 55), "1h", paris(2026, 1, 12, 8, 55), id="friday-17:55-over-weekend"),
        pytest.param(paris(2026, 1, 9, 17, 55), "4h", paris(2026, 1, 12, 11, 55), id="friday-17:55-resolve-4h"),
        pytest.param(paris(2026, 1, 10, 11, 0), "1h", paris(2026, 1, 12, 9, 0), id="saturday-starts-monday"),
        pytest.param(paris(2026, 1, 12, 6, 0), "1h", paris(2026, 1, 12, 9, 0), id="before-opening"),
        pytest.param(paris(2026, 1, 12, 19, 0), "1h", paris(2026, 1, 13, 9, 0), id="after-closing"),
        pytest.param(paris(2026, 1, 12, 9, 0), "16h", paris(2026, 1, 13, 15, 0), id="spans-two-days"),
        pytest.param(paris(2026, 1, 12, 8, 0), "10h", paris(2026, 1, 12, 18, 0), id="exactly-one-day"),
        pytest.param(paris(2026, 4, 30, 17, 30), "1h", paris(2026, 5, 4, 8, 30), id="holiday-friday-skipped"),
        # 27 March is UTC+1, 30 March UTC+2 (DST on the 29th): still 08:30 local.
        pytest.param(paris(2026, 3, 27, 17, 30), "1h", paris(2026, 3, 30, 8, 30), id="dst-weekend"),
    ],
)
def test_business_hours_deadline(opened: datetime, duration: str, due: datetime) -> None:
    got = BusinessClock(OFFICE).add(opened, Target(respond=duration, resolve=duration).respond)
    assert got == due.astimezone(UTC)


def test_friday_1755_premium_p2_deadlines() -> None:
    d = deadlines(BusinessClock(OFFICE), paris(2026, 1, 9, 17, 55), PREMIUM_P2)
    assert d.response_due == paris(2026, 1, 12, 8, 55)
    assert d.resolve_due == paris(2026, 1, 12, 11, 55)


def test_24x7_is_wall_clock() -> None:
    d = deadlines(AlwaysClock(), paris(2026, 1, 9, 17, 55), PREMIUM_P2)
    assert d.response_due == paris(2026, 1, 9, 18, 55)
    assert d.resolve_due == paris(2026, 1, 9, 21, 55)


def test_policy_picks_clock_per_tier() -> None:
    p = make_policy()
    assert isinstance(clock_for(p, "vip"), AlwaysClock)
    assert isinstance(clock_for(p, "premium"), BusinessClock)


def test_single_weekday_calendar_waits_for_next_week() -> None:
    mondays = BusinessHours(weekdays=["mon"])  # UTC 08:00-18:00
    got = BusinessClock(mondays).add(datetime(2026, 1, 13, tzinfo=UTC), timedelta(hours=1))
    assert got == datetime(2026, 1, 19, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        pytest.param({"weekdays": []}, "weekdays", id="no-weekday"),
        pytest.param({"start": "18:00", "end": "08:00"}, "before end", id="start-after-end"),
        pytest.param({"start": 480}, "quoted", id="yaml-sexagesimal-08:00"),
        pytest.param({"timezone": "Mars/Olympus"}, "unknown timezone", id="bad-zone"),
    ],
)
def test_bad_calendar_rejected(fields: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        BusinessHours(**fields)


@pytest.mark.parametrize(
    ("done", "now", "expected"),
    [
        pytest.param(paris(2026, 1, 12, 8, 55), paris(2026, 1, 13), True, id="done-exactly-at-due"),
        pytest.param(paris(2026, 1, 12, 8, 56), paris(2026, 1, 13), False, id="done-late"),
        pytest.param(None, paris(2026, 1, 12, 8, 0), None, id="running"),
        pytest.param(None, paris(2026, 1, 12, 8, 56), False, id="not-done-past-due"),
    ],
)
def test_met_flag(done: datetime | None, now: datetime, expected: bool | None) -> None:
    assert met(done, paris(2026, 1, 12, 8, 55), now) is expected


@pytest.fixture
def svc(incident_db):
    s = IncidentService(incident_db, make_policy())
    yield s
    s.close()


def test_service_friday_fault_breaches_response_on_monday(svc: IncidentService) -> None:
    opened = paris(2026, 1, 9, 17, 55)
    (inc,) = svc.handle([event("firing", opened)], {"printer-1": device(tier="premium")}, opened)
    assert (inc.tier, inc.response_due, inc.resolve_due) == (
        "premium",
        paris(2026, 1, 12, 8, 55),
        paris(2026, 1, 12, 11, 55),
    )
    svc.tick(paris(2026, 1, 12, 8, 55))
    assert store.get(svc.conn, inc.number).response_met is None  # due, not yet past due
    svc.tick(paris(2026, 1, 12, 8, 56))
    after = store.get(svc.conn, inc.number)
    assert after.response_met is False
    assert after.resolve_met is None
    late = acknowledge(svc.conn, inc.number, "ana", paris(2026, 1, 12, 9, 0))
    assert late.response_met is False  # a breach is never undone by acknowledging later


def test_service_met_flags_when_in_time(svc: IncidentService) -> None:
    opened = paris(2026, 1, 9, 17, 55)
    (inc,) = svc.handle([event("firing", opened)], {"printer-1": device(tier="premium")}, opened)
    acknowledge(svc.conn, inc.number, "ana", paris(2026, 1, 12, 8, 30))
    done = resolve(svc.conn, inc.number, "ana", paris(2026, 1, 12, 11, 0), cause="paper jam", action="cleared")
    assert (done.response_met, done.resolve_met) == (True, True)
    svc.tick(paris(2026, 1, 20))
    assert store.get(svc.conn, inc.number).resolve_met is True


def test_unknown_tier_falls_back_to_default(svc: IncidentService) -> None:
    opened = paris(2026, 1, 12, 9, 0)
    (inc,) = svc.handle([event("firing", opened)], {"printer-1": device(tier="gold")}, opened)
    assert inc.tier == "standard"
    assert inc.response_due == paris(2026, 1, 12, 13, 0)  # standard P2: 4 h
