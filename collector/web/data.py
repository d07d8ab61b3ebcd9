"""Reads the web side needs from the collector's SQLite file.

Everything here takes a connection (read-only for pages and the API, so a
slow browser never holds the collector's write lock) and returns plain
values; the incident rows themselves come from ``collector.incidents.store``.

Incident state may live elsewhere (a PostgreSQL database shared by several
collectors): the incident readers below take the collector's connection all
the same and read through ``incident_db.incident_conn_for`` it; the API opens
incident connections with ``incident_reading`` / ``incident_writing``. API tokens
live in the incident database too (``token_reading`` / ``token_writing``).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from collector.incidents import db as incident_db
from collector.incidents import maintenance, store
from collector.incidents.model import DeviceInfo, Incident
from collector.storage.sqlite import SCHEMA as STORAGE_SCHEMA
from collector.web import auth
from collector.web.wall import DeviceIn, IncidentIn

#: device_id -> supply index -> days to empty (None when the forecaster has no number).
ForecastSource = Callable[[sqlite3.Connection, float], Mapping[str, Mapping[str, float | None]]]


def open_read(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


def open_write(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


@contextmanager
def reading(path: Path):  # type: ignore[no-untyped-def]
    conn = open_read(path)
    try:
        yield conn
    finally:
        conn.close()


@contextmanager
def writing(path: Path):  # type: ignore[no-untyped-def]
    conn = open_write(path)
    try:
        yield conn
    finally:
        conn.close()


def ensure_schema(path: Path) -> None:
    """Tables the web side reads or writes, so it also runs against a database no collector wrote yet."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=10, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA busy_timeout=10000")
        conn.executescript(STORAGE_SCHEMA)
        store.ensure_schema(conn)
        auth.ensure_schema(conn)
    finally:
        conn.close()


@contextmanager
def incident_reading(path: Path):  # type: ignore[no-untyped-def]
    """A connection to read incident state for the collector database at ``path`` (SQLite read-only, or shared PG)."""
    target = incident_db.target_for(path)
    if incident_db.is_url(target):
        yield incident_db.shared(target)  # long-lived, thread-safe for reads; not closed here
        return
    with reading(Path(target)) as conn:
        yield conn


@contextmanager
def incident_writing(path: Path):  # type: ignore[no-untyped-def]
    """A connection of its own for one incident action (its write transaction must not share a connection)."""
    target = incident_db.target_for(path)
    if not incident_db.is_url(target):
        with writing(Path(target)) as conn:
            yield conn
        return
    conn = incident_db.connect_raw(target)
    try:
        yield conn
    finally:
        conn.close()


_tokens_ready: set[str] = set()
_tokens_lock = threading.Lock()


def _ensure_tokens(path: Path) -> str | Path:
    """The incident database's ``api_tokens`` table, created once per process per target before first use."""
    target = incident_db.target_for(path)
    key = str(target) if incident_db.is_url(target) else str(Path(target).resolve())
    with _tokens_lock:
        if key not in _tokens_ready:
            if incident_db.is_url(target):
                auth.ensure_schema(incident_db.shared(target))
            else:
                with writing(Path(target)) as conn:
                    auth.ensure_schema(conn)
            _tokens_ready.add(key)
    return target


@contextmanager
def token_reading(path: Path):  # type: ignore[no-untyped-def]
    """A connection to read API tokens for the collector database at ``path``: they live in the incident database,
    so every collector sharing one sees the same tokens."""
    _ensure_tokens(path)
    with incident_reading(path) as conn:
        yield conn


@contextmanager
def token_writing(path: Path):  # type: ignore[no-untyped-def]
    """A connection to create, revoke or touch API tokens (single statements, autocommit)."""
    _ensure_tokens(path)
    with incident_writing(path) as conn:
        yield conn


# -- incidents ---------------------------------------------------------------------------------------------------


def active_incidents(conn: sqlite3.Connection) -> list[Incident]:
    return store.active(incident_db.incident_conn_for(conn))


