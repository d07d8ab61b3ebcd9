"""One supply's history read from SQLite cheaply enough to redo every few minutes inside the collector.

``fleet.load_histories`` reads every sample (180 days at a 1-minute poll is
~260k rows per supply). The forecaster needs much less:

- the supply level only where it *changes* (and the readings on either side
  of a change);
- the page counter exactly at those change points (pages per percent), plus
  one value per hour over the demand window (weekday x hour profile);
- levels in between are the last reported level (forward fill), which is
  what the flat stretch said anyway.

``DeviceHistory`` keeps exactly that in memory per device and reads only the
rows stored since its last read, so only the first forecast of a device
after a collector start pays for the full read (measured with
bench/forecast/stage_cost.py, 60 days of 1-minute polls, 4 toners: ~0.5 s for
the device's first forecast, ~4 ms per supply recompute afterwards).

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


def _compress(t: np.ndarray, v: np.ndarray, parts: list[str | None]) -> np.ndarray:
    """Indices to keep: first, last, and every point whose (level, part) differs from a neighbour's."""
    n = len(t)
    if n <= 2:
        return np.arange(n)
    codes = np.unique(np.array([p or "" for p in parts]), return_inverse=True)[1]
    diff = (v[1:] != v[:-1]) | (codes[1:] != codes[:-1])
    keep = np.zeros(n, dtype=bool)
    keep[0] = keep[-1] = True
    keep[1:] |= diff
    keep[:-1] |= diff
    return np.flatnonzero(keep)


@dataclass
class _Supply:
    read_until: dict[int, float]  # series id -> last ts read
    part: dict[int, str | None]  # series id -> its part number label
    t: np.ndarray
    v: np.ndarray
    pages: np.ndarray  # the page counter at the same poll (NaN: none)
    parts: list[str | None]


class DeviceHistory:
    """A device's supply change points and hourly page counter, kept in memory and read incrementally."""

    def __init__(
        self, db: sqlite3.Connection, device_id: str, *, history_days: float = 180.0, demand_days: float = 57.0
    ) -> None:
        self.db = db
        self.device_id = device_id
        self.history_days = history_days
        self.demand_days = demand_days
        self.page_sid: int | None = None
        self.pages_until: float | None = None
        self.hourly: dict[int, tuple[float, float]] = {}  # hour number -> (last ts, highest value)
        self.supplies: dict[SupplyKey, _Supply] = {}
        self.rows_read = 0

    def _read(self, sid: int, after: float, until: float) -> np.ndarray:
        rows = self.db.execute(
            "SELECT ts, value FROM samples WHERE series_id = ? AND ts > ? AND ts <= ? ORDER BY ts", (sid, after, until)
        ).fetchall()
        self.rows_read += len(rows)
        return np.array(rows, dtype=float).reshape(-1, 2)

    def _update_pages(self, now: float) -> None:
        if self.page_sid is None:
            self.page_sid = page_series_id(self.db, self.device_id)
            if self.page_sid is None:
                return
        start = now - self.demand_days * DAY
        after = self.pages_until if self.pages_until is not None else start
        if after >= now:
            return
        rows = self._read(self.page_sid, after, now)
        self.pages_until = now
        if len(rows):
            hours = np.floor(rows[:, 0] / HOUR).astype(np.int64)
            last = np.flatnonzero(np.append(hours[1:] != hours[:-1], True))
            first = np.concatenate([[0], last[:-1] + 1])
            peaks = np.maximum.reduceat(rows[:, 1], first)
            for h, i, peak in zip(hours[last].tolist(), last.tolist(), peaks.tolist(), strict=True):
                old = self.hourly.get(h)
                self.hourly[h] = (float(rows[i, 0]), peak if old is None else max(old[1], peak))
        cutoff = int(start // HOUR)
        for h in [h for h in self.hourly if h < cutoff]:
            del self.hourly[h]

    def _update_supply(self, key: SupplyKey, now: float, rescan: bool) -> _Supply:
        sup = self.supplies.get(key)
        start = now - self.history_days * DAY
        if sup is None:
            sup = _Supply({}, {}, np.empty(0), np.empty(0), np.empty(0), [])
            self.supplies[key] = sup
            rescan = True
        if rescan:  # a new part number or description is a new series
            for sid, lab in supply_series_ids(self.db, key):
                sup.read_until.setdefault(sid, start)
                sup.part[sid] = lab.get("part_number")
        new_t, new_v, new_p = [], [], []
        for sid, after in sup.read_until.items():
            if after >= now:
                continue
            rows = self._read(sid, after, now)
            sup.read_until[sid] = now
            if len(rows):
                new_t.append(rows[:, 0])
                new_v.append(rows[:, 1])
                new_p.extend([sup.part[sid]] * len(rows))
        if not new_t:
            return sup
        t = np.concatenate([sup.t, *new_t])
        v = np.concatenate([sup.v, *new_v])
        parts = sup.parts + new_p
        pages = np.concatenate([sup.pages, np.full(len(t) - len(sup.t), np.nan)])
        order = np.argsort(t, kind="stable")
        t, v, pages = t[order], v[order], pages[order]
        parts = [parts[i] for i in order.tolist()]
        keep = _compress(t, v, parts)
        keep = keep[t[keep] >= start]
        t, v, pages = t[keep], v[keep], pages[keep]
        parts = [parts[i] for i in keep.tolist()]
        missing = np.flatnonzero(np.isnan(pages))
        if len(missing) and self.page_sid is not None:
            exact = dict(_exact_pages(self.db, self.page_sid, t[missing]))
            pages[missing] = [exact.get(float(x), np.nan) for x in t[missing]]
        sup.t, sup.v, sup.pages, sup.parts = t, v, pages, parts
        return sup

    def series(self, key: SupplyKey, now: float, *, rescan: bool = False) -> Series:
        """The supply's history up to ``now`` as the forecaster's ``Series`` (levels forward-filled)."""
        self._update_pages(now)
        sup = self._update_supply(key, now, rescan)
        hourly = sorted(self.hourly.values())
        pg_t = np.concatenate([np.array([h[0] for h in hourly], dtype=float), sup.t])
        pg_v = np.concatenate([np.array([h[1] for h in hourly], dtype=float), sup.pages])
        ok = np.isfinite(pg_v)
        pg_t, pg_v = pg_t[ok], pg_v[ok]
        o = np.argsort(pg_t, kind="stable")
        pg_t, pg_v = pg_t[o], pg_v[o]
        t = np.unique(np.concatenate([sup.t, pg_t]))
        t = t[t <= now]
        if len(sup.t):
            k = np.searchsorted(sup.t, t, side="right") - 1
            level = np.where(k >= 0, sup.v[np.maximum(k, 0)], np.nan)
            carts = [sup.parts[i] if i >= 0 else None for i in k.tolist()]
        else:
            level, carts = np.full(len(t), np.nan), [None] * len(t)
        if len(pg_t):
            j = np.searchsorted(pg_t, t, side="right") - 1
            pg = np.where(j >= 0, pg_v[np.maximum(j, 0)], np.nan)
        else:
            pg = np.full(len(t), np.nan)
        return Series(t, level, pg, None, carts)
