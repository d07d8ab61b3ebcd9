"""The daily remote inspection: the technician's walk round, done from the database.

Every device in the inventory, reachable or not, as it was at ``as_of``: its
status, supplies, page counter and the pages printed in the 24 hours before,
printer error flags, open incidents, and a plain list of what is abnormal.

``inspection_report(conn, day, now=...)``: ``as_of`` is the end of ``day``
(midnight in ``tz``), or ``now`` when that is earlier, so the 06:00 run on
the day itself shows the fleet as it is at 06:00 and "pages since yesterday
06:00"; a past day shows that day's end and the pages printed during it.
Everything is read from the stored samples up to ``as_of`` (the latest poll
JSON adds supplies that only report a state, when it is from the window), so
the report for a past day is the same whenever it is generated.

Status, worst first: ``unreachable`` (last poll failed), ``no_data`` (no poll
in the 24 h window), ``fault`` (an open P1/P2 incident or a stopping error
flag: jam, no toner, door open ...), ``warning`` (an open P3/P4 incident, a
low supply, a warning flag, probe errors), ``ok``.

JSON contract (``InspectionReport.contract()``, ``schema`` =
``"fleetwatch.report.inspection/1"``; keys never renamed, times ISO UTC):
``schema, generated_at, day, as_of, window {start, end}, scope {site, department},
summary {devices, ok, warning, fault, unreachable, no_data, open_incidents, pages_24h},
devices [{device, site, department, kind, vendor, model, location, status,
reachable, last_seen, last_reachable, uptime_s, pages_24h, page_counter,
supplies [{supply, description, type, color, supply_class, percent, remaining, state, low}],
error_flags [..], poll_errors, open_incidents [{number, severity, rule, summary, state, opened_at}],
abnormal [text]}]``.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from agent.wire import Supply
from collector.reports import data, kpi
from collector.series import PRINTER_ERROR_FLAGS

SCHEMA = "fleetwatch.report.inspection/1"
WINDOW = timedelta(hours=24)
#: Marking supplies below this remaining percent, receptacles at or above ``100 -`` it, are low
#: (the thresholds of rules/printers.yaml toner_low / waste_toner_nearly_full).
LOW_PERCENT = 10.0
#: Error flags that stop the printer (the others are warnings).
STOPPING_FLAGS = frozenset(
    {
        "no_paper",
        "no_toner",
        "door_open",
        "jammed",
        "offline",
        "service_requested",
        "input_tray_missing",
        "output_tray_missing",
        "marker_supply_missing",
        "output_full",
    }
)
_LOW_STATES = frozenset({"low", "near_empty", "empty"})

Status = Literal["unreachable", "no_data", "fault", "warning", "ok"]
STATUS_ORDER: tuple[Status, ...] = ("unreachable", "no_data", "fault", "warning", "ok")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SupplyStatus(_Model):
    supply: str
    description: str
    type: str
    color: str | None
    supply_class: str
    percent: float | None  # as reported: fill percent for receptacles
    remaining: float | None  # remaining percent (100 - fill for receptacles)
    state: str
    low: bool


class IncidentRef(_Model):
    number: int
    severity: str
    rule: str
    summary: str
    state: str
    opened_at: datetime


class DeviceInspection(_Model):
    device: str
    site: str | None
    department: str | None
    kind: str | None
    vendor: str | None
    model: str | None
    location: str | None
    status: Status
    reachable: bool | None
    last_seen: datetime | None
    last_reachable: datetime | None
    uptime_s: float | None
    pages_24h: float | None
    page_counter: float | None
    supplies: list[SupplyStatus]
    error_flags: list[str]
    poll_errors: int | None
    open_incidents: list[IncidentRef]
    abnormal: list[str]


class Window(_Model):
    start: datetime
    end: datetime


class InspectionSummary(_Model):
    devices: int
    ok: int
    warning: int
    fault: int
    unreachable: int
    no_data: int
    open_incidents: int
    pages_24h: float


class Scope(_Model):
    site: str | None = None
    department: str | None = None


class InspectionReport(_Model):
    schema_: Literal["fleetwatch.report.inspection/1"] = Field(SCHEMA, alias="schema")
    generated_at: datetime
    day: date
    as_of: datetime
    window: Window
    scope: Scope
    summary: InspectionSummary
    devices: list[DeviceInspection]

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def contract(self) -> dict[str, object]:
        return self.model_dump(mode="json", by_alias=True)


def day_as_of(day: date, tz: str = "UTC", now: datetime | None = None) -> datetime:
    """The instant the inspection of ``day`` describes (end of the day, or ``now`` if earlier)."""
    zone = ZoneInfo(tz)
    start = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    if now is None:
        return end
    now = now.astimezone(UTC)
    if now <= start:
        raise ValueError(f"{day.isoformat()} has not started yet in {tz}")
    return min(end, now)


def _supplies(
    conn: sqlite3.Connection, device_id: str, lo: float, at: float, poll_states: dict[str, Supply]
) -> list[SupplyStatus]:
    latest: dict[str, tuple[float, dict[str, str], float]] = {}
    for lab, ts, value in data.latest_values(conn, device_id, "supply_percent", at, lo):
        idx = lab.get("supply", "?")
        if idx not in latest or ts > latest[idx][0]:
            latest[idx] = (ts, lab, value)
    out = []
    for idx, (_, lab, pct) in sorted(latest.items()):
        cls = lab.get("class", "consumed")
        remaining = 100.0 - pct if cls == "receptacle" else pct
        out.append(
            SupplyStatus(
                supply=idx,
                description=lab.get("description", idx),
                type=lab.get("type", "?"),
                color=lab.get("color"),
                supply_class=cls,
                percent=pct,
                remaining=remaining,
                state="ok",
                low=remaining < LOW_PERCENT if cls != "receptacle" else remaining <= LOW_PERCENT,
            )
        )
    # Supplies that report only a state (Brother level -3 "some remaining", low/empty codes): from the poll.
    for idx, sup in sorted(poll_states.items()):
        if idx in latest:
            continue
        state = sup.state.value
        out.append(
            SupplyStatus(
                supply=idx,
                description=sup.description,
                type=sup.type,
                color=sup.color,
                supply_class=sup.supply_class,
                percent=None,
                remaining=None,
                state=state,
                low=state in _LOW_STATES,
            )
        )
    return out


def inspect_device(
    conn: sqlite3.Connection, dev: data.DeviceRow, incidents: list[kpi.IncidentRecord], as_of: datetime
) -> DeviceInspection:
    at, lo = as_of.timestamp(), (as_of - WINDOW).timestamp()
    ups = [(t, ok) for t, ok in data.up_polls(conn, dev.device_id, as_of - WINDOW, as_of) if t.timestamp() >= lo]
    reachable = ups[-1][1] if ups else None
    last_seen = ups[-1][0] if ups else None
    last_ok = max((t for t, ok in ups if ok), default=None)
    if last_ok is None and dev.last_reachable is not None and dev.last_reachable <= at:
        last_ok = datetime.fromtimestamp(dev.last_reachable, UTC)

    poll = data.latest_poll(conn, dev.device_id)
    poll_states = {s.index: s for s in poll.supplies if s.percent is None} if poll and lo <= poll.ts <= at else {}
    supplies = _supplies(conn, dev.device_id, lo, at, poll_states)
    flags = sorted(
        (lab.get("flag", "?") for lab, _, v in data.latest_values(conn, dev.device_id, "printer_error", at, lo) if v),
        key=lambda f: (PRINTER_ERROR_FLAGS.index(f) if f in PRINTER_ERROR_FLAGS else 99, f),
    )
    poll_err = data.latest_values(conn, dev.device_id, "poll_errors", at, lo)
    poll_errors = int(poll_err[0][2]) if poll_err else None
    uptime = data.latest_values(conn, dev.device_id, "uptime_seconds", at, lo)
    counter = data.page_counter(conn, dev.device_id, as_of - WINDOW, as_of)
    open_now = [i for i in incidents if i.device == dev.device_id and i.opened_at <= as_of and kpi.active_at(i, as_of)]

    abnormal: list[str] = []
    if reachable is None:
        abnormal.append(
            "no poll in the last 24 h" + (f" (last reachable {last_ok:%Y-%m-%d %H:%M} UTC)" if last_ok else "")
        )
    elif not reachable:
        since = _down_since(ups)
        abnormal.append(f"unreachable since {since:%Y-%m-%d %H:%M} UTC" if since else "unreachable")
    abnormal += [f"error: {f.replace('_', ' ')}" for f in flags]
    for s in supplies:
        if s.low:
            level = (
                f"{s.percent:g}% full"
                if s.supply_class == "receptacle" and s.percent is not None
                else (f"{s.remaining:g}%" if s.remaining is not None else s.state)
            )
            abnormal.append(f"low supply: {s.description} ({level})")
    if poll_errors:
        abnormal.append(f"{poll_errors} probe error(s) in the last poll")
    abnormal += [f"open incident #{i.number} {i.severity}: {i.summary}" for i in open_now]

    if reachable is False:
        status: Status = "unreachable"
    elif reachable is None:
        status = "no_data"
    elif any(f in STOPPING_FLAGS for f in flags) or any(i.severity in kpi.DOWN_SEVERITIES for i in open_now):
        status = "fault"
    elif abnormal:
        status = "warning"
    else:
        status = "ok"
    return DeviceInspection(
        device=dev.device_id,
        site=dev.labels.get("site"),
        department=dev.labels.get("department"),
        kind=dev.kind,
        vendor=dev.vendor,
        model=dev.model,
        location=dev.location,
        status=status,
        reachable=reachable,
        last_seen=last_seen,
        last_reachable=last_ok,
        uptime_s=uptime[0][2] if uptime else None,
        pages_24h=kpi.pages_printed(counter),
        page_counter=counter[-1][1] if counter else None,
        supplies=supplies,
        error_flags=flags,
        poll_errors=poll_errors,
        open_incidents=[
            IncidentRef(
                number=i.number,
                severity=i.severity,
                rule=i.rule,
                summary=i.summary,
                state=i.state,
                opened_at=i.opened_at,
            )
            for i in open_now
        ],
        abnormal=abnormal,
    )


def _down_since(ups: list[tuple[datetime, bool]]) -> datetime | None:
    """Start of the current unreachable run (None when it started before the window)."""
    since = None
    for t, ok in reversed(ups):
        if ok:
            return since
        since = t
    return since


def inspection_report(
    conn: sqlite3.Connection,
    day: date,
    *,
    now: datetime | None = None,
    tz: str = "UTC",
    site: str | None = None,
    department: str | None = None,
) -> InspectionReport:
    as_of = day_as_of(day, tz, now)
    devs = [d for d in data.devices(conn) if data.in_scope(d.labels, site, department)]
    labels = {d.device_id: d.labels for d in devs}
    incidents = data.incidents(conn, as_of - WINDOW, as_of, labels)
    lines = [inspect_device(conn, d, incidents, as_of) for d in devs]
    lines.sort(key=lambda d: (STATUS_ORDER.index(d.status), d.device))
    count = {s: sum(d.status == s for d in lines) for s in STATUS_ORDER}
    return InspectionReport(
        generated_at=(now or as_of).astimezone(UTC),
        day=day,
        as_of=as_of,
        window=Window(start=as_of - WINDOW, end=as_of),
        scope=Scope(site=site, department=department),
        summary=InspectionSummary(
            devices=len(lines),
            **count,
            open_incidents=sum(len(d.open_incidents) for d in lines),
            pages_24h=sum(d.pages_24h or 0.0 for d in lines),
        ),
        devices=lines,
    )
