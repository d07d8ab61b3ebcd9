"""SLA clocks: deadlines on a 24x7 or business-hours calendar, met/breached flags.

Pure functions of the times passed in. All arithmetic is done in UTC; the
local timezone is only used to place each working day's window, so a DST
change never stretches or shrinks a deadline by an hour.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from collector.incidents.policy import ALWAYS, BusinessHours, Policy, Target

_MAX_DAYS = 3660  # a calendar with no working day in ten years is a config error, not an infinite loop


class Clock(Protocol):
    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The instant at which ``duration`` of SLA time has elapsed after ``start``."""
        ...


class AlwaysClock:
    """24x7: SLA time is wall-clock time."""

    def add(self, start: datetime, duration: timedelta) -> datetime:
        return start.astimezone(UTC) + duration


@dataclass(frozen=True)
class BusinessClock:
    hours: BusinessHours

    def _window(self, day: date) -> tuple[datetime, datetime] | None:
        """The working window of a local calendar day, in UTC; None on a day off or holiday."""
        if day.weekday() not in self.hours.weekdays or day in self.hours.holidays:
            return None
        tz = ZoneInfo(self.hours.timezone)
        lo = datetime.combine(day, self.hours.start, tzinfo=tz).astimezone(UTC)
        hi = datetime.combine(day, self.hours.end, tzinfo=tz).astimezone(UTC)
        return lo, hi

    def add(self, start: datetime, duration: timedelta) -> datetime:
        cur = start.astimezone(UTC)
        left = duration
        day = cur.astimezone(ZoneInfo(self.hours.timezone)).date()
        for _ in range(_MAX_DAYS):
            win = self._window(day)
            if win is not None:
                lo, hi = win
                cur = max(cur, lo)
                if cur < hi:
                    if left <= hi - cur:
                        return cur + left
                    left -= hi - cur
                    cur = hi
            day += timedelta(days=1)
        raise ValueError(f"no working time within {_MAX_DAYS} days of {start.isoformat()}: check the calendar")


def clock_for(policy: Policy, tier: str) -> Clock:
    hours = policy.tiers[tier].hours
    return AlwaysClock() if hours == ALWAYS else BusinessClock(policy.calendars[hours])


@dataclass(frozen=True)
class Deadlines:
    response_due: datetime
    resolve_due: datetime


def deadlines(clock: Clock, opened_at: datetime, target: Target) -> Deadlines:
    return Deadlines(clock.add(opened_at, target.respond), clock.add(opened_at, target.resolve))


def met(done_at: datetime | None, due: datetime, now: datetime) -> bool | None:
    """True: done in time; False: done late or not done and already past due; None: still running."""
    if done_at is not None:
        return done_at <= due
    if now > due:
        return False
    return None


def fraction_point(clock: Clock, opened_at: datetime, span: timedelta, fraction: float) -> datetime:
    """When ``fraction`` of an SLA span has elapsed (0.8 = the warning point, 1.0 = the deadline)."""
    return clock.add(opened_at, span * fraction)
