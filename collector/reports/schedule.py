"""Scheduled reports: the monthly service report and the daily inspection, sent by e-mail or webhook.

Configuration (``ReportSchedule``, the lead's ``reports:`` config section)::

    reports:
      timezone: Europe/Paris          # where "day 1 at 07:00" and "06:00" are read
      monthly:   {day: 1, at: "07:00", channels: [oncall-lead, ticketing]}   # previous month
      inspection: {at: "06:00", channels: [oncall]}                         # the fleet at 06:00

Channels are names from the incident policy's ``notify.channels``: an e-mail
channel gets the HTML report as the body (plain-text summary beside it) and the
CSV as an attachment; a webhook channel gets ``{"event": "report", "kind",
"period", "report": <JSON contract>}`` with an ``Idempotency-Key`` header.

``ReportScheduler.tick(now)`` decides, without side effects, which reports
are due and for which channels; ``await deliver(due, now)`` builds and sends
one and records each channel's outcome in ``report_deliveries``. A report is
sent once per period and channel: delivered and refused (HTTP 4xx, SMTP 5xx)
are final, other failures are retried with the policy's backoff. A run missed
while the collector was down is still sent within ``catch_up`` of its time
(older ones are not: nobody wants last Tuesday's walk round).

The collector calls, every minute or so::

    await scheduler.run_due(now)
"""

from __future__ import annotations

import asyncio
import calendar
import logging
import sqlite3
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from email.message import EmailMessage
from functools import partial
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator

from collector.incidents.model import iso, parse_iso, utc
from collector.incidents.policy import Duration, EmailChannel, Policy, known_timezone, quoted_time
from collector.reports import render
from collector.reports.inspection import InspectionReport, inspection_report
from collector.reports.monthly import MonthlyReport, month_bounds, monthly_report
from collector.sender import backoff, email_message, send
from collector.storage.sqlite import connect as storage_connect

log = logging.getLogger(__name__)

Kind = Literal["monthly", "inspection"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS report_deliveries (
    kind TEXT NOT NULL,                -- monthly | inspection
    period TEXT NOT NULL,              -- 2026-10 (monthly) | 2026-11-21 (inspection)
    channel TEXT NOT NULL,
    status TEXT NOT NULL,              -- delivered | rejected | failed (retried at next_at)
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at TEXT,
    delivered_at TEXT,
    last_error TEXT,
    PRIMARY KEY (kind, period, channel)
);
"""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MonthlyJob(_Strict):
    """The previous calendar month's service report, sent on ``day`` at ``at``."""

    enabled: bool = True
    day: int = Field(1, ge=1, le=28)  # 28: every month has it
    at: time = time(7, 0)
    channels: list[str] = Field(default_factory=list)
    site: str | None = None
    department: str | None = None
    catch_up: Duration = timedelta(days=7)

    @field_validator("at", mode="before")
    @classmethod
    def _at(cls, v: object) -> object:
        return quoted_time(v, "07:00")


class InspectionJob(_Strict):
    """The daily remote inspection at ``at`` on ``weekdays`` (Monday = 0)."""

    enabled: bool = True
    at: time = time(6, 0)
    weekdays: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4, 5, 6])
    channels: list[str] = Field(default_factory=list)
    site: str | None = None
    department: str | None = None
    catch_up: Duration = timedelta(hours=12)

    @field_validator("at", mode="before")
    @classmethod
    def _at(cls, v: object) -> object:
        return quoted_time(v, "07:00")

    @field_validator("weekdays")
    @classmethod
    def _weekdays(cls, v: list[int]) -> list[int]:
        if not v or any(not 0 <= d <= 6 for d in v):
            raise ValueError("weekdays must be a non-empty list of 0..6 (Monday = 0)")
        return sorted(set(v))


class ReportSchedule(_Strict):
    timezone: str = "UTC"
    monthly: MonthlyJob | None = MonthlyJob()
    inspection: InspectionJob | None = InspectionJob()

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        return known_timezone(v)

    def check_channels(self, policy: Policy) -> None:
        """Every channel named must exist in the policy (a typo is an error at start, not a silent no-op)."""
        known = policy.notify.channels
        for name, job in (("monthly", self.monthly), ("inspection", self.inspection)):
            for c in job.channels if job else []:
                if c not in known:
                    raise ValueError(f"reports.{name}: unknown channel {c!r} (known: {sorted(known)})")


