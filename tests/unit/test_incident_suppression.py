"""Suppression: maintenance windows (one-off, recurring, by device/label/site), device down, parent down."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from collector.incidents import audit, maintenance, store
from collector.incidents.maintenance import Window
from collector.incidents.manager import IncidentService, held_alerts
from collector.incidents.testing import device, event, make_policy, paris

T0 = paris(2026, 1, 12, 10, 0)


@pytest.fixture
def svc(incident_db):
    s = IncidentService(incident_db, make_policy())
    yield s
    s.close()


def _one_off(scope: str, match: str, start: datetime, end: datetime) -> Window:
    return Window(scope=scope, match=match, starts_at=start, ends_at=end, reason="fuser swap", created_by="ana")


@pytest.mark.parametrize(
    ("scope", "match", "covered"),
    [
        pytest.param("device", "printer-1", True, id="device"),
        pytest.param("device", "printer-2", False, id="other-device"),
        pytest.param("label", "floor=2", True, id="label"),
        pytest.param("label", "floor=3", False, id="other-label-value"),
        pytest.param("site", "hq", True, id="site"),
        pytest.param("site", "branch", False, id="other-site"),
    ],
)
def test_window_scope(svc: IncidentService, scope: str, match: str, covered: bool) -> None:
    maintenance.add(svc.conn, _one_off(scope, match, T0 - timedelta(hours=1), T0 + timedelta(hours=1)))
    opened = svc.handle([event("firing", T0)], {"printer-1": device(floor="2", site="hq")}, T0)
    assert (opened == []) is covered
    assert (len(held_alerts(svc.conn)) == 1) is covered


def test_held_alert_opens_when_window_ends_and_still_firing(svc: IncidentService) -> None:
    end = T0 + timedelta(minutes=30)
    maintenance.add(svc.conn, _one_off("device", "printer-1", T0 - timedelta(hours=1), end))
    assert svc.handle([event("firing", T0)], {"printer-1": device()}, T0) == []
    (held,) = held_alerts(svc.conn)
    assert "maintenance #1" in held["held_reason"]
    assert svc.tick(end - timedelta(seconds=1)) == []
    (inc,) = svc.tick(end)
    assert inc.opened_at == end  # the SLA clock starts when the incident could open
    assert held_alerts(svc.conn) == []
    (opened,) = audit.timeline(svc.conn, inc.number)
    assert "maintenance #1" in opened.data["held"]


def test_alert_cleared_during_window_never_opens_but_stays_visible(svc: IncidentService) -> None:
    maintenance.add(svc.conn, _one_off("device", "printer-1", T0 - timedelta(hours=1), T0 + timedelta(hours=1)))
    svc.handle([event("firing", T0)], {"printer-1": device()}, T0)
    svc.handle([event("resolved", T0 + timedelta(minutes=10))], {}, T0 + timedelta(minutes=10))
    svc.tick(T0 + timedelta(hours=2))
    assert store.query(svc.conn) == []
    assert held_alerts(svc.conn) == []
    (gone,) = held_alerts(svc.conn, include_resolved=True)
    assert (gone["state"], gone["rule"]) == ("resolved", "printer_jam")


@pytest.mark.parametrize(
    ("at", "active"),
    [
        pytest.param(paris(2026, 1, 17, 2, 0), True, id="saturday-start"),
        pytest.param(paris(2026, 1, 17, 5, 59), True, id="saturday-inside"),
        pytest.param(paris(2026, 1, 17, 6, 0), False, id="saturday-end"),
        pytest.param(paris(2026, 1, 18, 3, 0), False, id="sunday"),
        pytest.param(paris(2026, 1, 10, 1, 59), False, id="before-first"),
        pytest.param(paris(2026, 4, 4, 3, 0), True, id="after-dst-still-local-02:00"),
    ],
)
def test_recurring_weekly_window(at: datetime, active: bool) -> None:
    w = Window(
        scope="site",
        match="hq",
        starts_at=paris(2026, 1, 10, 2, 0),  # a Saturday
        rrule="FREQ=WEEKLY;BYDAY=SA",
        duration=timedelta(hours=4),
        timezone="Europe/Paris",
        reason="weekly service",
    )
    assert w.active_at(at.astimezone(UTC)) is active


def test_window_validation() -> None:
    with pytest.raises(ValueError, match="end after"):
        _one_off("device", "p", T0, T0)
    with pytest.raises(ValueError, match="duration"):
        Window(scope="device", match="p", starts_at=T0, rrule="FREQ=DAILY")
    with pytest.raises(ValueError, match="RRULE"):
        Window(scope="device", match="p", starts_at=T0, rrule="FREQ=SOMETIMES", duration=timedelta(hours=1))
    with pytest.raises(ValueError, match="key=value"):
        _one_off("label", "floor", T0, T0 + timedelta(hours=1))


def _topology() -> dict:
    return {
        "switch-1": device("switch-1"),
        "printer-1": device("printer-1", parent="switch-1"),
        "printer-2": device("printer-2", parent="printer-1"),  # e.g. a USB printer shared by printer-1's server
    }


def test_parent_down_suppresses_children_whatever_the_order(svc: IncidentService) -> None:
    evs = [
        event("firing", T0, device_id="printer-2", rule="unreachable", severity="P1", suppresses_device=True),
        event("firing", T0, device_id="printer-1", rule="unreachable", severity="P1", suppresses_device=True),
        event("firing", T0, device_id="switch-1", rule="unreachable", severity="P1", suppresses_device=True),
    ]
    opened = svc.handle(evs, _topology(), T0)
    assert [i.device for i in opened] == ["switch-1"]
    reasons = {h["device"]: h["held_reason"] for h in held_alerts(svc.conn)}
    assert reasons == {
        "printer-1": "parent switch-1 down (unreachable)",
        "printer-2": "parent printer-1 down (unreachable)",
    }


def test_children_open_when_parent_recovers_and_they_are_still_down(svc: IncidentService) -> None:
    down = {"suppresses_device": True, "rule": "unreachable", "severity": "P1"}
    svc.handle(
        [event("firing", T0, device_id="switch-1", **down), event("firing", T0, device_id="printer-1", **down)],
        _topology(),
        T0,
    )
    t1 = T0 + timedelta(minutes=15)
    opened = svc.handle([event("resolved", t1, device_id="switch-1", **down)], _topology(), t1)
    assert sorted((i.device, i.state.value) for i in opened) == [("printer-1", "open"), ("switch-1", "resolved")]
    assert store.latest_for(svc.conn, "printer-1|unreachable|").opened_at == t1


def test_children_that_recovered_with_parent_stay_closed(svc: IncidentService) -> None:
    down = {"suppresses_device": True, "rule": "unreachable", "severity": "P1"}
    svc.handle(
        [event("firing", T0, device_id="switch-1", **down), event("firing", T0, device_id="printer-1", **down)],
        _topology(),
        T0,
    )
    t1 = T0 + timedelta(minutes=15)
    svc.handle(
        [event("resolved", t1, device_id="printer-1", **down), event("resolved", t1, device_id="switch-1", **down)],
        _topology(),
        t1,
    )
    assert [i.device for i in store.query(svc.conn)] == ["switch-1"]


def test_unreachable_device_suppresses_its_own_supply_rules(svc: IncidentService) -> None:
    devs = {"printer-1": device()}
    opened = svc.handle(
        [
            event("firing", T0, rule="toner_low", severity="P3", incident_type="supply", labels=(("supply", "1"),)),
            event("firing", T0, rule="unreachable", severity="P1", suppresses_device=True),
        ],
        devs,
        T0,
    )
    assert [i.rule for i in opened] == ["unreachable"]
    (held,) = held_alerts(svc.conn)
    assert (held["rule"], held["held_reason"]) == ("toner_low", "device down (unreachable)")
    # back online and toner still low -> the supply incident opens then
    t1 = T0 + timedelta(minutes=5)
    opened = svc.handle([event("resolved", t1, rule="unreachable", severity="P1", suppresses_device=True)], devs, t1)
    assert sorted(i.rule for i in opened) == ["toner_low", "unreachable"]


def test_second_hold_episode_starts_its_own_clock(svc: IncidentService) -> None:
    maintenance.add(svc.conn, _one_off("device", "printer-1", T0 - timedelta(hours=1), T0 + timedelta(hours=3)))
    devs = {"printer-1": device()}
    svc.handle([event("firing", T0)], devs, T0)
    svc.handle([event("resolved", T0 + timedelta(minutes=5))], devs, T0 + timedelta(minutes=5))
    t2 = T0 + timedelta(hours=1)
    svc.handle([event("firing", t2)], devs, t2)
    (held,) = held_alerts(svc.conn)
    assert held["held_since"] == "2026-01-12T10:00:00Z"  # t2, not the first episode's start


def test_restarted_collector_without_inventory_still_knows_parents(incident_db) -> None:
    policy = make_policy()
    first = IncidentService(incident_db, policy)
    first.handle(
        [event("firing", T0, rule="toner_low", severity="P3")],
        {"printer-1": device("printer-1", parent="switch-1")},
        T0,
    )
    first.close()
    svc = IncidentService(incident_db, policy)  # fresh process, devices not passed
    down = {"suppresses_device": True, "rule": "unreachable", "severity": "P1"}
    t1 = T0 + timedelta(minutes=1)
    opened = svc.handle(
        [event("firing", t1, device_id="printer-1", **down), event("firing", t1, device_id="switch-1", **down)], {}, t1
    )
    assert [i.device for i in opened] == ["switch-1"]
    (held,) = held_alerts(svc.conn)
    assert (held["device"], held["held_reason"]) == ("printer-1", "parent switch-1 down (unreachable)")
    assert store.latest_for(svc.conn, "printer-1|toner_low|").inventory["serial"] == "SN-printer-1"
    svc.close()
