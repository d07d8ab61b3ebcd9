"""Service KPIs as a maintenance contract defines them: pure arithmetic on plain records.

Nothing here reads a database or a clock: ``data.py`` turns the collector's
tables into the records below, and every function takes the report window
``[lo, hi)`` (``hi`` = the period end, or "now" when the period is not over).

Definitions (the figures in every report, HTML/CSV/JSON alike):

- **Incidents opened** in a period: ``opened_at`` in ``[lo, hi)``. Broken down
  by severity, type, tier, device, site and department (labels copied into the
  incident when it opened; the device's current labels when it had none).
- **Response judged** in the period: the incident's response flag is final and
  its judgement instant is in ``[lo, hi)``. The instant is the first response
  (acknowledge/assign, or the resolution for a fault that cleared before anyone
  responded) when met, the ``response_due`` deadline when breached. So every
  incident is judged exactly once, in one period, and an incident opened on the
  31st and acknowledged on the 1st counts in the month it was acknowledged.
  A stored flag is used as is; a missing one is decided from the times with
  ``sla.met`` at ``hi`` (the collector may not have ticked past a deadline).
  Deadlines were fixed by the tier's clock when the incident opened, so a
  business-hours tier is judged in business hours (opened Friday 17:55 with 4 h
  to respond: due Monday 11:55).
- **Resolve judged**: the same with ``resolved_at`` / ``resolve_due``.
- **On-time rate** = met / judged (``None`` when nothing was judged, never 100 %).
- **MTTA** = mean of ``acknowledged_at - opened_at`` over incidents acknowledged
  in the period (wall-clock seconds). Incidents that cleared with no response
  are not in it.
- **MTTR** = mean of ``resolved_at - opened_at`` over incidents resolved in the
  period (wall-clock seconds; a reopened incident counts once, at its final
  resolution, from its first opening).
- **Fault occurrence**: an incident of type ``fault`` opening, or reopening by
  itself because the fault came back (a person reopening is not a new fault).
- **Repeat fault**: a fault occurrence on a device with the same rule as a fault
  resolved on that device within the previous 30 days (``REPEAT_WINDOW``).
  **Repeat-fault rate** = repeat occurrences / fault occurrences in the period.
- **Device availability**: share of the *observed* time in ``[lo, hi)`` during
  which the device had no active (open, acknowledged, in progress) P1/P2
  incident of any type and was not unreachable. Reachability is the ``up``
  series: each poll's value holds until the next poll, at most ``stale_after``;
  time with no poll at all (before the device was first seen, or a monitoring
  gap) is *no data* and is left out of the observed time, unless an incident
  makes it down anyway. Overlapping incidents and unreachable periods count once.
- **Fleet availability** = sum of available time / sum of observed time over
  the devices in scope (a time-weighted mean, so a device seen for one day of
  the month weighs one day).
- **Pages printed**: increase of ``page_count{counter=total_pages}`` from the
  last reading before ``lo`` (else the first in the period) to the last one
  before ``hi``; a counter that goes back (firmware update) adds nothing for
  that interval (``forecast.replacement.continuous_pages``).
- **Supplies replaced**: cartridge lives (``forecast.replacement.detect_lives``)
  that started in the period.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from collector.forecast.model import Sample as SupplySample
from collector.forecast.replacement import continuous_pages
from collector.incidents.sla import met

REPEAT_WINDOW = timedelta(days=30)
STALE_AFTER = timedelta(minutes=30)
SYSTEM_ACTOR = "fleetwatch"  # collector.incidents.manager.SYSTEM: who acts for the collector
ACTIVE = frozenset({"open", "acknowledged", "in_progress"})
DOWN_SEVERITIES = frozenset({"P1", "P2"})

Interval = tuple[datetime, datetime]


@dataclass(frozen=True)
class Change:
    """One audited lifecycle step of an incident: the state it left the incident in."""

    at: datetime
    action: str
    actor: str
    state: str


@dataclass(frozen=True)
class IncidentRecord:
    number: int
    device: str
    rule: str
    severity: str
    tier: str
    type: str
    state: str
    summary: str
    opened_at: datetime
    response_due: datetime
    resolve_due: datetime
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    response_met: bool | None = None
    resolve_met: bool | None = None
    site: str | None = None
    department: str | None = None
    history: tuple[Change, ...] = ()  # oldest first; empty = derive from the fields

    def active_intervals(self, until: datetime) -> list[Interval]:
        """When the incident was active, from its audited history (reopens included)."""
        if not self.history:
            end = self.resolved_at if self.state not in ACTIVE and self.resolved_at else until
            return [(self.opened_at, max(self.opened_at, end))]
        out: list[Interval] = []
        start: datetime | None = None
        for c in self.history:
            if c.state in ACTIVE and start is None:
                start = c.at
            elif c.state not in ACTIVE and start is not None:
                out.append((start, c.at))
                start = None
        if start is not None:
            out.append((start, max(start, until)))
        return out

    def resolutions(self) -> list[datetime]:
        """Every time it went from active to resolved (a reopened incident has several)."""
        if not self.history:
            return [self.resolved_at] if self.resolved_at and self.state not in ACTIVE else []
        out, was_active = [], False
        for c in self.history:
            if was_active and c.state == "resolved":
                out.append(c.at)
            was_active = c.state in ACTIVE
        return out

    def occurrences(self) -> list[datetime]:
        """The opening, and every reopen the collector made because the fault came back."""
        extra = [c.at for c in self.history if c.action == "reopen" and c.actor == SYSTEM_ACTOR]
        return [self.opened_at, *extra]

    def first_response(self) -> datetime | None:
        """Acknowledge/assign, or the first resolution when nobody responded before it."""
        first = self.resolutions()[:1]
        candidates = [t for t in (self.acknowledged_at, *first) if t is not None]
        return min(candidates) if candidates else None


@dataclass(frozen=True)
class Judgement:
    met: bool
    at: datetime  # the instant the flag became final


def response_judgement(inc: IncidentRecord, as_of: datetime) -> Judgement | None:
    done = inc.first_response()
    flag = inc.response_met if inc.response_met is not None else met(done, inc.response_due, as_of)
    if flag is None:
        return None
    return Judgement(True, done or inc.response_due) if flag else Judgement(False, inc.response_due)


def resolve_judgement(inc: IncidentRecord, as_of: datetime) -> Judgement | None:
    done = inc.resolved_at if inc.state not in ACTIVE else None
    flag = inc.resolve_met if inc.resolve_met is not None else met(done, inc.resolve_due, as_of)
    if flag is None:
        return None
    return Judgement(True, done or inc.resolve_due) if flag else Judgement(False, inc.resolve_due)


def _in(t: datetime | None, lo: datetime, hi: datetime) -> bool:
    return t is not None and lo <= t < hi


@dataclass(frozen=True)
class OnTime:
    met: int
    judged: int

    @property
    def rate(self) -> float | None:
        return self.met / self.judged if self.judged else None


def on_time(judgements: Iterable[Judgement | None], lo: datetime, hi: datetime) -> OnTime:
    js = [j for j in judgements if j is not None and _in(j.at, lo, hi)]
    return OnTime(sum(j.met for j in js), len(js))


def mean_seconds(deltas: Iterable[timedelta]) -> float | None:
    vals = [d.total_seconds() for d in deltas]
    return statistics.fmean(vals) if vals else None


def mtta(incidents: Iterable[IncidentRecord], lo: datetime, hi: datetime) -> float | None:
    return mean_seconds(
        i.acknowledged_at - i.opened_at for i in incidents if i.acknowledged_at and _in(i.acknowledged_at, lo, hi)
    )


def mttr(incidents: Iterable[IncidentRecord], lo: datetime, hi: datetime) -> float | None:
    return mean_seconds(
        i.resolved_at - i.opened_at
        for i in incidents
        if i.resolved_at and i.state not in ACTIVE and _in(i.resolved_at, lo, hi)
    )


@dataclass(frozen=True)
class GroupStats:
    """The contract figures for one slice of incidents (a tier, a severity, a type, or all)."""

    key: str
    opened: int
    resolved: int
    response: OnTime
    resolve: OnTime
    mtta_s: float | None
    mttr_s: float | None


def group_stats(key: str, incidents: Sequence[IncidentRecord], lo: datetime, hi: datetime) -> GroupStats:
    return GroupStats(
        key=key,
        opened=sum(_in(i.opened_at, lo, hi) for i in incidents),
        resolved=sum(bool(i.resolved_at) and i.state not in ACTIVE and _in(i.resolved_at, lo, hi) for i in incidents),
        response=on_time((response_judgement(i, hi) for i in incidents), lo, hi),
        resolve=on_time((resolve_judgement(i, hi) for i in incidents), lo, hi),
        mtta_s=mtta(incidents, lo, hi),
        mttr_s=mttr(incidents, lo, hi),
    )


def grouped(
    incidents: Sequence[IncidentRecord], key: Callable[[IncidentRecord], str | None], lo: datetime, hi: datetime
) -> list[GroupStats]:
    """Stats per key value, sorted by key; incidents whose key is None are left out."""
    groups: dict[str, list[IncidentRecord]] = defaultdict(list)
    for i in incidents:
        k = key(i)
        if k is not None:
            groups[k].append(i)
    return [group_stats(k, groups[k], lo, hi) for k in sorted(groups)]


def count_opened(
    incidents: Iterable[IncidentRecord], key: Callable[[IncidentRecord], str | None], lo: datetime, hi: datetime
) -> dict[str, int]:
    """Incidents opened in the window per key value, most first (ties by key)."""
    counts: dict[str, int] = defaultdict(int)
    for i in incidents:
        if _in(i.opened_at, lo, hi):
            counts[key(i) or "(none)"] += 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


# -- repeat faults -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Occurrence:
    number: int
    device: str
    rule: str
    at: datetime
    repeat_of: datetime | None  # the resolution it came back after (None: not a repeat)


def fault_occurrences(
    incidents: Iterable[IncidentRecord], lo: datetime, hi: datetime, window: timedelta = REPEAT_WINDOW
) -> list[Occurrence]:
    """Fault occurrences in ``[lo, hi)``, each marked with the resolution it repeats (if any).

    ``incidents`` must include those resolved up to ``window`` before ``lo``.
    """
    faults = [i for i in incidents if i.type == "fault"]
    resolved: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    for i in faults:
        resolved[(i.device, i.rule)].extend(i.resolutions())
    out = []
    for i in faults:
        for t in i.occurrences():
            if not _in(t, lo, hi):
                continue
            before = [r for r in resolved[(i.device, i.rule)] if t - window <= r <= t]
            out.append(Occurrence(i.number, i.device, i.rule, t, max(before) if before else None))
    out.sort(key=lambda o: (o.at, o.number))
    return out


# -- availability -------------------------------------------------------------------------------------------


def union(intervals: Iterable[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for a, b in sorted(iv for iv in intervals if iv[1] > iv[0]):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def clip(intervals: Iterable[Interval], lo: datetime, hi: datetime) -> list[Interval]:
    return [(max(a, lo), min(b, hi)) for a, b in intervals if min(b, hi) > max(a, lo)]


def subtract(intervals: Iterable[Interval], remove: Iterable[Interval]) -> list[Interval]:
    cut = union(remove)
    out: list[Interval] = []
    for a, b in union(intervals):
        cur = a
        for c, d in cut:
            if d <= cur or c >= b:
                continue
            if c > cur:
                out.append((cur, c))
            cur = max(cur, d)
        if cur < b:
            out.append((cur, b))
    return out


def seconds(intervals: Iterable[Interval]) -> float:
    return sum((b - a).total_seconds() for a, b in intervals)


def reachability(
    up: Sequence[tuple[datetime, bool]], lo: datetime, hi: datetime, stale_after: timedelta = STALE_AFTER
) -> tuple[list[Interval], list[Interval]]:
    """(unreachable, no data) intervals in ``[lo, hi)`` from ``up`` polls sorted by time.

    Include the last poll before ``lo`` so the window starts in a known state.
    """
    down: list[Interval] = []
    known: list[Interval] = []
    for k, (t, ok) in enumerate(up):
        nxt = up[k + 1][0] if k + 1 < len(up) else hi
        end = min(nxt, t + stale_after, hi) if k + 1 < len(up) else min(hi, t + stale_after)
        if end <= t:
            continue
        known.append((t, end))
        if not ok:
            down.append((t, end))
    no_data = subtract([(lo, hi)], known) if hi > lo else []
    return clip(union(down), lo, hi), no_data


@dataclass(frozen=True)
class Availability:
    observed_s: float
    down_s: float  # unreachable or a P1/P2 incident active (counted once)
    unreachable_s: float
    incident_s: float  # P1/P2 incident active
    no_data_s: float

    @property
    def available_s(self) -> float:
        return self.observed_s - self.down_s

    @property
    def ratio(self) -> float | None:
        return self.available_s / self.observed_s if self.observed_s > 0 else None


def availability(
    up: Sequence[tuple[datetime, bool]],
    incidents: Iterable[IncidentRecord],
    lo: datetime,
    hi: datetime,
    stale_after: timedelta = STALE_AFTER,
) -> Availability:
    """One device's availability in ``[lo, hi)`` (``incidents``: that device's, any severity)."""
    unreachable, gaps = reachability(up, lo, hi, stale_after)
    inc = clip(union(iv for i in incidents if i.severity in DOWN_SEVERITIES for iv in i.active_intervals(hi)), lo, hi)
    down = union([*unreachable, *inc])
    no_data = subtract(gaps, down)
    observed = max(0.0, (hi - lo).total_seconds()) - seconds(no_data)
    return Availability(observed, seconds(down), seconds(unreachable), seconds(inc), seconds(no_data))


def fleet_availability(items: Iterable[Availability]) -> float | None:
    items = list(items)
    observed = sum(a.observed_s for a in items)
    return sum(a.available_s for a in items) / observed if observed > 0 else None


# -- pages -------------------------------------------------------------------------------------------------


def pages_printed(counter: Sequence[tuple[float, float]]) -> float | None:
    """Pages between the first and last reading (pass the last one before the window first); resets add 0."""
    if not counter:
        return None
    totals = continuous_pages([SupplySample(ts, None, pages=v) for ts, v in counter])
    first = next((t for t in totals if t is not None), None)
    last = next((t for t in reversed(totals) if t is not None), None)
    return None if first is None or last is None else last - first


def active_at(inc: IncidentRecord, t: datetime) -> bool:
    """Whether the incident was active at the instant ``t`` (resolved exactly at ``t``: no)."""
    return any(a <= t < b for a, b in inc.active_intervals(t + timedelta(seconds=1)))
