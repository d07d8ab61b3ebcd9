"""One supply's history read from SQLite cheaply enough to redo every few minutes inside the collector.

``fleet.load_histories`` reads every sample (180 days at a 1-minute poll is
~260k rows per supply). The forecaster needs much less:

- the supply level only where it *changes* (and the readings on either side
  of a change): SQLite's window functions drop the flat stretches before any
  row reaches Python;
- the page counter exactly at those change points (pages per percent), plus
  one value per hour over the demand window (weekday x hour profile);
- levels in between are the last reported level (forward fill), which is
  what the flat stretch said anyway.

Several ``supply_percent`` series can describe one supply: a new part number
(or description) is a new label set. They are merged by supply index, type
and colour, and the part number marks a cartridge change (as in ``fleet``).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

import numpy as np

from collector.forecast.forecaster import Series

HOUR = 3600.0
DAY = 86400.0

_CHANGES = """
SELECT ts, value FROM (
    SELECT ts, value, LAG(value) OVER w AS prev, LEAD(value) OVER w AS next
    FROM samples WHERE series_id = ? AND ts >= ? AND ts <= ?
    WINDOW w AS (ORDER BY ts)
) WHERE prev IS NULL OR next IS NULL OR value != prev OR value != next
"""
# MAX(ts) and MAX(value) may come from different rows in the one bucket holding a counter reset;
# the forecaster counts a decrease as no pages, so that hour is lost, never turned into a jump.
_HOURLY = """
SELECT MAX(ts), MAX(value) FROM samples WHERE series_id = ? AND ts >= ? AND ts <= ?
GROUP BY CAST(ts / 3600 AS INTEGER) ORDER BY 1
"""


@dataclass(frozen=True)
class SupplyKey:
    """Identifies one physical supply slot across part-number changes."""

    device_id: str
    supply: str
    type: str | None
    color: str | None


def supply_series_ids(db: sqlite3.Connection, key: SupplyKey) -> list[tuple[int, dict[str, str]]]:
    """``supply_percent`` series (id, labels) of this slot, whatever the part number or description."""
    out = []
    for sid, raw in db.execute(
        "SELECT id, labels FROM series WHERE device_id = ? AND metric = 'supply_percent'", (key.device_id,)
    ):
        lab = json.loads(raw)
        if lab.get("supply") == key.supply and lab.get("type") == key.type and lab.get("color") == key.color:
            out.append((int(sid), lab))
    return out


def page_series_id(db: sqlite3.Connection, device_id: str) -> int | None:
    row = db.execute(
        "SELECT id FROM series WHERE device_id = ? AND metric = 'page_count' AND labels = ?",
        (device_id, json.dumps({"counter": "total_pages"}, separators=(",", ":"))),
    ).fetchone()
    return int(row[0]) if row else None


def _exact_pages(db: sqlite3.Connection, sid: int, ts: np.ndarray) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for i in range(0, len(ts), 500):
        chunk = [float(x) for x in ts[i : i + 500]]
        marks = ",".join("?" * len(chunk))
        out.extend(db.execute(f"SELECT ts, value FROM samples WHERE series_id = ? AND ts IN ({marks})", (sid, *chunk)))
    return out


def load_series(
    db: sqlite3.Connection,
    series: list[tuple[int, dict[str, str]]],
    page_sid: int | None,
    since: float,
    now: float,
    demand_days: float = 57.0,
) -> Series:
    """The supply's level change points since ``since`` and the page counter, as one ``Series``.

    ``demand_days`` of hourly page counter values are always included (even
    when ``since`` is more recent) so a fresh cartridge still gets the
    device's weekly printing pattern.
    """
    rows: list[tuple[float, float, str | None]] = []
    for sid, lab in series:
        part = lab.get("part_number")
        rows.extend((float(ts), float(v), part) for ts, v in db.execute(_CHANGES, (sid, since, now)))
    rows.sort(key=lambda r: r[0])
    sup_t = np.array([r[0] for r in rows], dtype=float)
    sup_v = np.array([r[1] for r in rows], dtype=float)
    parts = [r[2] for r in rows]

    pages: list[tuple[float, float]] = []
    if page_sid is not None:
        pages.extend(db.execute(_HOURLY, (page_sid, min(since, now - demand_days * DAY), now)))
        pages.extend(_exact_pages(db, page_sid, sup_t))
    pages.sort()
    pg_t = np.array([p[0] for p in pages], dtype=float)
    pg_v = np.array([p[1] for p in pages], dtype=float)

    t = np.unique(np.concatenate([sup_t, pg_t]))
    if len(sup_t):
        k = np.searchsorted(sup_t, t, side="right") - 1
        level = np.where(k >= 0, sup_v[np.maximum(k, 0)], np.nan)
        carts = [parts[i] if i >= 0 else None for i in k.tolist()]
    else:
        level = np.full(len(t), np.nan)
        carts = [None] * len(t)
    if len(pg_t):
        j = np.searchsorted(pg_t, t, side="right") - 1
        pg = np.where(j >= 0, pg_v[np.maximum(j, 0)], np.nan)
    else:
        pg = np.full(len(t), np.nan)
    return Series(t, level, pg, None, carts)
