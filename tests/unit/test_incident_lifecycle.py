"""Lifecycle: open from a firing alert, dedup by fingerprint, auto-resolve, reopen as repeat, human actions."""

from __future__ import annotations

from datetime import timedelta

import pytest

from collector.incidents import audit, store
from collector.incidents.manager import (
    IncidentService,
    acknowledge,
    add_note,
    assign,
    close,
    held_alerts,
    reopen,
    resolve,
)
from collector.incidents.model import State, TransitionError
from collector.incidents.testing import device, event, make_policy, paris

T0 = paris(2026, 1, 12, 10, 0)
DEVS = {"printer-1": device(tier="premium", site="hq"), "printer-2": device("printer-2")}


@pytest.fixture
def svc(incident_db):
    s = IncidentService(incident_db, make_policy())
    yield s
    s.close()


def _actions(svc: IncidentService, number: int) -> list[str]:
    return [e.action for e in audit.timeline(svc.conn, number)]


def test_firing_alert_opens_incident_with_full_record(svc: IncidentService) -> None:
    ev = event("firing", T0, labels=(("tray", "2"),), values={"printer_error": 1.0, "state": "jam"})
    (inc,) = svc.handle([ev], DEVS, T0)
    assert inc.number == 1
    assert (inc.device, inc.rule, inc.severity, inc.tier, inc.type, inc.state) == (
        "printer-1",
        "printer_jam",
        "P2",
        "premium",
        "fault",
        State.open,
    )
    assert inc.inventory["serial"] == "SN-printer-1"
    assert inc.inventory["labels"] == {"tier": "premium", "site": "hq"}
    assert inc.alert_labels == {"tray": "2"}
    assert inc.summary == "printer_jam on printer-1"
    assert inc.symptom == "printer_jam detected"
    assert inc.readings == {"printer_error": 1.0, "state": "jam"}
    assert inc.opened_at == T0
    assert inc.fault_since == T0 - timedelta(seconds=60)
    assert inc.response_due == T0 + timedelta(hours=1)  # premium P2, Monday 10:00 in office hours
    assert store.get(svc.conn, 1) == inc
    assert _actions(svc, 1) == ["open"]


def test_numbers_increase_and_are_not_reused(svc: IncidentService) -> None:
    a = svc.handle([event("firing", T0)], DEVS, T0)[0]
    b = svc.handle([event("firing", T0, device_id="printer-2")], DEVS, T0)[0]
    assert (a.number, b.number) == (1, 2)


def test_firing_again_adds_occurrence_not_duplicate(svc: IncidentService) -> None:
    svc.handle([event("firing", T0)], DEVS, T0)
    # e.g. the rules engine restarted and fires again while the incident is still open
    again = [event("firing", T0 + timedelta(minutes=m)) for m in (1, 2)]
    svc.handle(again, DEVS, T0 + timedelta(minutes=2))
    (inc,) = store.query(svc.conn)
    assert inc.occurrences == 3
    assert inc.last_occurrence_at == T0 + timedelta(minutes=2)
    assert _actions(svc, 1) == ["open", "occurrence", "occurrence"]


def test_alert_labels_make_distinct_incidents(svc: IncidentService) -> None:
    evs = [event("firing", T0, rule="toner_low", labels=(("supply", s),)) for s in ("1.1", "1.2")]
    assert len(svc.handle(evs, DEVS, T0)) == 2


def test_pending_events_open_nothing(svc: IncidentService) -> None:
    assert svc.handle([event("pending", T0)], DEVS, T0) == []
    assert store.query(svc.conn) == []


def test_auto_resolve_when_alert_clears(svc: IncidentService) -> None:
    svc.handle([event("firing", T0)], DEVS, T0)
    (inc,) = svc.handle([event("resolved", T0 + timedelta(minutes=20))], DEVS, T0 + timedelta(minutes=20))
    assert inc.state == State.resolved
    assert inc.resolved_at == T0 + timedelta(minutes=20)
    assert inc.resolved_by == "fleetwatch"
    assert inc.result == "alert cleared"
    assert (inc.response_met, inc.resolve_met) == (True, True)  # resolution stops the response clock too
    assert not inc.alert_firing


