"""Persistence for incidents: the collector's SQLite file, or a PostgreSQL database shared by collectors.

This module owns the ``incident*`` tables and nothing else. Every write is
one serialized transaction (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: a
transaction-scoped advisory lock every incident writer takes first), so
collectors and CLI commands in other processes serialize cleanly, each change
re-reads what it changes, and the audit chain never forks. An incident row
and its audit entry are always written together. The schema also refuses a
second active incident for one fingerprint (partial unique index).
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from collector.incidents import audit, db
from collector.incidents.db import BUSY_TIMEOUT_MS, dialect
from collector.incidents.model import Incident, State, iso

log = logging.getLogger(__name__)

#: Key of the PostgreSQL advisory lock every incident write transaction takes (any fixed 64-bit number;
#: this one is "fleetwat" in ASCII). Schema creation takes it too, so concurrent starts do not collide.
WRITE_LOCK_KEY = 0x666C656574776174

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


#: At most one active incident per fingerprint, whoever writes (collectors, CLI, API).
ONE_ACTIVE_INDEX = (
    "CREATE UNIQUE INDEX IF NOT EXISTS incidents_one_active ON incidents(fingerprint)"
    " WHERE state IN ('open', 'acknowledged', 'in_progress')"
)


def schema(dialect_name: str) -> str:
    """The DDL for one backend: written once, identity columns spelled per dialect."""
    ddl = SCHEMA + audit.SCHEMA
    if dialect_name == "postgresql":
        ddl = ddl.replace("INTEGER PRIMARY KEY AUTOINCREMENT", "INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY")
    return ddl


def ensure_schema(conn: Any) -> None:
    """Create the incident tables if missing (idempotent; touches no other table)."""
    if dialect(conn) == "postgresql":
        with write(conn):  # the advisory lock: two collectors starting at once do not race on CREATE
            conn.executescript(schema("postgresql"))
            conn.execute(ONE_ACTIVE_INDEX)
        return
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    # Per connection. In WAL mode a commit stays atomic (the audit chain never tears) and survives a
    # process crash; only the last transactions before a power cut may be lost. ~1 ms per event.
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.executescript(schema("sqlite"))
    try:
        conn.execute(ONE_ACTIVE_INDEX)
    except sqlite3.IntegrityError:
        # A file written before the index existed may hold two active incidents for one fault (a person
        # reopened an old one). Keep running on the write lock alone and say what to fix.
        dups = conn.execute(
            "SELECT fingerprint, GROUP_CONCAT(number) FROM incidents"
            " WHERE state IN ('open', 'acknowledged', 'in_progress') GROUP BY fingerprint HAVING COUNT(*) > 1"
        ).fetchall()
        log.error(
            "incidents: several active incidents for one fault (%s); resolve the extra ones, then restart",
            "; ".join(f"{fp}: #{nums}" for fp, nums in dups),
        )


def connect(target: str | os.PathLike[str]) -> Any:
    """Autocommit connection (transactions are explicit), named rows, schema ensured.

    ``target``: a SQLite file path, or a ``postgresql://`` URL (see ``collector.incidents.db``).
    """
    conn = db.connect_raw(target)
    ensure_schema(conn)
    return conn


@contextmanager
def write(conn: Any) -> Iterator[Any]:
    """One serialized write transaction.

    SQLite: BEGIN IMMEDIATE takes the write lock up front. PostgreSQL: every incident writer takes the
    same transaction-scoped advisory lock first, so writers queue exactly as on SQLite and each statement
    after the lock sees everything the previous writer committed (READ COMMITTED).
    """
    if dialect(conn) == "postgresql":
        conn.execute("BEGIN")
        try:
            conn.execute("SELECT pg_advisory_xact_lock(?)", (WRITE_LOCK_KEY,))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    else:
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


def from_db(row: Any) -> Incident:
    d = dict(row)
    for k in JSON_FIELDS:
        d[k] = json.loads(d[k])
    for k in BOOL_FIELDS:
        d[k] = None if d[k] is None else bool(d[k])
    return Incident.from_row(d)


def save(
    conn: Any,
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
        (number,) = conn.execute(
            f"INSERT INTO incidents ({cols}) VALUES ({', '.join('?' * len(row))}) RETURNING number",
            tuple(row.values()),
        ).fetchone()
        inc = inc.model_copy(update={"number": int(number)})
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


def get(conn: Any, number: int) -> Incident | None:
    row = conn.execute("SELECT * FROM incidents WHERE number = ?", (number,)).fetchone()
    return from_db(row) if row else None


def latest_for(conn: Any, fingerprint: str) -> Incident | None:
    row = conn.execute(
        "SELECT * FROM incidents WHERE fingerprint = ? ORDER BY number DESC LIMIT 1", (fingerprint,)
    ).fetchone()
    return from_db(row) if row else None


def current_for(conn: Any, fingerprint: str) -> Incident | None:
    """The fault's active incident (at most one: the schema says so), else its latest one."""
    row = conn.execute(
        "SELECT * FROM incidents WHERE fingerprint = ? AND state IN (?, ?, ?) LIMIT 1",
        (fingerprint, State.open.value, State.acknowledged.value, State.in_progress.value),
    ).fetchone()
    return from_db(row) if row else latest_for(conn, fingerprint)


def active(conn: Any) -> list[Incident]:
    qs = ",".join("?" * 3)
    rows = conn.execute(
        f"SELECT * FROM incidents WHERE state IN ({qs}) ORDER BY number",
        (State.open.value, State.acknowledged.value, State.in_progress.value),
    ).fetchall()
    return [from_db(r) for r in rows]


def query(conn: Any, *, state: str | None = None, severity: str | None = None) -> list[Incident]:
    where, args = [], []
    if state:
        where.append("state = ?")
        args.append(state)
    if severity:
        where.append("severity = ?")
        args.append(severity)
    sql = "SELECT * FROM incidents" + (f" WHERE {' AND '.join(where)}" if where else "") + " ORDER BY number"
    return [from_db(r) for r in conn.execute(sql, args).fetchall()]


def raw_rows(conn: Any) -> dict[int, dict[str, Any]]:
    """Incident rows exactly as stored, for ``audit.verify``."""
    return {int(r["number"]): dict(r) for r in conn.execute("SELECT * FROM incidents").fetchall()}
