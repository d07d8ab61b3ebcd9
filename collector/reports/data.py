"""The collector's database read into plain records for the reports.

Takes any ``sqlite3`` connection (read-only is enough; the row factory does
not matter) and never writes. A database the collector has not fully created
yet (no incident tables, no samples) reads as empty rather than failing, so a
report on a fresh install says "nothing happened" instead of crashing.
Incidents are read from where the collector keeps them: the same file, or a
PostgreSQL database several collectors share (``incident_db.incident_conn_for``).

Scale note: per-device series are read whole for the window (``up`` and the
page counter at poll resolution); a month of 1-minute polls is ~43k rows per
series, tens of milliseconds per device.
"""

from __future__ import annotations

import bisect
import itertools
import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from agent.wire import DevicePoll
from collector.forecast.model import Sample as SupplySample
from collector.forecast.model import SupplyKind
from collector.forecast.replacement import detect_lives
from collector.incidents import db as incident_db
from collector.incidents.model import iso, parse_iso, utc
from collector.reports.kpi import REPEAT_WINDOW, Change, IncidentRecord
from collector.storage.base import DeviceRow
from collector.storage.sqlite import read_devices

#: How far before the window supply history is read, so a swap early in the window is seen as a jump.
SUPPLY_LOOKBACK = timedelta(days=14)
_CHUNK = 500


def has_table(conn: sqlite3.Connection, name: str) -> bool:
    if incident_db.dialect(conn) == "postgresql":
        row = conn.execute("SELECT to_regclass(?)", (name,)).fetchone()
        return row is not None and row[0] is not None
    row = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone()
    return row is not None


def devices(conn: sqlite3.Connection) -> list[DeviceRow]:
    return read_devices(conn) if has_table(conn, "devices") else []


def in_scope(labels: dict[str, str], site: str | None, department: str | None) -> bool:
    return (site is None or labels.get("site") == site) and (
        department is None or labels.get("department") == department
    )


def _chunks(seq: Sequence[int]) -> Iterator[Sequence[int]]:
    for k in range(0, len(seq), _CHUNK):
        yield seq[k : k + _CHUNK]


def _dt(s: str | None) -> datetime | None:
    return parse_iso(s)


def incidents(
    conn: sqlite3.Connection, lo: datetime, hi: datetime, device_labels: dict[str, dict[str, str]]
) -> list[IncidentRecord]:
    """Incidents that can matter to ``[lo, hi)``: opened before ``hi`` and active or changed since ``lo`` - 30 d.

    The 30 days (``REPEAT_WINDOW``) bring in the resolutions a repeat fault refers to.
    """
    conn = incident_db.incident_conn_for(conn)
    if not has_table(conn, "incidents"):
        return []
    cur = conn.execute(
        "SELECT number, device, rule, severity, tier, type, state, summary, opened_at, response_due, resolve_due,"
        " acknowledged_at, resolved_at, response_met, resolve_met, inventory FROM incidents"
        " WHERE opened_at < ? AND (state IN ('open', 'acknowledged', 'in_progress') OR updated_at >= ?)"
        " ORDER BY number",
        (iso(hi), iso(lo - REPEAT_WINDOW - timedelta(days=1))),
    )
    rows = [tuple(r) for r in cur.fetchall()]
    history: dict[int, list[Change]] = defaultdict(list)
    if rows and has_table(conn, "incident_audit"):
        state_expr = (
            "(snapshot::jsonb ->> 'state')"
            if incident_db.dialect(conn) == "postgresql"
            else "json_extract(snapshot, '$.state')"
        )
        for part in _chunks([r[0] for r in rows]):
            q = (
                f"SELECT incident, at, action, actor, {state_expr} FROM incident_audit"
                f" WHERE incident IN ({','.join('?' * len(part))}) ORDER BY seq"
            )
            for number, at, action, actor, state in conn.execute(q, tuple(part)):
                history[int(number)].append(Change(_dt(at), action, actor, state or ""))  # type: ignore[arg-type]
    out = []
    for r in rows:
        inventory = json.loads(r[15] or "{}")
        labels = inventory.get("labels") or device_labels.get(r[1], {})
        out.append(
            IncidentRecord(
                number=int(r[0]),
                device=r[1],
                rule=r[2],
                severity=r[3],
                tier=r[4],
                type=r[5],
                state=r[6],
                summary=r[7] or "",
                opened_at=_dt(r[8]),  # type: ignore[arg-type]
                response_due=_dt(r[9]),  # type: ignore[arg-type]
                resolve_due=_dt(r[10]),  # type: ignore[arg-type]
                acknowledged_at=_dt(r[11]),
                resolved_at=_dt(r[12]),
                response_met=None if r[13] is None else bool(r[13]),
                resolve_met=None if r[14] is None else bool(r[14]),
                site=labels.get("site"),
                department=labels.get("department"),
                history=tuple(history.get(int(r[0]), ())),
            )
        )
    return out


