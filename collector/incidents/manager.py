"""Alert events in, incidents out: the service the collector calls, and the human actions.

``IncidentService`` is the whole API the collector needs:

    svc = IncidentService(db_path(), load_policy())
    svc.handle(events, devices, now)   # after each rules evaluation
    svc.tick(now)                      # every few seconds: held alerts, SLA flags, escalations
    await svc.deliver_pending(now)     # every few seconds: send queued notifications

``now`` is Unix seconds (as ``AlertEvent.at``) or an aware datetime. The
human actions (``acknowledge``, ``assign``, ``resolve`` ...) are plain
functions on a connection, used by the CLI from another process; they need
no policy because deadlines are fixed when an incident opens.

Each change is its own serialized write transaction (``store.write``) that
re-reads the incident, so a CLI action and the collector never overwrite each
other. Several collectors may share one PostgreSQL incident database and be
fed the same alerts: an event older than the one recorded for its alert is
stale and changes nothing, a firing event no newer than the incident's last
occurrence is the same occurrence, and a held alert already released is not
released twice; so one fault opens one incident and notifies once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from collector.alerts import AlertEvent, AlertState
from collector.incidents import escalation, maintenance, notify, store
from collector.incidents.model import DeviceInfo, Escalation, Incident, Note, State, TransitionError, iso, utc
from collector.incidents.policy import Policy
from collector.incidents.sla import clock_for, deadlines, met
from collector.incidents.store import write
from collector.incidents.suppression import hold_reason

log = logging.getLogger(__name__)

SYSTEM = "fleetwatch"


class NotFoundError(LookupError):
    """No incident with that number."""


def _event_json(ev: AlertEvent) -> str:
    return json.dumps(dataclasses.asdict(ev), sort_keys=True)


def _event_from_json(s: str) -> AlertEvent:
    d = json.loads(s)
    d["state"] = AlertState(d["state"])
    d["labels"] = tuple(tuple(p) for p in d["labels"])
    return AlertEvent(**d)


def _device_json(dev: DeviceInfo) -> str:
    return json.dumps(dataclasses.asdict(dev), sort_keys=True)


def _device_from_json(s: str) -> DeviceInfo:
    return DeviceInfo(**json.loads(s))


class _Inventory:
    """Devices for parent chains: the collector's latest map, else what an alert row stored (looked up lazily)."""

    def __init__(self, known: Mapping[str, DeviceInfo], conn: Any) -> None:
        self.known, self.conn = known, conn

    def get(self, device_id: str) -> DeviceInfo | None:
        if device_id in self.known:
            return self.known[device_id]
        row = self.conn.execute(
            "SELECT device_info FROM incident_alerts WHERE device = ? ORDER BY updated_at DESC LIMIT 1", (device_id,)
        ).fetchone()
        return _device_from_json(row["device_info"]) if row else None