def test_no_auto_resolve_waits_for_a_person(svc: IncidentService) -> None:
    svc.handle([event("firing", T0, auto_resolve=False)], DEVS, T0)
    (inc,) = svc.handle([event("resolved", T0 + timedelta(minutes=5), auto_resolve=False)], DEVS, T0)
    assert inc.state == State.open
    assert not inc.alert_firing
    (last,) = [e for e in audit.timeline(svc.conn, 1) if e.action == "alert_cleared"]
    assert "waiting for a person" in last.data["note"]
    done = resolve(svc.conn, 1, "ana", T0 + timedelta(minutes=30), cause="worn roller", action="replaced roller")
    assert (done.state, done.cause, done.action, done.result) == (
        State.resolved,
        "worn roller",
        "replaced roller",
        "fixed",
    )


def test_fault_returning_within_window_reopens_as_repeat(svc: IncidentService) -> None:
    svc.handle([event("firing", T0)], DEVS, T0)
    svc.handle([event("resolved", T0 + timedelta(minutes=10))], DEVS, T0)
    back = T0 + timedelta(minutes=10) + timedelta(hours=1)  # exactly at the window's edge
    (inc,) = svc.handle([event("firing", back)], DEVS, back)
    assert inc.number == 1
    assert inc.state == State.open
    assert inc.repeat_count == 1
    assert inc.occurrences == 2
    assert inc.resolved_at is None
    assert inc.response_due == T0 + timedelta(hours=1)  # deadlines stand
    assert _actions(svc, 1) == ["open", "resolve", "reopen"]
    assert len(store.query(svc.conn)) == 1


def test_fault_returning_after_window_opens_new_incident(svc: IncidentService) -> None:
    svc.handle([event("firing", T0)], DEVS, T0)
    svc.handle([event("resolved", T0 + timedelta(minutes=10))], DEVS, T0)
    later = T0 + timedelta(minutes=10) + timedelta(hours=1, seconds=1)
    (inc,) = svc.handle([event("firing", later)], DEVS, later)
    assert (inc.number, inc.repeat_count) == (2, 0)
    assert store.get(svc.conn, 1).state == State.resolved


def test_human_lifecycle(svc: IncidentService) -> None:
    svc.handle([event("firing", T0, auto_resolve=False)], DEVS, T0)
    t = T0 + timedelta(minutes=10)
    assert acknowledge(svc.conn, 1, "ana", t).state == State.acknowledged
    inc = assign(svc.conn, 1, "bob", "ana", t + timedelta(minutes=1))
    assert (inc.state, inc.assignee, inc.acknowledged_by) == (State.in_progress, "bob", "ana")
    inc = add_note(svc.conn, 1, "ordered a new fuser", "bob", t + timedelta(minutes=2))
    assert [n.text for n in inc.notes] == ["ordered a new fuser"]
    inc = resolve(svc.conn, 1, "bob", t + timedelta(hours=2), cause="fuser", action="replaced", result="prints ok")
    assert inc.resolve_met is True
    inc = close(svc.conn, 1, "ana", t + timedelta(days=1))
    assert (inc.state, inc.closed_by) == (State.closed, "ana")
    inc = reopen(svc.conn, 1, "ana", t + timedelta(days=2), "smudges again")
    assert (inc.state, inc.repeat_count, inc.closed_at) == (State.open, 0, None)
    assert inc.acknowledged_at == t  # the first response stays on record
    assert _actions(svc, 1) == ["open", "acknowledge", "assign", "note", "resolve", "close", "reopen"]
    outbox = [r["event"] for r in svc.conn.execute("SELECT event FROM incident_outbox ORDER BY id")]
    assert outbox == ["open", "acknowledge", "resolve", "reopen"]


def test_assign_without_ack_counts_as_response(svc: IncidentService) -> None:
    svc.handle([event("firing", T0)], DEVS, T0)
    inc = assign(svc.conn, 1, "bob", "ana", T0 + timedelta(minutes=20))
    assert (inc.acknowledged_at, inc.response_met) == (T0 + timedelta(minutes=20), True)


@pytest.mark.parametrize(
    ("action", "match"),
    [
        pytest.param(lambda c, t: acknowledge(c, 1, "x", t), "acknowledge needs open", id="ack-resolved"),
        pytest.param(lambda c, t: resolve(c, 1, "x", t, cause="a", action="b"), "resolve needs", id="resolve-twice"),
        pytest.param(lambda c, t: assign(c, 1, "bob", "x", t), "assign needs", id="assign-resolved"),
        pytest.param(lambda c, t: acknowledge(c, 99, "x", t), "no incident #99", id="unknown-number"),
    ],
)
def test_invalid_transitions_are_refused(svc: IncidentService, action, match: str) -> None:
    svc.handle([event("firing", T0)], DEVS, T0)
    svc.handle([event("resolved", T0 + timedelta(minutes=1))], DEVS, T0)
    before = store.raw_rows(svc.conn)
    with pytest.raises((TransitionError, LookupError), match=match):
        action(svc.conn, T0 + timedelta(minutes=2))
    assert store.raw_rows(svc.conn) == before