# -- series --------------------------------------------------------------------------------------------------


def _series(conn: sqlite3.Connection, device_id: str, metric: str) -> list[tuple[int, dict[str, str]]]:
    rows = conn.execute("SELECT id, labels FROM series WHERE device_id = ? AND metric = ?", (device_id, metric))
    return [(int(sid), json.loads(lab)) for sid, lab in rows.fetchall()]


def _window(
    conn: sqlite3.Connection, sid: int, lo: float, hi: float, *, prior: bool, changes_only: bool = False
) -> list[tuple[float, float]]:
    """Samples in ``[lo, hi)``, preceded by the last one before ``lo`` when ``prior``.

    ``changes_only`` keeps the first and last sample and those whose value differs from the one before: a
    page counter that did not move (nights, weekends) or a supply level that stayed put adds nothing, and a
    month of polls shrinks to the moves (exact for page sums; replacement detection sees the same levels).
    """
    out: list[tuple[float, float]] = []
    if prior:
        row = conn.execute(
            "SELECT ts, value FROM samples WHERE series_id = ? AND ts < ? ORDER BY ts DESC LIMIT 1", (sid, lo)
        ).fetchone()
        if row:
            out.append((float(row[0]), float(row[1])))
    if changes_only:
        q = conn.execute(
            "SELECT ts, value FROM (SELECT ts, value, LAG(value) OVER w AS prev, LEAD(ts) OVER w AS nxt"
            " FROM samples WHERE series_id = ? AND ts >= ? AND ts < ? WINDOW w AS (ORDER BY ts))"
            " WHERE prev IS NULL OR prev != value OR nxt IS NULL ORDER BY ts",
            (sid, lo, hi),
        )
    else:
        q = conn.execute(
            "SELECT ts, value FROM samples WHERE series_id = ? AND ts >= ? AND ts < ? ORDER BY ts", (sid, lo, hi)
        )
    out.extend((float(t), float(v)) for t, v in q.fetchall())
    return out


def up_polls(conn: sqlite3.Connection, device_id: str, lo: datetime, hi: datetime) -> list[tuple[datetime, bool]]:
    """``up`` readings in the window, with the last one before it."""
    if not has_table(conn, "samples"):
        return []
    out: list[tuple[float, float]] = []
    for sid, _ in _series(conn, device_id, "up"):
        out.extend(_window(conn, sid, lo.timestamp(), hi.timestamp(), prior=True))
    out.sort()
    return [(utc(t), v > 0) for t, v in out]


def page_counter(conn: sqlite3.Connection, device_id: str, lo: datetime, hi: datetime) -> list[tuple[float, float]]:
    if not has_table(conn, "samples"):
        return []
    for sid, lab in _series(conn, device_id, "page_count"):
        if lab.get("counter") == "total_pages":
            return _window(conn, sid, lo.timestamp(), hi.timestamp(), prior=True, changes_only=True)
    return []


@dataclass(frozen=True)
class Replacement:
    supply: str
    description: str
    type: str
    color: str | None
    at: datetime
    cause: str | None  # level_jump | cartridge_change | state_reset
    previous_end_level: float | None  # what the old unit had left (remaining %), an early swap when high
    previous_pages: float | None  # pages the old unit printed while we watched