class IncidentService:
    def __init__(self, db_path: str | Path, policy: Policy) -> None:
        """``db_path``: the SQLite file, or a ``postgresql://`` URL shared with other collectors."""
        self.policy = policy
        self.conn = store.connect(db_path)
        self._devices: dict[str, DeviceInfo] = {}  # latest inventory seen, for parent chains in tick()
        self._deliver_lock: asyncio.Lock | None = None

    def close(self) -> None:
        self.conn.close()

    # -- collector API -------------------------------------------------------------------------------------

    def handle(
        self, events: Iterable[AlertEvent], devices: Mapping[str, DeviceInfo], now: float | datetime
    ) -> list[Incident]:
        """Apply a batch of rule transitions; returns the incidents opened or changed.

        All events are recorded first, so a parent-down alert suppresses the
        child alerts of the same batch whatever their order. A bad event is
        logged and kept (held with the error as reason), never raised.
        """
        when = utc(now)
        self._devices.update(devices)
        batch = [e for e in events if e.state in (AlertState.firing, AlertState.resolved)]
        with write(self.conn):
            batch = [ev for ev in batch if self._record(ev, self._device(ev.device_id, devices), when)]
        changed: dict[int, Incident] = {}
        for ev in batch:
            try:
                inc = self._on_firing(ev, utc(ev.at), None) if ev.state == AlertState.firing else self._on_resolved(ev)
            except Exception as exc:
                log.exception("incident manager: cannot apply %s %s", ev.state, ev.fingerprint)
                self._set_held(ev.fingerprint, f"error: {type(exc).__name__}: {exc}", when)
                continue
            if inc is not None:
                changed[inc.number] = inc
        for inc in self._release(when):
            changed[inc.number] = inc
        return list(changed.values())

    def tick(self, now: float | datetime) -> list[Incident]:
        """Open alerts whose suppression ended, set breach flags, fire due escalation steps."""
        when = utc(now)
        changed = {i.number: i for i in self._release(when)}
        for seen in store.active(self.conn):
            if not self._tick_due(seen, when):
                continue  # nothing to write: do not take the write lock
            number = seen.number
            with write(self.conn):
                inc = store.get(self.conn, number)
                if inc is None or not inc.active:
                    continue
                for deadline, field, done in (
                    ("response", "response_met", inc.acknowledged_at),
                    ("resolve", "resolve_met", inc.resolved_at),
                ):
                    due = inc.response_due if deadline == "response" else inc.resolve_due
                    if getattr(inc, field) is None and met(done, due, when) is False:
                        inc = inc.model_copy(update={field: False, "updated_at": when})
                        data = {"deadline": deadline, "due": iso(due)}
                        inc = store.save(self.conn, inc, action="sla_breach", actor=SYSTEM, data=data)
                        changed[number] = inc
                if inc.tier not in self.policy.tiers:
                    continue  # policy changed since it opened: deadlines stand, no ladder to climb
                clock = clock_for(self.policy, inc.tier)
                target = self.policy.tiers[inc.tier].targets[inc.severity]
                for step in escalation.due_steps(inc, self.policy.escalation, clock, target, when):
                    fired = Escalation(step=step.name, at=when, notify=step.notify)
                    inc = inc.model_copy(update={"escalations": [*inc.escalations, fired], "updated_at": when})
                    inc = store.save(
                        self.conn,
                        inc,
                        action="escalate",
                        actor=SYSTEM,
                        data={"step": step.name, "level": len(inc.escalations), "notify": step.notify},
                    )
                    if step.notify:
                        notify.enqueue(
                            self.conn,
                            inc,
                            "escalate",
                            when,
                            channels=step.notify,
                            extra={"escalation": {"step": step.name, "level": len(inc.escalations)}},
                        )
                    changed[number] = inc
        return list(changed.values())

    def _tick_due(self, inc: Incident, when: datetime) -> bool:
        if inc.response_met is None and met(inc.acknowledged_at, inc.response_due, when) is False:
            return True
        if inc.resolve_met is None and met(inc.resolved_at, inc.resolve_due, when) is False:
            return True
        if inc.tier not in self.policy.tiers:
            return False
        clock = clock_for(self.policy, inc.tier)
        target = self.policy.tiers[inc.tier].targets[inc.severity]
        return bool(escalation.due_steps(inc, self.policy.escalation, clock, target, when))

    async def deliver_pending(self, now: float | datetime) -> notify.DeliveryReport:
        """Send queued notifications that are due (including those queued by CLI commands)."""
        if self._deliver_lock is None:
            self._deliver_lock = asyncio.Lock()
        async with self._deliver_lock:
            return await notify.deliver_pending(self.conn, self.policy, utc(now))

    def held(self, *, include_resolved: bool = False) -> list[dict[str, Any]]:
        return held_alerts(self.conn, include_resolved=include_resolved)

    # -- internals -----------------------------------------------------------------------------------------

    def _device(self, device_id: str, devices: Mapping[str, DeviceInfo]) -> DeviceInfo | None:
        return devices.get(device_id) or _Inventory(self._devices, self.conn).get(device_id)

    def _record(self, ev: AlertEvent, dev: DeviceInfo | None, when: datetime) -> bool:
        """Upsert the alert's state. An unknown device keeps the inventory stored earlier.

        A resolved -> firing change starts a new episode: the old hold reason is history. An event older
        than the one recorded (another collector already applied a later one) is stale: False, nothing written.
        """
        state = "firing" if ev.state == AlertState.firing else "resolved"
        row = self.conn.execute("SELECT event FROM incident_alerts WHERE fingerprint = ?", (ev.fingerprint,)).fetchone()
        if row is not None and ev.at < float(json.loads(row["event"]).get("at", 0.0)):
            return False
        self.conn.execute(
            "INSERT INTO incident_alerts (fingerprint, device, rule, severity, state, suppresses_device, event,"
            " device_info, first_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(fingerprint) DO UPDATE SET"
            " severity = excluded.severity, suppresses_device = excluded.suppresses_device, event = excluded.event,"
            " device_info = CASE WHEN ? THEN excluded.device_info ELSE incident_alerts.device_info END,"
            " updated_at = excluded.updated_at,"
            " held_reason = CASE WHEN incident_alerts.state = 'resolved' AND excluded.state = 'firing'"
            "   THEN NULL ELSE incident_alerts.held_reason END,"
            " held_since = CASE WHEN incident_alerts.state = 'resolved' AND excluded.state = 'firing'"
            "   THEN NULL ELSE incident_alerts.held_since END,"
            " first_at = CASE WHEN incident_alerts.state = 'resolved' AND excluded.state = 'firing'"
            "   THEN excluded.first_at ELSE incident_alerts.first_at END,"
            " state = excluded.state",
            (
                ev.fingerprint,
                ev.device_id,
                ev.rule,
                ev.severity,
                state,
                int(ev.suppresses_device),
                _event_json(ev),
                _device_json(dev or DeviceInfo(device_id=ev.device_id)),
                iso(when),
                iso(when),
                dev is not None,
            ),
        )
        return True

    def _set_held(self, fingerprint: str, reason: str | None, when: datetime) -> None:
        self.conn.execute(
            "UPDATE incident_alerts SET held_reason = ?, held_since = CASE WHEN CAST(? AS TEXT) IS NULL THEN NULL"
            " ELSE COALESCE(held_since, ?) END WHERE fingerprint = ?",
            (reason, reason, iso(when), fingerprint),
        )

    def _hold_reason(self, ev: AlertEvent, dev: DeviceInfo, when: datetime) -> str | None:
        down: dict[str, list[tuple[str, str]]] = {}
        for r in self.conn.execute(
            "SELECT device, fingerprint, rule FROM incident_alerts WHERE state = 'firing' AND suppresses_device = 1"
            " ORDER BY fingerprint"
        ):
            down.setdefault(r["device"], []).append((r["fingerprint"], r["rule"]))
        return hold_reason(
            fingerprint=ev.fingerprint,
            suppresses_device=ev.suppresses_device,
            device=dev,
            devices=_Inventory(self._devices, self.conn),
            down=down,
            windows=maintenance.load(self.conn),
            now=when,
        )

    def _on_firing(self, ev: AlertEvent, when: datetime, released_from: str | None) -> Incident | None:
        """Join the open incident, or hold the alert, or reopen a recent one, or open a new one."""
        with write(self.conn):
            row = self.conn.execute(
                "SELECT device_info, state, held_reason FROM incident_alerts WHERE fingerprint = ?", (ev.fingerprint,)
            ).fetchone()
            if row is None or row["state"] != "firing":
                return None  # resolved again later in the same batch
            if released_from is not None and row["held_reason"] is None:
                return None  # another collector released it meanwhile
            dev = _device_from_json(row["device_info"])
            inc = store.current_for(self.conn, ev.fingerprint)
            if inc is not None and inc.active and inc.last_occurrence_at is not None and when <= inc.last_occurrence_at:
                self._link(ev.fingerprint, inc.number)
                return None  # this occurrence is recorded already (another collector saw the same event)
            if inc is not None and inc.active:
                inc = inc.model_copy(
                    update={
                        "occurrences": inc.occurrences + 1,
                        "last_occurrence_at": when,
                        "alert_firing": True,
                        "updated_at": when,
                    }
                )
                inc = store.save(
                    self.conn, inc, action="occurrence", actor=SYSTEM, data={"at": iso(when), "values": ev.values}
                )
                self._link(ev.fingerprint, inc.number)
                return inc
            reason = self._hold_reason(ev, dev, when)
            if reason is not None:
                self._set_held(ev.fingerprint, reason, when)
                return None
            window = self.policy.reopen_window
            if inc is not None and inc.resolved_at is not None and when - inc.resolved_at <= window:
                inc = self._reopen(inc, when, ev)
            else:
                inc = self._open(ev, dev, when, released_from)
            self._link(ev.fingerprint, inc.number)
            return inc

    def _link(self, fingerprint: str, number: int) -> None:
        self.conn.execute(
            "UPDATE incident_alerts SET incident = ?, held_reason = NULL, held_since = NULL WHERE fingerprint = ?",
            (number, fingerprint),
        )

    def _open(self, ev: AlertEvent, dev: DeviceInfo, when: datetime, released_from: str | None) -> Incident:
        tier = self.policy.tier_for(dev.labels)
        target = self.policy.tiers[tier].targets[ev.severity]
        due = deadlines(clock_for(self.policy, tier), when, target)
        inc = Incident(
            fingerprint=ev.fingerprint,
            device=ev.device_id,
            inventory=dev.inventory(),
            rule=ev.rule,
            alert_labels=dict(ev.labels),
            severity=ev.severity,
            tier=tier,
            type=ev.incident_type,
            summary=ev.annotations.get("summary") or f"{ev.rule} on {ev.device_id}",
            symptom=ev.annotations.get("description", ""),
            readings=dict(ev.values),
            runbook=ev.annotations.get("runbook_url") or ev.annotations.get("runbook"),
            fault_since=utc(ev.since),
            opened_at=when,
            response_due=due.response_due,
            resolve_due=due.resolve_due,
            auto_resolve=ev.auto_resolve,
            last_occurrence_at=when,
            updated_at=when,
        )
        data: dict[str, Any] = {"alert_at": iso(utc(ev.at)), "values": ev.values}
        if dev.labels.get("tier") and dev.labels["tier"] != tier:
            data["note"] = f"unknown tier {dev.labels['tier']!r}; using {tier!r}"
        if released_from:
            data["held"] = released_from
        inc = store.save(self.conn, inc, action="open", actor=SYSTEM, data=data)
        notify.enqueue(self.conn, inc, "open", when)
        return inc

    def _reopen(self, inc: Incident, when: datetime, ev: AlertEvent) -> Incident:
        inc = _reopened(inc, when).model_copy(
            update={
                "repeat_count": inc.repeat_count + 1,
                "occurrences": inc.occurrences + 1,
                "last_occurrence_at": when,
                "alert_firing": True,
            }
        )
        inc = store.save(
            self.conn,
            inc,
            action="reopen",
            actor=SYSTEM,
            data={"repeat": inc.repeat_count, "reason": "fault returned within the reopen window", "values": ev.values},
        )
        notify.enqueue(self.conn, inc, "reopen", when)
        return inc

    def _on_resolved(self, ev: AlertEvent) -> Incident | None:
        when = utc(ev.at)
        with write(self.conn):
            row = self.conn.execute(
                "SELECT state, incident FROM incident_alerts WHERE fingerprint = ?", (ev.fingerprint,)
            ).fetchone()
            if row is None or row["state"] != "resolved":
                return None  # fired again later in the same batch
            inc = store.current_for(self.conn, ev.fingerprint)
            if inc is None or not inc.alert_firing:
                return None  # it was only held, or never opened: the alerts table keeps the record
            if inc.active and inc.auto_resolve:
                inc = _resolved(inc, when, SYSTEM, cause=None, action=None, result="alert cleared")
                inc = inc.model_copy(update={"alert_firing": False})
                inc = store.save(self.conn, inc, action="resolve", actor=SYSTEM, data={"auto": True})
                notify.enqueue(self.conn, inc, "resolve", when)
                return inc
            note = (
                "alert cleared; auto_resolve is off for this rule: waiting for a person to resolve"
                if inc.active
                else "alert cleared"
            )
            inc = inc.model_copy(update={"alert_firing": False, "updated_at": when})
            return store.save(self.conn, inc, action="alert_cleared", actor=SYSTEM, data={"note": note})

    def _release(self, when: datetime) -> list[Incident]:
        """Open held alerts that are still firing once nothing holds them any more."""
        out = []
        rows = self.conn.execute(
            "SELECT fingerprint, event, device_info, held_reason, held_since FROM incident_alerts"
            " WHERE state = 'firing' AND held_reason IS NOT NULL ORDER BY first_at, fingerprint"
        ).fetchall()
        for r in rows:
            ev = _event_from_json(r["event"])
            dev = _device_from_json(r["device_info"])
            try:
                reason = self._hold_reason(ev, dev, when)
                if reason is not None:
                    if reason != r["held_reason"]:
                        with write(self.conn):
                            self._set_held(ev.fingerprint, reason, when)
                    continue
                inc = self._on_firing(ev, when, f"{r['held_reason']} (since {r['held_since']})")
            except Exception as exc:
                log.exception("incident manager: cannot release %s", ev.fingerprint)
                with write(self.conn):
                    self._set_held(ev.fingerprint, f"error: {type(exc).__name__}: {exc}", when)
                continue
            if inc is not None:
                out.append(inc)
        return out


