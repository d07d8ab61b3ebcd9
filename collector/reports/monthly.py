"""The service report for a period (a month, usually) over the fleet, a site or a department.

``monthly_report(conn, period_start, period_end, site=None, department=None)``
returns a ``MonthlyReport``; ``render.py`` turns it into HTML, CSV or JSON.
KPI definitions: ``collector.reports.kpi`` (module docstring).

JSON contract (``MonthlyReport.model_dump(mode="json")``, ``schema`` =
``"fleetwatch.report.monthly/1"``; keys are never renamed, new keys may be
added; times are ISO 8601 UTC ``...Z``; durations are seconds; rates and
availability are fractions 0..1 or ``null`` when there is nothing to divide):

- ``schema``, ``generated_at``, ``period {start, end, observed_end}``
  (``observed_end`` < ``end`` when the period is not over), ``scope {site, department}``;
- ``summary``: ``devices``, ``incidents_opened``, ``incidents_resolved``,
  ``active_at_end``, ``response {met, judged, rate}``, ``resolve {met, judged, rate}``,
  ``mtta_s``, ``mttr_s``, ``fault_occurrences``, ``repeat_faults``,
  ``repeat_fault_rate``, ``fleet_availability``, ``pages_printed``, ``supplies_replaced``;
- ``by_severity`` / ``by_type`` / ``by_tier``: lists of ``{key, opened, resolved,
  response, resolve, mtta_s, mttr_s}`` (every severity P1..P4 is listed);
- ``by_site`` / ``by_department`` / ``by_device``: ``{name: incidents opened}``;
- ``devices``: one object per device in scope: ``device, site, department,
  vendor, model, location, incidents, faults, availability, observed_s, down_s,
  unreachable_s, incident_down_s, no_data_s, pages_printed, supplies_replaced
  [{supply, description, type, color, at, cause, previous_end_level, previous_pages}]``;
- ``top_devices``: up to 10 ``{device, faults, incidents, down_s}``, most faults first;
- ``repeat_faults``: ``[{number, device, rule, at, previous_resolved_at}]``;
- ``sla``: ``within`` and ``breached``: incidents whose resolution (or, if still
  open, whose response) was judged in the period, as ``{number, device, rule,
  severity, tier, type, summary, opened_at, acknowledged_at, resolved_at,
  response_due, resolve_due, response_met, resolve_met}``; an incident is
  ``breached`` when any judged flag is false.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from collector.alerts import SEVERITIES
from collector.reports import data, kpi

SCHEMA = "fleetwatch.report.monthly/1"
TOP_N = 10


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Period(_Model):
    start: datetime
    end: datetime
    observed_end: datetime


class Scope(_Model):
    site: str | None = None
    department: str | None = None


class Rate(_Model):
    met: int
    judged: int
    rate: float | None

    @classmethod
    def of(cls, o: kpi.OnTime) -> Rate:
        return cls(met=o.met, judged=o.judged, rate=o.rate)


class Group(_Model):
    key: str
    opened: int
    resolved: int
    response: Rate
    resolve: Rate
    mtta_s: float | None
    mttr_s: float | None

    @classmethod
    def of(cls, g: kpi.GroupStats) -> Group:
        return cls(
            key=g.key,
            opened=g.opened,
            resolved=g.resolved,
            response=Rate.of(g.response),
            resolve=Rate.of(g.resolve),
            mtta_s=g.mtta_s,
            mttr_s=g.mttr_s,
        )


class Summary(_Model):
    devices: int
    incidents_opened: int
    incidents_resolved: int
    active_at_end: int
    response: Rate
    resolve: Rate
    mtta_s: float | None
    mttr_s: float | None
    fault_occurrences: int
    repeat_faults: int
    repeat_fault_rate: float | None
    fleet_availability: float | None
    pages_printed: float
    supplies_replaced: int


class SupplyReplaced(_Model):
    supply: str
    description: str
    type: str
    color: str | None
    at: datetime
    cause: str | None
    previous_end_level: float | None
    previous_pages: float | None


class DeviceLine(_Model):
    device: str
    site: str | None
    department: str | None
    vendor: str | None
    model: str | None
    location: str | None
    incidents: int
    faults: int
    availability: float | None
    observed_s: float
    down_s: float
    unreachable_s: float
    incident_down_s: float
    no_data_s: float
    pages_printed: float | None
    supplies_replaced: list[SupplyReplaced]


class TopDevice(_Model):
    device: str
    faults: int
    incidents: int
    down_s: float


class RepeatFault(_Model):
    number: int
    device: str
    rule: str
    at: datetime
    previous_resolved_at: datetime


class IncidentLine(_Model):
    number: int
    device: str
    rule: str
    severity: str
    tier: str
    type: str
    summary: str
    opened_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    response_due: datetime
    resolve_due: datetime
    response_met: bool | None
    resolve_met: bool | None


class SlaLists(_Model):
    within: list[IncidentLine]
    breached: list[IncidentLine]


class MonthlyReport(_Model):
    schema_: Literal["fleetwatch.report.monthly/1"] = Field(SCHEMA, alias="schema")
    generated_at: datetime
    period: Period
    scope: Scope
    summary: Summary
    by_severity: list[Group]
    by_type: list[Group]
    by_tier: list[Group]
    by_site: dict[str, int]
    by_department: dict[str, int]
    by_device: dict[str, int]
    devices: list[DeviceLine]
    top_devices: list[TopDevice]
    repeat_faults: list[RepeatFault]
    sla: SlaLists

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def contract(self) -> dict[str, object]:
        """The JSON object (documented in the module docstring)."""
        return self.model_dump(mode="json", by_alias=True)


def _aware(dt: datetime) -> datetime:
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(UTC)


def month_bounds(month: str, tz: str = "UTC") -> tuple[datetime, datetime]:
    """``"2026-10"`` -> [Oct 1 00:00, Nov 1 00:00) in ``tz``, as aware datetimes."""
    from zoneinfo import ZoneInfo

    try:
        year, mon = (int(x) for x in month.split("-"))
        start = datetime(year, mon, 1, tzinfo=ZoneInfo(tz))
    except ValueError as exc:
        raise ValueError(f"month must be YYYY-MM, got {month!r}") from exc
    end = datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=ZoneInfo(tz))
    return start, end


def _line(i: kpi.IncidentRecord) -> IncidentLine:
    return IncidentLine(
        number=i.number,
        device=i.device,
        rule=i.rule,
        severity=i.severity,
        tier=i.tier,
        type=i.type,
        summary=i.summary,
        opened_at=i.opened_at,
        acknowledged_at=i.acknowledged_at,
        resolved_at=i.resolved_at if i.state not in kpi.ACTIVE else None,
        response_due=i.response_due,
        resolve_due=i.resolve_due,
        response_met=i.response_met,
        resolve_met=i.resolve_met,
    )


def sla_lists(incidents: list[kpi.IncidentRecord], lo: datetime, hi: datetime) -> SlaLists:
    """Incidents whose resolution was judged in the window, or (still open) whose response was."""
    within, breached = [], []
    for i in incidents:
        res = kpi.resolve_judgement(i, hi)
        resp = kpi.response_judgement(i, hi)
        judged = [j for j in (res, resp) if j is not None]
        key = res if res is not None else resp
        if key is None or not lo <= key.at < hi:
            continue
        line = _line(i).model_copy(
            update={
                "response_met": resp.met if resp else None,
                "resolve_met": res.met if res else None,
            }
        )
        (within if all(j.met for j in judged) else breached).append(line)
    return SlaLists(within=within, breached=breached)


def monthly_report(
    conn: sqlite3.Connection,
    period_start: datetime,
    period_end: datetime,
    site: str | None = None,
    department: str | None = None,
    *,
    now: datetime | None = None,
    stale_after: timedelta = kpi.STALE_AFTER,
) -> MonthlyReport:
    """The service report for ``[period_start, period_end)``.

    ``now`` (default: ``period_end``) cuts a period that is not over yet: what
    is still open counts up to ``now``, not up to the end of the month.
    """
    lo, end = _aware(period_start), _aware(period_end)
    if end <= lo:
        raise ValueError(f"period end {end.isoformat()} is not after its start {lo.isoformat()}")
    generated = _aware(now) if now is not None else end
    hi = max(lo, min(end, generated))

    devs = [d for d in data.devices(conn) if data.in_scope(d.labels, site, department)]
    labels = {d.device_id: d.labels for d in data.devices(conn)}
    all_incidents = data.incidents(conn, lo, hi, labels)
    scoped = [
        i
        for i in all_incidents
        if data.in_scope({"site": i.site or "", "department": i.department or ""}, site, department)
    ]
    by_device: dict[str, list[kpi.IncidentRecord]] = {}
    for i in scoped:
        by_device.setdefault(i.device, []).append(i)
    occurrences = kpi.fault_occurrences(scoped, lo, hi)
    repeats = [o for o in occurrences if o.repeat_of is not None]

    lines: list[DeviceLine] = []
    avails: list[kpi.Availability] = []
    known = {d.device_id for d in devs}
    for d in devs:
        mine = by_device.get(d.device_id, [])
        av = kpi.availability(data.up_polls(conn, d.device_id, lo, hi), mine, lo, hi, stale_after)
        avails.append(av)
        swaps = data.replacements(conn, d.device_id, lo, hi)
        lines.append(
            DeviceLine(
                device=d.device_id,
                site=d.labels.get("site"),
                department=d.labels.get("department"),
                vendor=d.vendor,
                model=d.model,
                location=d.location,
                incidents=sum(lo <= i.opened_at < hi for i in mine),
                faults=sum(o.device == d.device_id for o in occurrences),
                availability=av.ratio,
                observed_s=av.observed_s,
                down_s=av.down_s,
                unreachable_s=av.unreachable_s,
                incident_down_s=av.incident_s,
                no_data_s=av.no_data_s,
                pages_printed=kpi.pages_printed(data.page_counter(conn, d.device_id, lo, hi)),
                supplies_replaced=[SupplyReplaced(**vars(r)) for r in swaps],
            )
        )
    # Devices that only exist in incidents (removed from inventory since) still show their incidents.
    for dev_id in sorted(set(by_device) - known):
        mine = by_device[dev_id]
        if not any(lo <= i.opened_at < hi for i in mine):
            continue
        lines.append(
            DeviceLine(
                device=dev_id,
                site=mine[0].site,
                department=mine[0].department,
                vendor=None,
                model=None,
                location=None,
                incidents=sum(lo <= i.opened_at < hi for i in mine),
                faults=sum(o.device == dev_id for o in occurrences),
                availability=None,
                observed_s=0.0,
                down_s=0.0,
                unreachable_s=0.0,
                incident_down_s=0.0,
                no_data_s=0.0,
                pages_printed=None,
                supplies_replaced=[],
            )
        )

    overall = kpi.group_stats("all", scoped, lo, hi)
    by_sev = [Group.of(kpi.group_stats(s, [i for i in scoped if i.severity == s], lo, hi)) for s in SEVERITIES]
    active_at_end = sum(i.opened_at < hi and kpi.active_at(i, hi) for i in scoped)
    top = sorted(
        (ln for ln in lines if ln.faults or ln.incidents),
        key=lambda ln: (-ln.faults, -ln.incidents, -ln.down_s, ln.device),
    )[:TOP_N]
    summary = Summary(
        devices=len(devs),
        incidents_opened=overall.opened,
        incidents_resolved=overall.resolved,
        active_at_end=active_at_end,
        response=Rate.of(overall.response),
        resolve=Rate.of(overall.resolve),
        mtta_s=overall.mtta_s,
        mttr_s=overall.mttr_s,
        fault_occurrences=len(occurrences),
        repeat_faults=len(repeats),
        repeat_fault_rate=len(repeats) / len(occurrences) if occurrences else None,
        fleet_availability=kpi.fleet_availability(avails),
        pages_printed=sum(ln.pages_printed or 0.0 for ln in lines),
        supplies_replaced=sum(len(ln.supplies_replaced) for ln in lines),
    )
    return MonthlyReport(
        generated_at=generated,
        period=Period(start=lo, end=end, observed_end=hi),
        scope=Scope(site=site, department=department),
        summary=summary,
        by_severity=by_sev,
        by_type=[Group.of(g) for g in kpi.grouped(scoped, lambda i: i.type, lo, hi)],
        by_tier=[Group.of(g) for g in kpi.grouped(scoped, lambda i: i.tier, lo, hi)],
        by_site=kpi.count_opened(scoped, lambda i: i.site, lo, hi),
        by_department=kpi.count_opened(scoped, lambda i: i.department, lo, hi),
        by_device=kpi.count_opened(scoped, lambda i: i.device, lo, hi),
        devices=lines,
        top_devices=[
            TopDevice(device=ln.device, faults=ln.faults, incidents=ln.incidents, down_s=ln.down_s) for ln in top
        ],
        repeat_faults=[
            RepeatFault(number=o.number, device=o.device, rule=o.rule, at=o.at, previous_resolved_at=o.repeat_of)
            for o in repeats
            if o.repeat_of is not None
        ],
        sla=sla_lists(scoped, lo, hi),
    )