@dataclass(frozen=True)
class Run:
    """One scheduled report run: which report, for which period, when it was due."""

    kind: Kind
    period: str  # "2026-10" or "2026-11-21"
    due_at: datetime


@dataclass(frozen=True)
class DueReport:
    run: Run
    channels: tuple[str, ...]


def latest_runs(schedule: ReportSchedule, now: datetime) -> list[Run]:
    """The most recent run of each job whose time has come and whose catch-up window is still open (pure)."""
    tz = ZoneInfo(schedule.timezone)
    local = now.astimezone(tz)
    out: list[Run] = []
    m = schedule.monthly
    if m is not None and m.enabled and m.channels:
        year, month = local.year, local.month
        at = datetime.combine(date(year, month, m.day), m.at, tzinfo=tz)
        if at > local:  # this month's run is still ahead: the latest one was last month's
            year, month = (year - 1, 12) if month == 1 else (year, month - 1)
            at = datetime.combine(date(year, month, m.day), m.at, tzinfo=tz)
        prev_year, prev_month = (year - 1, 12) if month == 1 else (year, month - 1)
        if local - at <= m.catch_up:
            out.append(Run("monthly", f"{prev_year:04d}-{prev_month:02d}", at.astimezone(UTC)))
    i = schedule.inspection
    if i is not None and i.enabled and i.channels:
        day = local.date()
        at = datetime.combine(day, i.at, tzinfo=tz)
        if at > local:
            day -= timedelta(days=1)
            at = datetime.combine(day, i.at, tzinfo=tz)
        if day.weekday() in i.weekdays and local - at <= i.catch_up:
            out.append(Run("inspection", day.isoformat(), at.astimezone(UTC)))
    return out