def held_alerts(conn: Any, *, include_resolved: bool = False) -> list[dict[str, Any]]:
    """Alerts that opened no incident because something held them (maintenance, device or parent down)."""
    sql = (
        "SELECT fingerprint, device, rule, severity, state, held_reason, held_since, updated_at"
        " FROM incident_alerts WHERE held_reason IS NOT NULL"
    )
    if not include_resolved:
        sql += " AND state = 'firing'"
    return [dict(r) for r in conn.execute(sql + " ORDER BY held_since, fingerprint").fetchall()]


# -- transitions (pure) ------------------------------------------------------------------------------------


def _reopened(inc: Incident, when: datetime) -> Incident:
    """Back to open. Deadlines stand (a fix that did not hold does not restart the clock)."""
    return inc.model_copy(
        update={
            "state": State.open,
            "resolved_at": None,
            "resolved_by": None,
            "closed_at": None,
            "closed_by": None,
            "resolve_met": met(None, inc.resolve_due, when),
            "updated_at": when,
        }
    )


def _resolved(
    inc: Incident, when: datetime, by: str, *, cause: str | None, action: str | None, result: str | None
) -> Incident:
    """Resolution also stops the response clock (a self-cleared fault needed no response)."""
    return inc.model_copy(
        update={
            "state": State.resolved,
            "resolved_at": when,
            "resolved_by": by,
            "cause": cause if cause is not None else inc.cause,
            "action": action if action is not None else inc.action,
            "result": result if result is not None else inc.result,
            "response_met": inc.response_met if inc.response_met is not None else met(when, inc.response_due, when),
            "resolve_met": inc.resolve_met if inc.resolve_met is not None else met(when, inc.resolve_due, when),
            "updated_at": when,
        }
    )


