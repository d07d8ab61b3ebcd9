"""Days-to-empty for the wall and the device API, from ``collector.forecast.fleet``.

Forecasting the whole fleet reads months of history per supply (seconds to
minutes on a large fleet), while the wall refreshes every second or so. So
the forecasts are recomputed in a background thread at most every
``interval`` and the wall always gets the last finished result, never waits.
Supplies change over days; a quarter of an hour of staleness costs nothing.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

log = logging.getLogger("fleetwatch.web")

Days = dict[str, dict[str, float | None]]  # device -> supply index -> days to empty


def available() -> bool:
    try:
        import collector.forecast.fleet  # noqa: F401
    except ImportError:
        return False
    return True


def compute(conn: sqlite3.Connection, now: float) -> Days:
    """The collector's forecast stage keeps a ``forecasts`` table current: read it rather than forecast again.

    Only a database without that table (or with it still empty, before the stage's first pass) is forecast
    here, from the stored history.
    """
    from collector.forecast.store import read_forecasts

    out: Days = {}
    try:
        stored = read_forecasts(conn, now)
    except sqlite3.OperationalError:  # no forecasts table: a collector without the stage wrote this file
        stored = []
    if stored:
        for row in stored:
            days = row["days_to_empty"]
            out.setdefault(str(row["device"]), {})[str(row["supply"])] = days if isinstance(days, float | int) else None
        return out
    from collector.forecast.fleet import fleet_forecasts

    for sf in fleet_forecasts(conn, now):
        out.setdefault(sf.history.device_id, {})[sf.history.supply] = sf.forecast.days_to_empty
    return out


class CachedForecasts:
    """A ``ForecastSource``: returns the latest finished fleet forecast, refreshing it in the background."""

    def __init__(
        self,
        db_path: Path,
        *,
        interval: float = 900.0,
        compute_fn: Callable[[sqlite3.Connection, float], Days] = compute,
    ) -> None:
        self.db_path = db_path
        self.interval = interval
        self.compute_fn = compute_fn
        self.days: Days = {}
        self.computed_at: float | None = None
        self.last_seconds: float | None = None
        self._running = threading.Lock()

    def __call__(self, conn: sqlite3.Connection, now: float) -> Mapping[str, Mapping[str, float | None]]:
        stale = self.computed_at is None or now - self.computed_at >= self.interval
        if stale and self._running.acquire(blocking=False):
            threading.Thread(target=self._refresh, args=(now,), name="forecasts", daemon=True).start()
        return self.days

    def _refresh(self, now: float) -> None:
        import time

        started = time.perf_counter()
        try:
            conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10)
            try:
                self.days = self.compute_fn(conn, now)
            finally:
                conn.close()
            self.last_seconds = time.perf_counter() - started
        except Exception:
            log.exception("fleet forecast failed; the wall keeps the previous days-to-empty")
        finally:
            self.computed_at = now
            self._running.release()

    def wait(self, timeout: float = 30.0) -> bool:
        """Block until a refresh in progress ends (tests)."""
        if self._running.acquire(timeout=timeout):
            self._running.release()
            return True
        return False
