"""SQLite persistence for incidents, in the collector's database file.

This module owns the ``incident*`` tables and nothing else. Every write is a
``BEGIN IMMEDIATE`` transaction, so the collector and a CLI command running
in another process serialize cleanly (and the audit chain never forks).
An incident row and its audit entry are always written together.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from collector.incidents import audit
from collector.incidents.model import Incident, State, iso

BUSY_TIMEOUT_MS = 10_000

#: Incident fields stored as JSON text; booleans are stored as 0/1.
JSON_FIELDS = ("inventory", "alert_labels", "readings", "notes", "escalations")
BOOL_FIELDS = ("response_met", "resolve_met", "auto_resolve", "alert_firing")

_INCIDENT_COLUMNS = {
    "number": "INTEGER PRIMARY KEY AUTOINCREMENT",
    "occurrences": "INTEGER NOT NULL",
    "repeat_count": "INTEGER NOT NULL",
    "audit_seq": "INTEGER NOT NULL",
    **dict.fromkeys(BOOL_FIELDS, "INTEGER"),
}

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS incidents (
    {", ".join(f"{name} {_INCIDENT_COLUMNS.get(name, 'TEXT')}" for name in Incident.model_fields)}
);
CREATE INDEX IF NOT EXISTS incidents_fingerprint ON incidents(fingerprint, number);
CREATE INDEX IF NOT EXISTS incidents_state ON incidents(state);

-- Latest state of every alert the manager was told about; held (suppressed) alerts stay visible here.
CREATE TABLE IF NOT EXISTS incident_alerts (
    fingerprint TEXT PRIMARY KEY,
    device TEXT NOT NULL,
    rule TEXT NOT NULL,
    severity TEXT NOT NULL,
    state TEXT NOT NULL,               -- firing | resolved
    suppresses_device INTEGER NOT NULL,
    event TEXT NOT NULL,               -- the last AlertEvent (JSON), to open it when suppression ends
    device_info TEXT NOT NULL,         -- DeviceInfo (JSON) as last seen
    first_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    held_reason TEXT,                  -- why no incident was opened (NULL: not held)
    held_since TEXT,
    incident INTEGER                   -- the incident it opened or joined
);
CREATE INDEX IF NOT EXISTS incident_alerts_device ON incident_alerts(device, state);

CREATE TABLE IF NOT EXISTS incident_maintenance (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    scope TEXT NOT NULL,               -- device | label | site
    match TEXT NOT NULL,               -- device id, "key=value", or site name
    starts_at TEXT NOT NULL,
    ends_at TEXT,                      -- one-off window end
    rrule TEXT,                        -- recurring: RFC 5545 RRULE, occurrences from starts_at
    duration_s INTEGER,                -- recurring: length of each occurrence
    timezone TEXT NOT NULL,            -- recurring: wall-clock zone of the occurrences
    reason TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT
);

-- Lifecycle events to announce; written in the same transaction as the change (CLI included).
CREATE TABLE IF NOT EXISTS incident_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,          -- idempotency key base, stable across retries
    incident INTEGER NOT NULL,
    event TEXT NOT NULL,               -- open | reopen | acknowledge | escalate | resolve
    channels TEXT,                     -- JSON list (escalation step) or NULL = use the policy's routes
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL,
    routed_at TEXT                     -- when deliveries were created for it
);
CREATE TABLE IF NOT EXISTS incident_deliveries (
    outbox_id INTEGER NOT NULL,
    channel TEXT NOT NULL,
    key TEXT NOT NULL UNIQUE,          -- sent as Idempotency-Key / Message-ID
    status TEXT NOT NULL,              -- pending | delivered | rejected
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at TEXT NOT NULL,
    delivered_at TEXT,
    last_error TEXT,
    PRIMARY KEY (outbox_id, channel)
);
CREATE INDEX IF NOT EXISTS incident_deliveries_pending ON incident_deliveries(status, next_at);
"""