def _acknowledged(inc: Incident, when: datetime, by: str) -> Incident:
    if inc.acknowledged_at is not None:
        return inc.model_copy(update={"state": State.acknowledged, "updated_at": when})
    return inc.model_copy(
        update={
            "state": State.acknowledged,
            "acknowledged_at": when,
            "acknowledged_by": by,
            "response_met": inc.response_met if inc.response_met is not None else met(when, inc.response_due, when),
            "updated_at": when,
        }
    )


# -- human actions (CLI, web) ------------------------------------------------------------------------------


def get_incident(conn: Any, number: int) -> Incident:
    inc = store.get(conn, number)
    if inc is None:
        raise NotFoundError(f"no incident #{number}")
    return inc


def _require(inc: Incident, action: str, *allowed: State) -> None:
    if inc.state not in allowed:
        raise TransitionError(
            f"incident #{inc.number} is {inc.state.value}; {action} needs {' or '.join(s.value for s in allowed)}"
        )


def acknowledge(conn: Any, number: int, by: str, now: float | datetime) -> Incident:
    when = utc(now)
    with write(conn):
        inc = get_incident(conn, number)
        _require(inc, "acknowledge", State.open)
        inc = store.save(conn, _acknowledged(inc, when, by), action="acknowledge", actor=by)
        notify.enqueue(conn, inc, "acknowledge", when)
    return inc


