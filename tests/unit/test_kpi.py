"""KPI arithmetic on hand-built incident histories; every expected number is worked out in the comments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from collector.reports import kpi
from collector.reports.kpi import Change, IncidentRecord

OCT = datetime(2026, 10, 1, tzinfo=UTC)
NOV = datetime(2026, 11, 1, tzinfo=UTC)


def t(day: int, hour: int = 0, minute: int = 0, month: int = 10) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def inc(number: int, opened: datetime, **kw: object) -> IncidentRecord:
    base: dict[str, object] = {
        "number": number,
        "device": "prn-a",
        "rule": "paper_jam",
        "severity": "P2",
        "tier": "standard",
        "type": "fault",
        "state": "resolved",
        "summary": f"incident {number}",
        "opened_at": opened,
        "response_due": opened + timedelta(hours=1),
        "resolve_due": opened + timedelta(hours=4),
    }
    base.update(kw)
    return IncidentRecord(**base)  # type: ignore[arg-type]


# -- on-time rates, MTTA, MTTR --------------------------------------------------------------------------------


@pytest.fixture
def october() -> list[IncidentRecord]:
    return [
        # ack after 10 min (met), resolved after 1 h (met)
        inc(1, t(5, 10), acknowledged_at=t(5, 10, 10), resolved_at=t(5, 11), response_met=True, resolve_met=True),
        # ack after 30 min (met), resolved after 5 h (breached: 4 h target)
        inc(2, t(6, 8), acknowledged_at=t(6, 8, 30), resolved_at=t(6, 13), response_met=True, resolve_met=False),
        # cleared by itself after 20 min, nobody acknowledged: response met by the resolution, not in MTTA
        inc(3, t(7, 9), resolved_at=t(7, 9, 20), response_met=True, resolve_met=True, tier="vip"),
        # opened in September, acknowledged 1 Oct 00:30 (2 h 30 min, breached at 30 Sep 23:00 -> judged in Sept),
        # resolved 1 Oct 01:00 (3 h, met -> judged in October)
        inc(
            4,
            t(30, 22, month=9),
            acknowledged_at=t(1, 0, 30),
            resolved_at=t(1, 1),
            response_met=False,
            resolve_met=True,
            tier="vip",
        ),
        # still open, no flags stored (the collector was down at the deadline): response due 20 Oct 11:00 -> breached
        inc(5, t(20, 10), state="open"),
        # still open, deadlines after the window end: not judged
        inc(6, t(31, 23), state="open"),
    ]


def test_on_time_rates_count_each_judgement_in_its_period(october: list[IncidentRecord]) -> None:
    g = kpi.group_stats("all", october, OCT, NOV)
    # response: #1 met (10-05), #2 met, #3 met (by resolution), #4 judged in September, #5 breached, #6 running
    assert (g.response.met, g.response.judged) == (3, 4)
    assert g.response.rate == pytest.approx(0.75)
    # resolve: #1 met, #2 breached, #3 met, #4 met (01 Oct 01:00), #5 breached at 20 Oct 14:00, #6 running
    assert (g.resolve.met, g.resolve.judged) == (3, 5)
    assert g.opened == 5  # #4 opened in September
    assert g.resolved == 4


def test_september_sees_the_response_breach_of_an_incident_opened_on_the_30th(october: list[IncidentRecord]) -> None:
    sept = kpi.group_stats("all", october, datetime(2026, 9, 1, tzinfo=UTC), OCT)
    assert (sept.response.met, sept.response.judged) == (0, 1)
    assert sept.resolve.judged == 0
    assert sept.opened == 1


def test_mtta_and_mttr_are_wall_clock_means(october: list[IncidentRecord]) -> None:
    # MTTA: #1 600 s, #2 1800 s, #4 9000 s (acknowledged in October) -> 11400 / 3 = 3800 s
    assert kpi.mtta(october, OCT, NOV) == pytest.approx(3800.0)
    # MTTR: #1 3600, #2 18000, #3 1200, #4 10800 -> 33600 / 4 = 8400 s
    assert kpi.mttr(october, OCT, NOV) == pytest.approx(8400.0)


def test_per_tier_groups(october: list[IncidentRecord]) -> None:
    by = {g.key: g for g in kpi.grouped(october, lambda i: i.tier, OCT, NOV)}
    assert set(by) == {"standard", "vip"}
    assert (by["vip"].resolve.met, by["vip"].resolve.judged) == (2, 2)
    assert (by["vip"].response.met, by["vip"].response.judged) == (1, 1)  # #4's breach belongs to September
    assert by["vip"].mttr_s == pytest.approx((1200 + 10800) / 2)
    assert (by["standard"].resolve.met, by["standard"].resolve.judged) == (1, 3)
    assert by["standard"].mtta_s == pytest.approx((600 + 1800) / 2)


def test_nothing_judged_is_no_rate_not_100_percent() -> None:
    g = kpi.group_stats("empty", [], OCT, NOV)
    assert g.response.rate is None
    assert g.mttr_s is None


# -- repeat faults -------------------------------------------------------------------------------------------


def test_repeat_faults_same_device_and_rule_within_30_days() -> None:
    incidents = [
        inc(10, t(5, 9, month=9), resolved_at=t(10, 9, month=9)),  # prn-a jam, fixed 10 Sep
        inc(11, t(5, 9), resolved_at=t(5, 10)),  # prn-a jam 5 Oct: 25 days after the fix -> repeat
        inc(12, t(20, 9), resolved_at=t(20, 10)),  # prn-a jam 20 Oct: 15 days after #11's fix -> repeat
        inc(13, t(7, 9), device="prn-b", resolved_at=t(7, 10)),  # prn-b: last jam fixed 1 Aug -> not a repeat
        inc(14, t(1, 9, month=8), device="prn-b", resolved_at=t(1, 10, month=8)),
        inc(15, t(8, 9), rule="door_open", resolved_at=t(8, 10)),  # another rule on prn-a: not a repeat
        inc(
            16,
            t(12, 9),
            device="prn-c",
            resolved_at=t(12, 11),
            history=(
                Change(t(12, 9), "open", "fleetwatch", "open"),
                Change(t(12, 9, 30), "resolve", "fleetwatch", "resolved"),
                Change(t(12, 9, 40), "reopen", "fleetwatch", "open"),  # the fault came back: a repeat
                Change(t(12, 10), "resolve", "fleetwatch", "resolved"),
                Change(t(12, 10, 30), "reopen", "ana", "open"),  # a person reopened: not a new fault
                Change(t(12, 11), "resolve", "ana", "resolved"),
            ),
        ),
        inc(17, t(9, 9), type="supply", rule="toner_low", resolved_at=t(9, 10)),  # supplies are not faults
        inc(18, t(10, 9), type="supply", rule="toner_low", resolved_at=t(10, 10)),
    ]
    occ = kpi.fault_occurrences(incidents, OCT, NOV)
    assert [(o.number, o.at) for o in occ] == [
        (11, t(5, 9)),
        (13, t(7, 9)),
        (15, t(8, 9)),
        (16, t(12, 9)),
        (16, t(12, 9, 40)),
        (12, t(20, 9)),
    ]
    repeats = {(o.number, o.at): o.repeat_of for o in occ if o.repeat_of}
    assert repeats == {
        (11, t(5, 9)): t(10, 9, month=9),
        (16, t(12, 9, 40)): t(12, 9, 30),
        (12, t(20, 9)): t(5, 10),
    }
    # rate = 3 repeats / 6 fault occurrences


def test_repeat_window_is_inclusive_30_days() -> None:
    prev = inc(1, t(1, 8), resolved_at=t(1, 9))
    on_edge = inc(2, t(31, 9), resolved_at=t(31, 10))  # exactly 30 days after 1 Oct 09:00
    late = inc(3, t(31, 9, 1), device="prn-x", resolved_at=t(31, 10))
    late_prev = inc(4, t(1, 8), device="prn-x", resolved_at=t(1, 9))
    occ = {o.number: o.repeat_of for o in kpi.fault_occurrences([prev, on_edge, late, late_prev], OCT, NOV)}
    assert occ[2] == t(1, 9)
    assert occ[3] is None  # 30 days and 1 minute


# -- availability --------------------------------------------------------------------------------------------

DAY = datetime(2026, 10, 14, tzinfo=UTC)


def h(hour: int, minute: int = 0) -> datetime:
    return DAY + timedelta(hours=hour, minutes=minute)


def polls(skip: tuple[datetime, datetime] | None = None, down: tuple[datetime, datetime] | None = None):
    """A poll every 10 minutes 00:00..09:50; ``down``: up=0 polls in [a, b); ``skip``: no polls in [a, b)."""
    out = []
    for k in range(60):
        at = h(0, 10 * k)
        if skip and skip[0] <= at < skip[1]:
            continue
        out.append((at, not (down and down[0] <= at < down[1])))
    return out


def test_availability_overlapping_incidents_unreachable_and_gaps() -> None:
    up = polls(skip=(h(5), h(6)), down=(h(2), h(3)))
    incidents = [
        inc(1, h(2, 30), severity="P1", resolved_at=h(4)),  # overlaps the unreachable hour: 02:00-04:00 down
        inc(2, h(5, 30), resolved_at=h(5, 50)),  # P2 inside the monitoring gap: down, not "no data"
        inc(3, h(7), severity="P3", resolved_at=h(8)),  # P3 does not make a device unavailable
        inc(
            4,
            h(8),
            resolved_at=h(9, 15),
            history=(
                Change(h(8), "open", "fleetwatch", "open"),
                Change(h(8, 30), "resolve", "fleetwatch", "resolved"),
                Change(h(9), "reopen", "fleetwatch", "open"),
                Change(h(9, 15), "resolve", "fleetwatch", "resolved"),
                Change(h(9, 20), "close", "ana", "closed"),
            ),
        ),  # active 08:00-08:30 and 09:00-09:15 = 45 min
    ]
    av = kpi.availability(up, incidents, h(0), h(10))
    # unreachable: polls 02:00..02:50 are down, each holds until the next poll -> 02:00-03:00
    assert av.unreachable_s == 3600
    # P1/P2 active: 02:30-04:00 (5400) + 05:30-05:50 (1200) + 45 min (2700)
    assert av.incident_s == 9300
    # union: 02:00-04:00 (7200) + 1200 + 2700 = 11100
    assert av.down_s == 11100
    # gap: the 04:50 poll holds until 05:20; no poll until 06:00 -> 40 min, minus the 20 min incident
    assert av.no_data_s == 1200
    assert av.observed_s == 36000 - 1200
    assert av.ratio == pytest.approx((34800 - 11100) / 34800)  # 0.68103


def test_availability_starts_with_the_last_poll_before_the_window() -> None:
    # down since 23:50 the day before, back up at 00:40
    up = [(h(0) - timedelta(minutes=10), False), *[(h(0, 10 * k), k >= 4) for k in range(60)]]
    av = kpi.availability(up, [], h(0), h(10))
    assert av.unreachable_s == 40 * 60
    assert av.no_data_s == 0
    assert av.ratio == pytest.approx(1 - 2400 / 36000)


def test_device_first_seen_mid_window_is_observed_from_its_first_poll() -> None:
    up = [(h(3, 10 * k), True) for k in range(42)]  # 03:00 .. 09:50
    av = kpi.availability(up, [], h(0), h(10))
    assert av.no_data_s == 3 * 3600
    assert av.observed_s == 7 * 3600
    assert av.ratio == 1.0


def test_open_incident_counts_until_the_window_end() -> None:
    up = polls()
    av = kpi.availability(up, [inc(1, h(9), state="open", severity="P1")], h(0), h(10))
    assert av.incident_s == 3600


def test_fleet_availability_is_time_weighted() -> None:
    a = kpi.Availability(observed_s=36000, down_s=3600, unreachable_s=3600, incident_s=0, no_data_s=0)
    b = kpi.Availability(observed_s=3600, down_s=3600, unreachable_s=3600, incident_s=0, no_data_s=32400)
    # (32400 + 0) / (36000 + 3600); a plain mean of ratios would say (0.9 + 0) / 2 = 0.45
    assert kpi.fleet_availability([a, b]) == pytest.approx(32400 / 39600)
    assert kpi.fleet_availability([]) is None


# -- intervals and pages ---------------------------------------------------------------------------------------


def test_interval_helpers() -> None:
    assert kpi.union([(h(1), h(3)), (h(2), h(4)), (h(5), h(6)), (h(6), h(7))]) == [(h(1), h(4)), (h(5), h(7))]
    assert kpi.subtract([(h(0), h(10))], [(h(1), h(2)), (h(5), h(12))]) == [(h(0), h(1)), (h(2), h(5))]
    assert kpi.clip([(h(0), h(3)), (h(8), h(12))], h(1), h(10)) == [(h(1), h(3)), (h(8), h(10))]


@pytest.mark.parametrize(
    ("counter", "expected"),
    [
        pytest.param([(0, 1000), (1, 1100), (2, 1250)], 250, id="plain"),
        pytest.param([(0, 1000), (1, 1100), (2, 50), (3, 80)], 130, id="counter-reset-after-firmware-update"),
        pytest.param([(0, 1000)], 0, id="one-reading"),
        pytest.param([], None, id="no-counter"),
    ],
)
def test_pages_printed(counter: list[tuple[float, float]], expected: float | None) -> None:
    assert kpi.pages_printed(counter) == expected
