"""Maintenance windows: while one covers a device, its alerts open no incident.

A window targets one device, every device carrying a label (``key=value``),
or a site (the ``site`` label). It is one-off (start, end) or recurring: an
RFC 5545 RRULE (python-dateutil) whose occurrences start at wall-clock times
in the window's timezone, each lasting ``duration`` — e.g. every Saturday
02:00-06:00 Europe/Paris is ``FREQ=WEEKLY;BYDAY=SA`` from a Saturday 02:00
start, 4 h.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr
from pydantic import BaseModel, ConfigDict, model_validator

from collector.incidents.model import DeviceInfo, iso, parse_iso
from collector.incidents.store import write

Scope = Literal["device", "label", "site"]


class Window(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: int = 0
    scope: Scope
    match: str
    starts_at: datetime  # aware; for recurring windows, the first occurrence (its wall time is the pattern)
    ends_at: datetime | None = None
    rrule: str | None = None
    duration: timedelta | None = None
    timezone: str = "UTC"
    reason: str = ""
    created_by: str = ""
    created_at: datetime | None = None

    @model_validator(mode="after")
    def _shape(self) -> Window:
        if self.scope == "label" and "=" not in self.match:
            raise ValueError("a label window matches key=value")
        if self.rrule:
            if not self.duration or self.duration <= timedelta(0):
                raise ValueError("a recurring window needs a positive duration")
            try:
                rrulestr(self.rrule, dtstart=self._local_start())
            except (ValueError, TypeError) as exc:
                raise ValueError(f"invalid RRULE {self.rrule!r}: {exc}") from exc
        elif self.ends_at is None or self.ends_at <= self.starts_at:
            raise ValueError("a one-off window needs an end after its start")
        return self

    def _local_start(self) -> datetime:
        return self.starts_at.astimezone(ZoneInfo(self.timezone))

    def covers(self, device: DeviceInfo) -> bool:
        if self.scope == "device":
            return device.device_id == self.match
        if self.scope == "site":
            return device.labels.get("site") == self.match
        key, _, value = self.match.partition("=")
        return device.labels.get(key) == value

    def active_at(self, now: datetime) -> bool:
        if not self.rrule:
            assert self.ends_at is not None
            return self.starts_at <= now < self.ends_at
        assert self.duration is not None
        rule = rrulestr(self.rrule, dtstart=self._local_start())
        last = rule.before(now.astimezone(ZoneInfo(self.timezone)), inc=True)
        return last is not None and now < last.astimezone(UTC) + self.duration

    def describe(self) -> str:
        when = (
            f"{self.rrule} from {iso(self.starts_at)} for {self.duration} ({self.timezone})"
            if self.rrule
            else f"{iso(self.starts_at)} .. {iso(self.ends_at)}"
        )
        return f"maintenance #{self.id} {self.scope}={self.match} {when}: {self.reason}".rstrip(": ")

    def finished_by(self, now: datetime) -> bool:
        """A one-off window in the past (recurring windows never finish)."""
        return not self.rrule and self.ends_at is not None and self.ends_at <= now


def add(conn: Any, w: Window) -> Window:
    with write(conn):
        (window_id,) = conn.execute(
            "INSERT INTO incident_maintenance (scope, match, starts_at, ends_at, rrule, duration_s, timezone, reason,"
            " created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                w.scope,
                w.match,
                iso(w.starts_at),
                iso(w.ends_at),
                w.rrule,
                int(w.duration.total_seconds()) if w.duration else None,
                w.timezone,
                w.reason,
                w.created_by,
                iso(w.created_at),
            ),
        ).fetchone()
    return w.model_copy(update={"id": int(window_id)})


def remove(conn: Any, window_id: int) -> bool:
    with write(conn):
        cur = conn.execute("DELETE FROM incident_maintenance WHERE id = ?", (window_id,))
    return cur.rowcount > 0


def load(conn: Any) -> list[Window]:
    out = []
    for r in conn.execute("SELECT * FROM incident_maintenance ORDER BY id").fetchall():
        out.append(
            Window(
                id=r["id"],
                scope=r["scope"],
                match=r["match"],
                starts_at=parse_iso(r["starts_at"]),
                ends_at=parse_iso(r["ends_at"]),
                rrule=r["rrule"],
                duration=timedelta(seconds=r["duration_s"]) if r["duration_s"] else None,
                timezone=r["timezone"],
                reason=r["reason"],
                created_by=r["created_by"],
                created_at=parse_iso(r["created_at"]),
            )
        )
    return out
