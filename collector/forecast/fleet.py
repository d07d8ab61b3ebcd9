"""Forecasts for every supply the collector stores: SQLite series in, sorted forecasts out.

Reads ``supply_percent`` (one series per supply; a new part number is a new
series, merged back here by supply index/type/color so the part change marks
a replacement) and ``page_count{counter="total_pages"}``. A per-model yield
learned from the other devices' finished cartridges is the prior for a unit
that has not shown its own pages per percent yet.
"""

from __future__ import annotations

import sqlite3
import statistics
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from collector.forecast.forecaster import Series, forecast_series
from collector.forecast.model import Calendar, Forecast, Prior, Sample, SupplyKind
from collector.forecast.replacement import detect_lives
from collector.storage.sqlite import read_devices, read_history

HISTORY_DAYS = 180


@dataclass(frozen=True)
class SupplyHistory:
    device_id: str
    model: str | None
    supply: str
    description: str
    type: str
    color: str | None
    part_number: str | None  # the latest one
    kind: SupplyKind
    series: Series


@dataclass(frozen=True)
class SupplyForecast:
    history: SupplyHistory
    forecast: Forecast

    def to_json(self) -> dict[str, object]:
        h = self.history
        return {
            "device": h.device_id,
            "supply": h.supply,
            "description": h.description,
            "type": h.type,
            "color": h.color,
            "part_number": h.part_number,
            **self.forecast.to_json(),
        }


def load_histories(db: sqlite3.Connection, now: float, device: str | None = None) -> list[SupplyHistory]:
    since = now - HISTORY_DAYS * 86400.0
    out: list[SupplyHistory] = []
    for dev in read_devices(db):
        if device is not None and dev.device_id != device:
            continue
        pages = read_history(db, dev.device_id, "page_count", {"counter": "total_pages"}, since, now)
        ps = next(iter(pages.values()), [])
        pt = np.array([s.ts for s in ps], dtype=float)
        pv = np.array([s.value for s in ps], dtype=float)
        groups: dict[tuple[str, str, str], list[tuple[float, float, str | None, dict[str, str]]]] = defaultdict(list)
        for labels, samples in read_history(db, dev.device_id, "supply_percent", None, since, now).items():
            lab = dict(labels)
            key = (lab.get("supply", "?"), lab.get("type", "?"), lab.get("color", ""))
            groups[key].extend((s.ts, s.value, lab.get("part_number"), lab) for s in samples)
        for (supply, typ, color), rows in groups.items():
            rows.sort(key=lambda r: r[0])
            t = np.array([r[0] for r in rows], dtype=float)
            lab = rows[-1][3]
            if len(pt):
                # the page counter of the same poll (same ts), else the latest one before it
                k = np.searchsorted(pt, t, side="right") - 1
                pg = np.where(k >= 0, pv[np.maximum(k, 0)], np.nan)
            else:
                pg = np.full(len(t), np.nan)
            out.append(
                SupplyHistory(
                    device_id=dev.device_id,
                    model=dev.model,
                    supply=supply,
                    description=lab.get("description", supply),
                    type=typ,
                    color=color or None,
                    part_number=rows[-1][2],
                    kind=SupplyKind.receptacle if lab.get("class") == "receptacle" else SupplyKind.consumed,
                    series=Series(t, np.array([r[1] for r in rows]), pg, None, [r[2] for r in rows]),
                )
            )
    return out


def _key(h: SupplyHistory) -> tuple[str | None, str, str | None]:
    return (h.model, h.type, h.color)


def learn_priors(histories: list[SupplyHistory]) -> dict[tuple[str | None, str, str | None], list[tuple[str, float]]]:
    """(model, type, color) -> [(device, pages per percent)] of finished cartridges."""
    out: dict[tuple[str | None, str, str | None], list[tuple[str, float]]] = defaultdict(list)
    for h in histories:
        s = h.series
        samples = [
            Sample(float(t), None if not np.isfinite(lv) else float(lv), None if not np.isfinite(p) else float(p))
            for t, lv, p in zip(s.t, s.level, s.pages, strict=True)
        ]
        for life in detect_lives(samples, h.kind):
            ppp = life.pages_per_percent
            if ppp and life.installed_at is not None and life.removed_at is not None:
                out[_key(h)].append((h.device_id, ppp))
    return out


def fleet_forecasts(
    db: sqlite3.Connection, now: float, device: str | None = None, calendar: Calendar | None = None
) -> list[SupplyForecast]:
    """Every supply's forecast, soonest empty first (no forecast last)."""
    all_hist = load_histories(db, now)
    priors = learn_priors(all_hist)
    out: list[SupplyForecast] = []
    for h in all_hist:
        if device is not None and h.device_id != device:
            continue
        vals = [ppp for dev, ppp in priors.get(_key(h), []) if dev != h.device_id]
        prior = Prior(statistics.median(vals), 0.25, "fleet") if len(vals) >= 2 else None
        f = forecast_series(h.series, now, kind=h.kind, prior=prior, calendar=calendar)
        out.append(SupplyForecast(h, f))
    out.sort(key=lambda sf: (sf.forecast.days_to_empty is None, sf.forecast.days_to_empty or 0.0))
    return out
