"""Current forecasts and finished cartridge lives, in the collector's SQLite file.

Written by ``ForecastStage`` inside the collector; read by ``fleetwatch
forecast``, the web API / wall and reports with their own (read-only)
connections. Times are Unix seconds (UTC), days are fractional days.

Table ``forecasts`` -- one row per (device, supply), replaced on every recompute:

=================  ====================================================================================
device             device id (as ``devices.device_id``)
supply             supply index as in the ``supply`` label of ``supply_percent`` (e.g. ``"1.1"``)
part_number        part number the device reports for the installed unit (NULL: none reported)
description        supply description (``description`` label)
type, color        supply type (toner, ink, opc, waste_toner ...) and colour (NULL for none)
level_now          estimated remaining percent now (receptacles: 100 - fill), NULL if unknown
days_to_empty      days from ``computed_at`` until empty (receptacles: full); NULL = no forecast
empty_at           ``computed_at + days_to_empty`` days, NULL = no forecast. Current days left:
                   ``(empty_at - now) / 86400`` -- prefer this over ``days_to_empty`` when displaying
low, high          early / late end of the range, days from ``computed_at`` (NULL = no forecast)
low_at, high_at    the same as Unix times
confidence         good | fair | poor
reason             why less than good: comma-separated ``Reason`` values (see forecast.model), '' if none
pages_per_day      expected average pages per day over the coming week
pages_per_percent  pages one percent of this unit lasts
days_per_unit      how long a fresh unit lasts on this device (100 * pages_per_percent / pages_per_day),
                   NULL when unknown; the reorder arithmetic uses it for the units after this one
installed_at       when the installed unit was fitted, NULL = before the history starts
computed_at        when the row was computed (the poll time it is as of)
=================  ====================================================================================

Table ``cartridge_lives`` -- one row per unit removed (a replacement), never updated:

=================  ====================================================================================
id                 row id
device, supply     as above
part_number        part number of the *removed* unit (NULL: none reported)
installed_part     part number of the unit fitted in its place (the one taken from stock)
model, type, color device model and supply type / colour (for per-model yields)
installed_at       when the removed unit was fitted (NULL: before the history starts)
removed_at         when the replacement was seen (the first poll showing the new unit)
start_level        remaining percent at installation (or at the start of the history)
end_level          lowest confirmed remaining percent before removal
pages_printed      pages printed during its life (NULL: no page counter)
pages_per_percent  pages_printed / percent used (NULL when less than 20 % was used or no counter)
swapped_early      1 when removed above 10 % remaining (waste), else 0
cause              level_jump | cartridge_change | state_reset
detected_at        when the collector recorded it
=================  ====================================================================================

Replacements per device and part over a period (the reports query)::

    SELECT device, part_number, COUNT(*) AS replacements, SUM(swapped_early) AS swapped_early,
           SUM(pages_printed) AS pages, AVG(pages_per_percent) AS avg_pages_per_percent
    FROM cartridge_lives WHERE removed_at >= :since AND removed_at < :until
    GROUP BY device, part_number ORDER BY device, part_number

(``replacements_per_device_part`` runs exactly this.)
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from collector.forecast.model import CartridgeLife, Forecast

SCHEMA = """
CREATE TABLE IF NOT EXISTS forecasts (
    device TEXT NOT NULL,
    supply TEXT NOT NULL,
    part_number TEXT,
    description TEXT,
    type TEXT,
    color TEXT,
    level_now REAL,
    days_to_empty REAL,
    empty_at REAL,
    low REAL,
    high REAL,
    low_at REAL,
    high_at REAL,
    confidence TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    pages_per_day REAL,
    pages_per_percent REAL,
    days_per_unit REAL,
    installed_at REAL,
    computed_at REAL NOT NULL,
    PRIMARY KEY (device, supply)
);
CREATE INDEX IF NOT EXISTS forecasts_part ON forecasts(part_number);
CREATE TABLE IF NOT EXISTS cartridge_lives (
    id INTEGER PRIMARY KEY,
    device TEXT NOT NULL,
    supply TEXT NOT NULL,
    part_number TEXT,
    installed_part TEXT,
    model TEXT,
    type TEXT,
    color TEXT,
    installed_at REAL,
    removed_at REAL NOT NULL,
    start_level REAL,
    end_level REAL,
    pages_printed REAL,
    pages_per_percent REAL,
    swapped_early INTEGER NOT NULL,
    cause TEXT,
    detected_at REAL NOT NULL,
    UNIQUE (device, supply, removed_at)
);
CREATE INDEX IF NOT EXISTS cartridge_lives_removed ON cartridge_lives(removed_at);
CREATE INDEX IF NOT EXISTS cartridge_lives_model ON cartridge_lives(model, type, color);
"""

REPLACEMENTS_SQL = """
SELECT device, part_number, COUNT(*) AS replacements, SUM(swapped_early) AS swapped_early,
       SUM(pages_printed) AS pages, AVG(pages_per_percent) AS avg_pages_per_percent