def wall_incidents(conn: sqlite3.Connection) -> list[IncidentIn]:
    """Only the columns the wall uses: skips parsing notes, readings and escalations of every open incident."""
    rows = (
        incident_db.incident_conn_for(conn)
        .execute(
            "SELECT number, device, severity, state, summary, opened_at, response_due, resolve_due, acknowledged_at,"
            " response_met, resolve_met, assignee, inventory"
            " FROM incidents WHERE state IN ('open', 'acknowledged', 'in_progress')"
        )
        .fetchall()
    )

    def ts(s: str | None) -> float:
        return datetime.fromisoformat(str(s).replace("Z", "+00:00")).timestamp() if s else 0.0

    return [
        IncidentIn(
            number=r["number"],
            device=r["device"],
            severity=r["severity"],
            state=r["state"],
            summary=r["summary"] or "",
            opened_at=ts(r["opened_at"]),
            response_due=ts(r["response_due"]),
            resolve_due=ts(r["resolve_due"]),
            acknowledged=r["acknowledged_at"] is not None,
            response_met=None if r["response_met"] is None else bool(r["response_met"]),
            resolve_met=None if r["resolve_met"] is None else bool(r["resolve_met"]),
            assignee=r["assignee"],
            labels=_inventory_labels(r["inventory"]),
        )
        for r in rows
    ]


def _inventory_labels(text: str | None) -> dict[str, str]:
    try:
        labels = json.loads(text or "{}").get("labels") or {}
    except (ValueError, AttributeError):
        return {}
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


def open_by_severity(conn: sqlite3.Connection) -> dict[str, int]:
    rows = (
        incident_db.incident_conn_for(conn)
        .execute(
            "SELECT severity, COUNT(*) FROM incidents WHERE state IN ('open', 'acknowledged', 'in_progress')"
            " GROUP BY severity"
        )
        .fetchall()
    )
    return {r[0]: int(r[1]) for r in rows}


def worst_open(conn: sqlite3.Connection) -> dict[str, tuple[str, int]]:
    """device -> (worst open severity, number of open incidents)."""
    rows = (
        incident_db.incident_conn_for(conn)
        .execute(
            "SELECT device, MIN(severity), COUNT(*) FROM incidents"
            " WHERE state IN ('open', 'acknowledged', 'in_progress') GROUP BY device"
        )
        .fetchall()
    )
    return {r[0]: (r[1], int(r[2])) for r in rows}


# -- devices -----------------------------------------------------------------------------------------------------


def wall_devices(conn: sqlite3.Connection) -> list[DeviceIn]:
    """Devices with only the supplies of their latest poll (json_extract avoids parsing whole polls)."""
    rows = conn.execute(
        "SELECT device_id, sys_name, labels, reachable, address, model,"
        " json_extract(latest_poll, '$.supplies') AS supplies FROM devices ORDER BY device_id"
    ).fetchall()
    out = []
    for r in rows:
        supplies = json.loads(r["supplies"]) if r["supplies"] else []
        out.append(
            DeviceIn(
                device_id=r["device_id"],
                # The operator's name for the device (agent config), not the SNMP sysName: that is the name
                # incidents, tickets and the CLI use, so a person finds the same device everywhere.
                name=r["device_id"],
                labels=json.loads(r["labels"] or "{}"),
                reachable=bool(r["reachable"]),
                address=r["address"],
                model=r["model"],
                supplies=supplies,
            )
        )
    return out


def in_maintenance(conn: sqlite3.Connection, devices: list[tuple[str, Mapping[str, str]]], now: float) -> set[str]:
    """Devices covered by a maintenance window active at ``now``."""
    when = datetime.fromtimestamp(now, UTC)
    windows = [w for w in maintenance.load(incident_db.incident_conn_for(conn)) if w.active_at(when)]
    if not windows:
        return set()
    covered = set()
    for device_id, labels in devices:
        info = DeviceInfo(device_id=device_id, labels=dict(labels))
        if any(w.covers(info) for w in windows):
            covered.add(device_id)
    return covered


def local_midnight(now: float) -> float:
    """Start of the collector host's local day containing ``now``."""
    t = time.localtime(now)
    return time.mktime((t.tm_year, t.tm_mon, t.tm_mday, 0, 0, 0, 0, 0, -1))


def availability_since(conn: sqlite3.Connection, since: float) -> dict[str, float]:
    """device -> share of its polls since ``since`` that found it up (the ``up`` series, 0 or 1 per poll).

    Per poll, not per second: with a steady poll interval the two agree, and
    it needs no assumption about how long a missing poll lasted.
    """
    rows = conn.execute(
        "SELECT s.device_id, AVG(x.value) FROM series s JOIN samples x ON x.series_id = s.id"
        " WHERE s.metric = 'up' AND x.ts >= ? GROUP BY s.device_id",
        (since,),
    ).fetchall()
    return {r[0]: float(r[1]) for r in rows if r[1] is not None}


def inventory_events(conn: sqlite3.Connection, device_id: str, limit: int = 50) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT ts, kind, detail FROM inventory_events WHERE device_id = ? ORDER BY id DESC LIMIT ?",
        (device_id, limit),
    ).fetchall()
    return [{"ts": r[0], "kind": r[1], "detail": json.loads(r[2])} for r in rows]
