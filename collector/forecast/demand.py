"""How many pages a device will print, day by day: a weekday x hour-of-day profile.

Offices print on weekdays during office hours and hardly at all on weekends
and holidays, so a straight line through the page counter over a week that
contains a weekend (or a holiday) is wrong in both directions. The profile is
learned from the device's own page counter over the last weeks, the recent
weeks weighted more (demand drifts: a team moves in, a project ends), and
rolled forward over the calendar to find when a number of pages will have
been printed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from collector.forecast.model import Calendar

_HOURS = np.arange(25, dtype=float)
#: Used until a device has shown its own pattern: Mon-Fri, 08:00-18:00.
_DEFAULT_WEEK = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 0.05, 0.05])
_DEFAULT_HOURLY = np.array([0.0] * 8 + [0.1] * 10 + [0.0] * 6)


def _cum_share(hourly: np.ndarray) -> np.ndarray:
    """Cumulative share of a day's pages at each hour boundary, strictly increasing for np.interp."""
    h = np.asarray(hourly, dtype=float) + 1e-6
    c = np.concatenate([[0.0], np.cumsum(h)])
    return c / c[-1]


@dataclass(frozen=True)
class Demand:
    daily: np.ndarray  # expected pages per weekday, Monday first, on a working day
    hourly_cum: np.ndarray  # 25 values, 0 at 00:00 .. 1 at 24:00 (local)
    holiday_factor: float  # a holiday prints this fraction of an average working weekday
    weekly_cv: float  # relative spread of weekly totals: how steady the device is
    daily_cv: float  # relative spread of a working day's total around its weekday's mean
    history_days: float
    calendar: Calendar
    holiday_days: np.ndarray  # local day numbers of the calendar's holidays

    @property
    def pages_per_day(self) -> float:
        return float(self.daily.mean())

    def expected(self, days: np.ndarray) -> np.ndarray:
        """Expected pages on each local day number."""
        vals = self.daily[(days + 3) % 7]  # 1970-01-01 was a Thursday
        if self.holiday_days.size:
            hol = np.isin(days, self.holiday_days)
            if hol.any():
                vals = np.where(hol, self.daily[:5].mean() * self.holiday_factor, vals)
        return vals

    def _share_at(self, ts: float | np.ndarray) -> np.ndarray:
        hour = ((np.asarray(ts, dtype=float) + self.calendar.utc_offset_s) % 86400.0) / 3600.0
        return np.interp(hour, _HOURS, self.hourly_cum)

    def cumulative(self, ts: np.ndarray) -> np.ndarray:
        """Expected pages from the start of the first sample's day to each ``ts``."""
        ts = np.asarray(ts, dtype=float)
        days = np.floor((ts + self.calendar.utc_offset_s) / 86400.0).astype(np.int64)
        d0 = int(days.min())
        exp = self.expected(np.arange(d0, int(days.max()) + 1))
        before = np.concatenate([[0.0], np.cumsum(exp)])
        k = days - d0
        return before[k] + exp[k] * self._share_at(ts)

    def time_to_consume(self, start: float, pages: float, max_days: int = 1100) -> float | None:
        """Seconds from ``start`` until ``pages`` more pages are expected to be printed; None beyond the horizon."""
        if pages <= 0:
            return 0.0
        day0 = self.calendar.local_day(start)
        days = np.arange(day0, day0 + max_days)
        full = self.expected(days)
        done = float(self._share_at(start))
        exp = full.copy()
        exp[0] *= 1.0 - done
        cs = np.cumsum(exp)
        k = int(np.searchsorted(cs, pages))
        if k >= len(cs) or full[k] <= 0:
            return None
        before = cs[k - 1] if k else 0.0
        share = (pages - before) / full[k] + (done if k == 0 else 0.0)
        # just below 1: the day's last page is printed when office hours end, not at midnight
        hour = float(np.interp(min(share, 1.0 - 1e-5), self.hourly_cum, _HOURS))
        return self.calendar.day_start(int(days[k])) + hour * 3600.0 - start


