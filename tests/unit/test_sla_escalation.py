"""Escalation steps fire at the right times, once each, and stop when the incident moves on."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from collector.incidents import store
from collector.incidents.manager import IncidentService, acknowledge, resolve
from collector.incidents.testing import device, event, make_policy, paris

T0 = paris(2026, 1, 12, 10, 0)  # a Monday, inside business hours


@pytest.fixture
def svc(incident_db):
    s = IncidentService(incident_db, make_policy())
    yield s
    s.close()


def _open(svc: IncidentService, at: datetime, *, tier: str, severity: str) -> int:
    (inc,) = svc.handle([event("firing", at, severity=severity)], {"printer-1": device(tier=tier)}, at)
    return inc.number


def _fired(svc: IncidentService, number: int) -> list[str]:
    return [e.step for e in store.get(svc.conn, number).escalations]


def test_vip_p1_ladder_fires_each_step_at_its_time(svc: IncidentService) -> None:
    # vip is 24x7; P1: respond 15 min, resolve 2 h; p1-lead after 5 min unacknowledged.
    n = _open(svc, T0, tier="vip", severity="P1")
    timeline = [
        (timedelta(minutes=4, seconds=59), []),
        (timedelta(minutes=5), ["p1-lead"]),
        (timedelta(minutes=11, seconds=59), ["p1-lead"]),
        (timedelta(minutes=12), ["p1-lead", "response-80"]),  # 80 % of 15 min
        (timedelta(minutes=15), ["p1-lead", "response-80", "response-breach"]),
        (timedelta(minutes=95), ["p1-lead", "response-80", "response-breach"]),
        (timedelta(minutes=96), ["p1-lead", "response-80", "response-breach", "resolve-80"]),  # 80 % of 2 h
        (timedelta(hours=2), ["p1-lead", "response-80", "response-breach", "resolve-80", "resolve-breach"]),
        (timedelta(hours=5), ["p1-lead", "response-80", "response-breach", "resolve-80", "resolve-breach"]),
    ]
    for offset, expected in timeline:
        svc.tick(T0 + offset)
        assert _fired(svc, n) == expected, offset


def test_acknowledge_stops_response_steps_not_resolve_steps(svc: IncidentService) -> None:
    n = _open(svc, T0, tier="vip", severity="P1")
    acknowledge(svc.conn, n, "ana", T0 + timedelta(minutes=3))
    svc.tick(T0 + timedelta(minutes=30))
    assert _fired(svc, n) == []
    svc.tick(T0 + timedelta(minutes=96))
    assert _fired(svc, n) == ["resolve-80"]
    resolve(svc.conn, n, "ana", T0 + timedelta(minutes=100), cause="fuser", action="replaced fuser")
    svc.tick(T0 + timedelta(hours=3))
    assert _fired(svc, n) == ["resolve-80"]


def test_late_tick_fires_every_due_step_once_in_order(svc: IncidentService) -> None:
    n = _open(svc, T0, tier="vip", severity="P1")
    svc.tick(T0 + timedelta(hours=3))
    svc.tick(T0 + timedelta(hours=4))
    assert _fired(svc, n) == ["p1-lead", "response-80", "response-breach", "resolve-80", "resolve-breach"]
    actions = [r["action"] for r in svc.conn.execute("SELECT action FROM incident_audit WHERE incident = ?", (n,))]
    assert actions.count("escalate") == 5
    assert actions.count("sla_breach") == 2


def test_p1_only_step_skips_p2(svc: IncidentService) -> None:
    n = _open(svc, T0, tier="vip", severity="P2")  # respond 30 min
    svc.tick(T0 + timedelta(minutes=23, seconds=59))
    assert _fired(svc, n) == []
    svc.tick(T0 + timedelta(minutes=24))  # 80 % of 30 min
    assert _fired(svc, n) == ["response-80"]


def test_business_hours_warning_lands_on_monday(svc: IncidentService) -> None:
    # premium P2 opened Friday 17:55: respond 1 h on office hours -> 80 % (48 min) is Monday 08:43.
    n = _open(svc, paris(2026, 1, 9, 17, 55), tier="premium", severity="P2")
    svc.tick(paris(2026, 1, 10, 12, 0))  # Saturday: the clock is stopped
    assert _fired(svc, n) == []
    svc.tick(paris(2026, 1, 12, 8, 42, 59))
    assert _fired(svc, n) == []
    svc.tick(paris(2026, 1, 12, 8, 43))
    assert _fired(svc, n) == ["response-80"]


def test_escalation_queues_notification_to_step_channels(svc: IncidentService) -> None:
    n = _open(svc, T0, tier="vip", severity="P1")
    svc.tick(T0 + timedelta(minutes=5))
    rows = svc.conn.execute(
        "SELECT event, channels, payload FROM incident_outbox WHERE incident = ? ORDER BY id", (n,)
    ).fetchall()
    assert [r["event"] for r in rows] == ["open", "escalate"]
    assert json.loads(rows[1]["channels"]) == ["lead"]
    assert json.loads(rows[1]["payload"])["escalation"] == {"step": "p1-lead", "level": 1}