@dataclass
class _SupplySeries:
    description: str
    type: str
    color: str | None
    supply_class: str
    rows: list[tuple[float, float, str | None]] = field(default_factory=list)  # ts, percent, part number


def _supply_series(conn: sqlite3.Connection, device_id: str, lo: float, hi: float) -> dict[str, _SupplySeries]:
    """supply_percent per supply index; a new part number is a new series, merged back here (as forecast.fleet)."""
    groups: dict[str, _SupplySeries] = {}
    for sid, lab in _series(conn, device_id, "supply_percent"):
        key = f"{lab.get('supply', '?')}|{lab.get('type', '?')}|{lab.get('color', '')}"
        g = groups.setdefault(
            key,
            _SupplySeries(
                lab.get("description", lab.get("supply", "?")),
                lab.get("type", "?"),
                lab.get("color"),
                lab.get("class", "consumed"),
            ),
        )
        rows = _window(conn, sid, lo, hi, prior=False, changes_only=True)
        g.rows.extend((t, v, lab.get("part_number")) for t, v in rows)
    for g in groups.values():
        g.rows.sort()
    return groups


def replacements(conn: sqlite3.Connection, device_id: str, lo: datetime, hi: datetime) -> list[Replacement]:
    """Supplies swapped in ``[lo, hi)`` (history read from ``SUPPLY_LOOKBACK`` before, so the jump is visible)."""
    if not has_table(conn, "samples"):
        return []
    start = (lo - SUPPLY_LOOKBACK).timestamp()
    pages = page_counter(conn, device_id, lo - SUPPLY_LOOKBACK, hi)
    times = [t for t, _ in pages]
    out = []
    for key, g in _supply_series(conn, device_id, start, hi.timestamp()).items():
        kind = SupplyKind.receptacle if g.supply_class == "receptacle" else SupplyKind.consumed
        samples = [SupplySample(t, v, _pages_at(pages, times, t), "ok", part) for t, v, part in g.rows]
        lives = detect_lives(samples, kind)
        for prev, life in itertools.pairwise(lives):
            at = utc(life.installed_at) if life.installed_at is not None else None
            if at is None or not lo <= at < hi:
                continue
            out.append(
                Replacement(
                    supply=key.split("|")[0],
                    description=g.description,
                    type=g.type,
                    color=g.color,
                    at=at,
                    cause=prev.cause,
                    previous_end_level=prev.end_level,
                    previous_pages=prev.pages_printed,
                )
            )
    out.sort(key=lambda r: (r.at, r.supply))
    return out


def _pages_at(pages: Sequence[tuple[float, float]], times: Sequence[float], ts: float) -> float | None:
    """The page counter of the same poll, else the latest before it (``times`` = the counter's timestamps)."""
    k = bisect.bisect_right(times, ts) - 1
    return pages[k][1] if k >= 0 else None


def latest_values(
    conn: sqlite3.Connection, device_id: str, metric: str, at: float, since: float
) -> list[tuple[dict[str, str], float, float]]:
    """Per series of ``metric``: (labels, ts, value) of the last sample in ``[since, at]``."""
    if not has_table(conn, "samples"):
        return []
    out = []
    for sid, lab in _series(conn, device_id, metric):
        row = conn.execute(
            "SELECT ts, value FROM samples WHERE series_id = ? AND ts <= ? AND ts >= ? ORDER BY ts DESC LIMIT 1",
            (sid, at, since),
        ).fetchone()
        if row:
            out.append((lab, float(row[0]), float(row[1])))
    return out


def latest_poll(conn: sqlite3.Connection, device_id: str) -> DevicePoll | None:
    if not has_table(conn, "devices"):
        return None
    row = conn.execute("SELECT latest_poll FROM devices WHERE device_id = ?", (device_id,)).fetchone()
    if row is None or row[0] is None:
        return None
    try:
        return DevicePoll.model_validate_json(row[0])
    except ValueError:
        return None  # an older wire version we cannot read: the samples still tell the story