FROM cartridge_lives WHERE removed_at >= :since AND removed_at < :until
GROUP BY device, part_number ORDER BY device, part_number
"""

DAY = 86400.0


def ensure_schema(db: sqlite3.Connection) -> None:
    db.executescript(SCHEMA)


@dataclass(frozen=True)
class SupplyInfo:
    """What the poll says about the supply a forecast is for."""

    device: str
    supply: str
    part_number: str | None
    description: str | None
    type: str | None
    color: str | None
    model: str | None = None


def _at(f: Forecast, days: float | None) -> float | None:
    return None if days is None else f.now + days * DAY


def days_per_unit(f: Forecast) -> float | None:
    if not f.pages_per_percent or not f.pages_per_day or f.pages_per_day <= 0:
        return None
    return 100.0 * f.pages_per_percent / f.pages_per_day


def upsert_forecast(db: sqlite3.Connection, s: SupplyInfo, f: Forecast) -> None:
    db.execute(
        "INSERT OR REPLACE INTO forecasts (device, supply, part_number, description, type, color, level_now,"
        " days_to_empty, empty_at, low, high, low_at, high_at, confidence, reason, pages_per_day,"
        " pages_per_percent, days_per_unit, installed_at, computed_at)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            s.device,
            s.supply,
            s.part_number,
            s.description,
            s.type,
            s.color,
            f.level_now,
            f.days_to_empty,
            f.empty_at,
            f.low,
            f.high,
            _at(f, f.low),
            _at(f, f.high),
            f.confidence.value,
            ", ".join(r.value for r in f.reasons),
            f.pages_per_day,
            f.pages_per_percent,
            days_per_unit(f),
            f.installed_at,
            f.now,
        ),
    )


def record_life(
    db: sqlite3.Connection, s: SupplyInfo, life: CartridgeLife, installed_part: str | None, now: float
) -> bool:
    """Insert a finished life; False when this replacement was recorded before (same removal time)."""
    assert life.removed_at is not None
    cur = db.execute(
        "INSERT OR IGNORE INTO cartridge_lives (device, supply, part_number, installed_part, model, type, color,"
        " installed_at, removed_at, start_level, end_level, pages_printed, pages_per_percent, swapped_early,"
        " cause, detected_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            s.device,
            s.supply,
            s.part_number,
            installed_part,
            s.model,
            s.type,
            s.color,
            life.installed_at,
            life.removed_at,
            life.start_level,
            life.end_level,
            life.pages_printed,
            life.pages_per_percent,
            int(life.swapped_early),
            life.cause,
            now,
        ),
    )
    return cur.rowcount == 1


def fleet_yields(
    db: sqlite3.Connection, model: str | None, type_: str | None, color: str | None
) -> list[tuple[str, float]]:
    """(device, pages per percent) of recorded lives of this model / type / colour."""
    rows = db.execute(
        "SELECT device, pages_per_percent FROM cartridge_lives WHERE model IS ? AND type IS ? AND color IS ?"
        " AND pages_per_percent IS NOT NULL AND installed_at IS NOT NULL",
        (model, type_, color),
    ).fetchall()
    return [(r[0], float(r[1])) for r in rows]


def replacements_per_device_part(db: sqlite3.Connection, since: float, until: float) -> list[dict[str, object]]:
    cur = db.execute(REPLACEMENTS_SQL, {"since": since, "until": until})
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def _days(at: float | None, now: float) -> float | None:
    return None if at is None else round(max(0.0, (at - now) / DAY), 2)


def read_forecasts(db: sqlite3.Connection, now: float, device: str | None = None) -> list[dict[str, object]]:
    """Stored forecasts with days counted from ``now``, soonest empty first: the ``forecast --json`` shape."""
    sql = (
        "SELECT device, supply, description, type, color, part_number, empty_at, low_at, high_at, confidence,"
        " reason, level_now, pages_per_percent, pages_per_day, installed_at, computed_at, days_per_unit"
        " FROM forecasts"
    )
    args: tuple[object, ...] = ()
    if device is not None:
        sql += " WHERE device = ?"
        args = (device,)
    out: list[dict[str, object]] = []
    for r in db.execute(sql, args).fetchall():
        (dev, sup, descr, typ, color, part, empty_at, low_at, high_at, conf, reason, level, ppp, ppd) = r[:14]
        row: dict[str, object] = {
            "device": dev,
            "supply": sup,
            "description": descr,
            "type": typ,
            "color": color,
            "part_number": part,
            "days_to_empty": _days(empty_at, now),
            "empty_at": _iso(empty_at),
            "low": _days(low_at, now),
            "high": _days(high_at, now),
            "low_at": _iso(low_at),
            "high_at": _iso(high_at),
            "confidence": conf,
        }
        if reason:
            row["reason"] = reason
        pages_left = None if level is None or ppp is None else round(max(level, 0.0) * ppp)
        row.update(
            {
                "level_now": None if level is None else round(level, 1),
                "pages_per_percent": None if ppp is None else round(ppp, 1),
                "pages_remaining": pages_left,
                "pages_per_day": None if ppd is None else round(ppd, 1),
                "installed_at": _iso(r[14]),
                "computed_at": _iso(r[15]),
                "days_per_unit": None if r[16] is None else round(r[16], 1),
            }
        )
        out.append(row)
    out.sort(key=lambda x: (x["days_to_empty"] is None, x["days_to_empty"] or 0.0, x["device"], x["supply"]))
    return out


def forecast_rows(db: sqlite3.Connection) -> Iterable[tuple[str, str, str | None, float | None, float | None]]:
    """(device, supply, part_number, empty_at, days_per_unit) of every stored forecast (for reordering)."""
    return db.execute("SELECT device, supply, part_number, empty_at, days_per_unit FROM forecasts").fetchall()