def assign(conn: Any, number: int, person: str, by: str, now: float | datetime) -> Incident:
    """Assigning starts the work (in_progress) and counts as the response if nobody acknowledged yet."""
    when = utc(now)
    with write(conn):
        inc = get_incident(conn, number)
        _require(inc, "assign", *[s for s in State if s in (State.open, State.acknowledged, State.in_progress)])
        first_ack = inc.acknowledged_at is None
        inc = _acknowledged(inc, when, by).model_copy(update={"state": State.in_progress, "assignee": person})
        inc = store.save(conn, inc, action="assign", actor=by, data={"assignee": person})
        if first_ack:
            notify.enqueue(conn, inc, "acknowledge", when)
    return inc


def add_note(conn: Any, number: int, text: str, by: str, now: float | datetime) -> Incident:
    when = utc(now)
    if not text.strip():
        raise ValueError("empty note")
    with write(conn):
        inc = get_incident(conn, number)
        inc = inc.model_copy(update={"notes": [*inc.notes, Note(at=when, by=by, text=text)], "updated_at": when})
        return store.save(conn, inc, action="note", actor=by, data={"text": text})


def resolve(
    conn: Any,
    number: int,
    by: str,
    now: float | datetime,
    *,
    cause: str,
    action: str,
    result: str | None = None,
) -> Incident:
    when = utc(now)
    if not cause.strip() or not action.strip():
        raise ValueError("resolve needs a cause and the action taken")
    with write(conn):
        inc = get_incident(conn, number)
        _require(inc, "resolve", State.open, State.acknowledged, State.in_progress)
        inc = _resolved(inc, when, by, cause=cause, action=action, result=result or "fixed")
        inc = store.save(
            conn, inc, action="resolve", actor=by, data={"cause": cause, "action": action, "result": inc.result}
        )
        notify.enqueue(conn, inc, "resolve", when)
    return inc


def close(conn: Any, number: int, by: str, now: float | datetime) -> Incident:
    when = utc(now)
    with write(conn):
        inc = get_incident(conn, number)
        _require(inc, "close", State.resolved)
        inc = inc.model_copy(update={"state": State.closed, "closed_at": when, "closed_by": by, "updated_at": when})
        return store.save(conn, inc, action="close", actor=by)


def reopen(conn: Any, number: int, by: str, now: float | datetime, reason: str = "") -> Incident:
    """A person reopens (the fix did not hold); not counted as a repeat, which means the fault returned."""
    when = utc(now)
    with write(conn):
        inc = get_incident(conn, number)
        _require(inc, "reopen", State.resolved, State.closed)
        newer = store.current_for(conn, inc.fingerprint)
        if newer is not None and newer.number != inc.number and newer.active:
            raise TransitionError(
                f"incident #{newer.number} is already {newer.state.value} for this fault; work on that one"
            )
        inc = store.save(conn, _reopened(inc, when), action="reopen", actor=by, data={"reason": reason})
        notify.enqueue(conn, inc, "reopen", when)
    return inc