def ensure_schema(conn: sqlite3.Connection) -> None:
    """Create the incident tables if missing (idempotent; touches no other table)."""
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    # Per connection. In WAL mode a commit stays atomic (the audit chain never tears) and survives a
    # process crash; only the last transactions before a power cut may be lost. ~1 ms per event.
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.executescript(SCHEMA + audit.SCHEMA)


def connect(db_path: str | Path) -> sqlite3.Connection:
    """Autocommit connection (transactions are explicit), dict-like rows, schema ensured."""
    Path(db_path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(db_path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    conn.row_factory = sqlite3.Row
    ensure_schema(conn)
    return conn


@contextmanager
def write(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One serialized write transaction (BEGIN IMMEDIATE takes the write lock up front)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def to_db(inc: Incident) -> dict[str, Any]:
    row = inc.to_row()
    for k in JSON_FIELDS:
        row[k] = audit.canonical(row[k])
    for k in BOOL_FIELDS:
        row[k] = None if row[k] is None else int(row[k])
    return row


def from_db(row: sqlite3.Row | dict[str, Any]) -> Incident:
    d = dict(row)
    for k in JSON_FIELDS:
        d[k] = json.loads(d[k])
    for k in BOOL_FIELDS:
        d[k] = None if d[k] is None else bool(d[k])
    return Incident.from_row(d)


def save(
    conn: sqlite3.Connection,
    inc: Incident,
    *,
    action: str,
    actor: str,
    data: dict[str, Any] | None = None,
) -> Incident:
    """Insert or update the row and append its audit entry. Call inside ``write()``.

    Returns the incident as stored (number and audit_seq filled in).
    """
    seq = audit.next_seq(conn)
    inc = inc.model_copy(update={"audit_seq": seq})
    row = to_db(inc)
    if inc.number == 0:
        del row["number"]
        cols = ", ".join(row)
        cur = conn.execute(f"INSERT INTO incidents ({cols}) VALUES ({', '.join('?' * len(row))})", tuple(row.values()))
        number = int(cur.lastrowid or 0)
        inc = inc.model_copy(update={"number": number})
        row = to_db(inc)
    else:
        sets = ", ".join(f"{k} = ?" for k in row if k != "number")
        conn.execute(
            f"UPDATE incidents SET {sets} WHERE number = ?",
            (*(v for k, v in row.items() if k != "number"), inc.number),
        )
    audit.append(
        conn,
        seq=seq,
        at=iso(inc.updated_at) or "",
        incident=inc.number,
        actor=actor,
        action=action,
        data=data or {},
        snapshot=row,
    )
    return inc


def get(conn: sqlite3.Connection, number: int) -> Incident | None:
    row = conn.execute("SELECT * FROM incidents WHERE number = ?", (number,)).fetchone()
    return from_db(row) if row else None


def latest_for(conn: sqlite3.Connection, fingerprint: str) -> Incident | None:
    row = conn.execute(
        "SELECT * FROM incidents WHERE fingerprint = ? ORDER BY number DESC LIMIT 1", (fingerprint,)
    ).fetchone()
    return from_db(row) if row else None


def active(conn: sqlite3.Connection) -> list[Incident]:
    qs = ",".join("?" * 3)
    rows = conn.execute(
        f"SELECT * FROM incidents WHERE state IN ({qs}) ORDER BY number",
        (State.open.value, State.acknowledged.value, State.in_progress.value),
    ).fetchall()
    return [from_db(r) for r in rows]


def query(conn: sqlite3.Connection, *, state: str | None = None, severity: str | None = None) -> list[Incident]:
    where, args = [], []
    if state:
        where.append("state = ?")
        args.append(state)
    if severity:
        where.append("severity = ?")
        args.append(severity)
    sql = "SELECT * FROM incidents" + (f" WHERE {' AND '.join(where)}" if where else "") + " ORDER BY number"
    return [from_db(r) for r in conn.execute(sql, args).fetchall()]


def raw_rows(conn: sqlite3.Connection) -> dict[int, dict[str, Any]]:
    """Incident rows exactly as stored, for ``audit.verify``."""
    return {int(r["number"]): dict(r) for r in conn.execute("SELECT * FROM incidents").fetchall()}