class ReportScheduler:
    def __init__(self, db_path: str | Path, schedule: ReportSchedule, policy: Policy) -> None:
        schedule.check_channels(policy)
        self.db_path = Path(db_path)
        self.schedule = schedule
        self.policy = policy
        self.conn = sqlite3.connect(self.db_path, timeout=10, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA busy_timeout=10000")
        self.conn.executescript(SCHEMA)
        self._lock: asyncio.Lock | None = None

    def close(self) -> None:
        self.conn.close()

    def _job(self, kind: Kind) -> MonthlyJob | InspectionJob:
        job = self.schedule.monthly if kind == "monthly" else self.schedule.inspection
        assert job is not None
        return job

    def tick(self, now: float | datetime) -> list[DueReport]:
        """Reports due now and the channels still waiting for them (reads the record, changes nothing)."""
        when = utc(now)
        out = []
        for run in latest_runs(self.schedule, when):
            rows = {
                r[0]: (r[1], parse_iso(r[2]))
                for r in self.conn.execute(
                    "SELECT channel, status, next_at FROM report_deliveries WHERE kind = ? AND period = ?",
                    (run.kind, run.period),
                )
            }
            waiting = []
            for ch in self._job(run.kind).channels:
                status, next_at = rows.get(ch, ("new", None))
                if status in ("delivered", "rejected"):
                    continue
                if status == "failed" and next_at is not None and next_at > when:
                    continue
                waiting.append(ch)
            if waiting:
                out.append(DueReport(run, tuple(waiting)))
        return out

    def build(self, run: Run, now: datetime) -> MonthlyReport | InspectionReport:
        conn = storage_connect(self.db_path, readonly=True)
        try:
            job = self._job(run.kind)
            if run.kind == "monthly":
                start, end = month_bounds(run.period, self.schedule.timezone)
                return monthly_report(conn, start, end, job.site, job.department, now=now)
            return inspection_report(
                conn,
                date.fromisoformat(run.period),
                now=now,
                tz=self.schedule.timezone,
                site=job.site,
                department=job.department,
            )
        finally:
            conn.close()

    async def deliver(self, due: DueReport, now: float | datetime) -> dict[str, str]:
        """Build the report once, send it to each waiting channel; returns channel -> delivered|rejected|failed."""
        when = utc(now)
        rep = await asyncio.to_thread(self.build, due.run, when)
        outcome: dict[str, str] = {}
        async with httpx.AsyncClient() as client:
            for name in due.channels:
                ch = self.policy.notify.channels[name]
                key = f"fleetwatch-report-{due.run.kind}-{due.run.period}-{name}"
                email = partial(report_email, ch, key, due.run, rep, self.schedule.timezone)
                sent = await send(client, ch, key, _webhook_body(due.run, rep), email=email)
                outcome[name] = self._record(due.run, name, when, sent.error, sent.permanent)
        return outcome

    def _record(self, run: Run, channel: str, when: datetime, error: str | None, permanent: bool) -> str:
        row = self.conn.execute(
            "SELECT attempts FROM report_deliveries WHERE kind = ? AND period = ? AND channel = ?",
            (run.kind, run.period, channel),
        ).fetchone()
        attempts = (row[0] if row else 0) + 1
        if error is None:
            status, next_at = "delivered", None
        elif permanent:
            status, next_at = "rejected", None
            log.error("report %s %s refused by %s: %s", run.kind, run.period, channel, error)
        else:
            status, next_at = "failed", iso(when + backoff(self.policy.notify.retry, attempts))
            log.warning("report %s %s to %s failed (try %d): %s", run.kind, run.period, channel, attempts, error)
        self.conn.execute(
            "INSERT INTO report_deliveries (kind, period, channel, status, attempts, next_at, delivered_at, last_error)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(kind, period, channel) DO UPDATE SET"
            " status = excluded.status, attempts = excluded.attempts, next_at = excluded.next_at,"
            " delivered_at = excluded.delivered_at, last_error = excluded.last_error",
            (run.kind, run.period, channel, status, attempts, next_at, iso(when) if error is None else None, error),
        )
        return status

    async def run_due(self, now: float | datetime) -> list[tuple[DueReport, dict[str, str]]]:
        """tick + deliver, serialized (a slow SMTP server never makes two loops send the same report)."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            done = []
            for due in self.tick(now):
                try:
                    done.append((due, await self.deliver(due, now)))
                except Exception:  # a report that cannot be built must not stop the collector loop
                    log.exception("report %s %s could not be built", due.run.kind, due.run.period)
            return done

    def deliveries(self) -> list[dict[str, object]]:
        cur = self.conn.execute(
            "SELECT kind, period, channel, status, attempts, next_at, delivered_at, last_error FROM report_deliveries"
            " ORDER BY kind, period, channel"
        )
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


# -- messages (sent by collector.sender) -----------------------------------------------------------------------


def title(run: Run) -> str:
    if run.kind == "monthly":
        year, month = (int(x) for x in run.period.split("-"))
        return f"Monthly service report {calendar.month_name[month]} {year}"
    return f"Daily inspection {run.period}"


def _webhook_body(run: Run, rep: MonthlyReport | InspectionReport) -> dict[str, object]:
    return {"event": "report", "kind": run.kind, "period": run.period, "report": rep.contract()}


def _text_summary(rep: MonthlyReport | InspectionReport) -> str:
    if isinstance(rep, MonthlyReport):
        return (
            f"Fleet availability {render.fmt_pct(rep.summary.fleet_availability, 2)}\n"
            f"Incidents opened {rep.summary.incidents_opened}, resolved {rep.summary.incidents_resolved}\n"
            f"Response on time {render.fmt_pct(rep.summary.response.rate)},"
            f" resolution on time {render.fmt_pct(rep.summary.resolve.rate)}\n"
            f"MTTA {render.fmt_duration(rep.summary.mtta_s)}, MTTR {render.fmt_duration(rep.summary.mttr_s)}\n"
        )
    r = rep.summary
    return (
        f"{r.devices} devices: {r.ok} ok, {r.warning} warning, {r.fault} fault, {r.unreachable} unreachable,"
        f" {r.no_data} without data; {r.open_incidents} open incidents\n"
    )


def report_email(ch: EmailChannel, key: str, run: Run, rep: MonthlyReport | InspectionReport, tz: str) -> EmailMessage:
    msg = email_message(ch, key, f"[fleetwatch] {title(run)}")
    msg.set_content(f"{title(run)}\n\n{_text_summary(rep)}\nThe full report is the HTML part; figures in the CSV.\n")
    msg.add_alternative(render.render(rep, "html", tz), subtype="html")
    msg.add_attachment(
        render.render(rep, "csv", tz).encode(),
        maintype="text",
        subtype="csv",
        filename=f"fleetwatch-{run.kind}-{run.period}.csv",
    )
    return msg
