"""What users configure today, reproduced to measure the forecaster against.

- Prometheus ``predict_linear(supply_percent[W], t)``: ordinary least squares
  over the window, intercept at the evaluation time; "days to empty" is
  where that line crosses 0.
- Zabbix ``timeleft(/host/key, W, 0)``: the same least-squares line solved
  for the threshold (its default ``linear`` fit), so the same numbers.
- ``delta``-style dashboards (Grafana ``delta(supply_percent[W])``): the
  level change between the window's first and last sample.

All work on the level as reported (fill percent for receptacles, target
100), on the raw series: a window spanning a replacement sees the jump,
exactly as those tools do. ``since`` clips the window at a known install
time (what a careful user could get by hand), to give them their best case.
"""

from __future__ import annotations

import numpy as np

DAY = 86400.0


def _window(t: np.ndarray, level: np.ndarray, now: float, window_s: float, since: float | None) -> np.ndarray:
    lo = now - window_s if since is None else max(now - window_s, since)
    return (t > lo) & (t <= now) & np.isfinite(level)


def _days(value_now: float, slope_per_s: float, target: float) -> float | None:
    gap = target - value_now
    down = target < 50  # 0 for supplies running down, 100 for receptacles filling up
    if (down and gap >= 0) or (not down and gap <= 0):
        return 0.0  # already at or beyond the target
    if slope_per_s == 0 or gap / slope_per_s < 0:
        return None  # never, as far as the line goes
    return gap / slope_per_s / DAY


def least_squares_days_left(
    t: np.ndarray, level: np.ndarray, now: float, window_s: float, *, target: float = 0.0, since: float | None = None
) -> float | None:
    """Prometheus ``predict_linear`` / Zabbix ``timeleft``: None when the line never reaches ``target``."""
    m = _window(t, level, now, window_s, since)
    if m.sum() < 2:
        return None
    x = t[m] - now
    y = level[m]
    xm, ym = x.mean(), y.mean()
    sxx = float(((x - xm) ** 2).sum())
    if sxx == 0:
        return None
    slope = float(((x - xm) * (y - ym)).sum()) / sxx
    return _days(ym - slope * xm, slope, target)


def delta_days_left(
    t: np.ndarray, level: np.ndarray, now: float, window_s: float, *, target: float = 0.0, since: float | None = None
) -> float | None:
    """Rate from the first and last sample of the window."""
    m = np.flatnonzero(_window(t, level, now, window_s, since))
    if len(m) < 2 or t[m[-1]] == t[m[0]]:
        return None
    slope = (level[m[-1]] - level[m[0]]) / (t[m[-1]] - t[m[0]])
    return _days(float(level[m[-1]]), float(slope), target)