def test_close_needs_resolved_and_resolve_needs_cause(svc: IncidentService) -> None:
    svc.handle([event("firing", T0)], DEVS, T0)
    with pytest.raises(TransitionError, match="close needs resolved"):
        close(svc.conn, 1, "ana", T0)
    with pytest.raises(ValueError, match="cause"):
        resolve(svc.conn, 1, "ana", T0, cause=" ", action="x")


def test_bad_event_is_kept_visible_not_raised(svc: IncidentService) -> None:
    bad = event("firing", T0, severity="P9")  # type: ignore[arg-type]  # no SLA target for it
    good = event("firing", T0, device_id="printer-2")
    opened = svc.handle([bad, good], DEVS, T0)
    assert [i.device for i in opened] == ["printer-2"]
    (held,) = held_alerts(svc.conn)
    assert held["held_reason"].startswith("error: KeyError")


def test_same_event_from_two_collectors_is_one_occurrence(svc: IncidentService) -> None:
    """Collectors sharing the database may both see the same alert: the second copy changes nothing."""
    ev = event("firing", T0)
    svc.handle([ev], DEVS, T0)
    assert svc.handle([ev], DEVS, T0 + timedelta(seconds=5)) == []
    (inc,) = store.query(svc.conn)
    assert inc.occurrences == 1
    assert _actions(svc, 1) == ["open"]


def test_stale_event_after_a_newer_one_changes_nothing(svc: IncidentService) -> None:
    """A collector lagging behind replays firing(T0) after another applied resolved(T0+10m): no spurious reopen."""
    svc.handle([event("firing", T0)], DEVS, T0)
    svc.handle([event("resolved", T0 + timedelta(minutes=10))], DEVS, T0 + timedelta(minutes=10))
    assert svc.handle([event("firing", T0)], DEVS, T0 + timedelta(minutes=11)) == []
    (inc,) = store.query(svc.conn)
    assert inc.state == State.resolved
    assert _actions(svc, 1) == ["open", "resolve"]


def test_manual_reopen_refused_while_a_newer_incident_is_active(svc: IncidentService) -> None:
    """One active incident per fault: reopening #1 while #2 (same fault, after the window) is open would make two."""
    svc.handle([event("firing", T0)], DEVS, T0)
    svc.handle([event("resolved", T0 + timedelta(minutes=10))], DEVS, T0)
    later = T0 + timedelta(hours=3)
    (second,) = svc.handle([event("firing", later)], DEVS, later)
    assert second.number == 2
    with pytest.raises(TransitionError, match="incident #2 is already open for this fault"):
        reopen(svc.conn, 1, "ana", later + timedelta(minutes=1))
    resolve(svc.conn, 2, "ana", later + timedelta(minutes=2), cause="jam", action="cleared")
    assert reopen(svc.conn, 1, "ana", later + timedelta(minutes=3)).state == State.open
    # and the fault firing again joins the reopened #1, the one active incident for it
    svc.handle([event("resolved", later + timedelta(minutes=4))], DEVS, later)
    (again,) = svc.handle([event("firing", later + timedelta(minutes=5))], DEVS, later + timedelta(minutes=5))
    assert again.number == 1
    assert len([i for i in store.query(svc.conn) if i.active]) == 1


def test_schema_refuses_a_second_active_incident_for_one_fault(svc: IncidentService) -> None:
    """The invariant holds in the schema too (partial unique index), whoever writes the row."""
    svc.handle([event("firing", T0)], DEVS, T0)
    row = dict(svc.conn.execute("SELECT * FROM incidents WHERE number = 1").fetchone())
    del row["number"]
    sql = f"INSERT INTO incidents ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})"
    with pytest.raises(Exception, match=r"(?i)unique"):  # sqlite3.IntegrityError or psycopg.errors.UniqueViolation
        svc.conn.execute(sql, tuple(row.values()))
    row["state"] = "resolved"
    svc.conn.execute(sql, tuple(row.values()))  # a resolved one beside it is fine