def default_demand(calendar: Calendar, pages_per_weekday: float = 1.0) -> Demand:
    return Demand(
        daily=_DEFAULT_WEEK * pages_per_weekday,
        hourly_cum=_cum_share(_DEFAULT_HOURLY),
        holiday_factor=0.05,
        weekly_cv=0.3,
        daily_cv=0.5,
        history_days=0.0,
        calendar=calendar,
        holiday_days=_holiday_days(calendar),
    )


def _holiday_days(calendar: Calendar) -> np.ndarray:
    return np.array(sorted(d.toordinal() - 719163 for d in calendar.holidays), dtype=np.int64)


def learn_demand(
    t: np.ndarray,
    cum: np.ndarray,
    now: float,
    calendar: Calendar,
    *,
    weeks: int = 8,
    half_life_days: float = 21.0,
) -> Demand:
    """Profile from a monotonic page counter ``cum`` sampled at ``t`` (all ``<= now``)."""
    hol = _holiday_days(calendar)
    if len(t) < 2 or t[-1] - t[0] < 3600:
        return default_demand(calendar, 0.0)
    span_days = (t[-1] - t[0]) / 86400.0
    first_day = calendar.local_day(t[0]) + 1
    last_day = calendar.local_day(min(now, t[-1])) - 1  # whole days only
    first_day = max(first_day, last_day - weeks * 7 + 1)
    if last_day - first_day + 1 < 2:
        # Less than two whole days: average rate over what we have, default weekly shape.
        rate = (cum[-1] - cum[0]) / max(t[-1] - t[0], 1.0) * 86400.0
        week_avg = _DEFAULT_WEEK.mean()
        d = default_demand(calendar, rate / week_avg)
        return Demand(d.daily, d.hourly_cum, d.holiday_factor, 0.5, 0.6, span_days, calendar, hol)

    days = np.arange(first_day, last_day + 1)
    edges = np.array([calendar.day_start(int(d)) for d in range(first_day, last_day + 2)])
    at = np.interp(edges, t, cum)
    totals = np.diff(at)
    age = (last_day - days).astype(float)
    w = 0.5 ** (age / half_life_days)
    wd = (days + 3) % 7
    is_hol = np.isin(days, hol) if hol.size else np.zeros(len(days), dtype=bool)

    daily = np.full(7, np.nan)
    for k in range(7):
        m = (wd == k) & ~is_hol
        if m.any():
            daily[k] = np.average(totals[m], weights=w[m])
    work = daily[:5]
    work_mean = np.nanmean(work) if np.isfinite(work).any() else np.nanmean(daily)
    if not np.isfinite(work_mean):
        work_mean = 0.0
    for k in range(7):
        if not np.isfinite(daily[k]):
            daily[k] = work_mean * _DEFAULT_WEEK[k]
    if is_hol.any() and work_mean > 0:
        holiday_factor = float(np.average(totals[is_hol], weights=w[is_hol]) / work_mean)
    else:
        holiday_factor = 0.05

    # Hour-of-day shape over the same days.
    hour_edges = edges[0] + np.arange(0, (len(days)) * 24 + 1) * 3600.0
    h_tot = np.diff(np.interp(hour_edges, t, cum)).reshape(len(days), 24).sum(axis=0)
    hourly_cum = _cum_share(h_tot) if h_tot.sum() > 0 else _cum_share(_DEFAULT_HOURLY)

    # Week-to-week steadiness, from whole weeks counted back from the last day.
    n_weeks = len(days) // 7
    if n_weeks >= 2:
        wk = totals[len(days) - n_weeks * 7 :].reshape(n_weeks, 7).sum(axis=1)
        weekly_cv = float(wk.std(ddof=1) / wk.mean()) if wk.mean() > 0 else 1.0
    else:
        weekly_cv = 0.35
    work_days = (wd < 5) & ~is_hol
    if work_days.sum() >= 5 and work_mean > 0:
        dev = totals[work_days] / np.maximum(daily[wd[work_days]], 1e-9) - 1.0
        daily_cv = float(min(np.sqrt(np.average(dev**2, weights=w[work_days])), 2.0))
    else:
        daily_cv = 0.5
    return Demand(daily, hourly_cum, holiday_factor, weekly_cv, daily_cv, span_days, calendar, hol)
