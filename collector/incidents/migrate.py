"""Copy the incident history from one incident database to another (SQLite file or PostgreSQL URL).

A team moving from one collector to several keeps its incident numbers and
its hash-chained audit log: those are what its maintenance contract records
point at. So the copy is verbatim (same numbers, ids, audit entries and
hashes), into an incident database that holds nothing yet, in one write
transaction on the target (``store.write``: the advisory lock every incident
writer takes), verified with ``audit.verify`` before it commits. Any failure
rolls the whole copy back; the target keeps at most the empty incident tables
``store.ensure_schema`` creates, as a collector would at start.

API tokens (``api_tokens``, only their hashes) move too, so the wall and ticket
bridges keep working against the collectors on the new database.

Identity counters follow the copy: the next incident on the target gets the
source's next number (a maintenance window deleted on the source does not
hand its id out again). The source is only read, in one snapshot.

Generic over ``db.dialect``: SQLite to PostgreSQL (the main case), and
SQLite to SQLite or PostgreSQL to SQLite (backup, rollback).
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from collector.incidents import audit, db, store
from collector.incidents.db import dialect
from collector.web import auth

#: Every incident table with its ordering key. Incidents and their audit log go first so that a
#: fault in a later table proves the rollback covers what was already inserted.
TABLES: dict[str, str] = {
    "incidents": "number",
    "incident_audit": "seq",
    "incident_alerts": "fingerprint",
    "incident_maintenance": "id",
    "incident_outbox": "id",
    "incident_deliveries": "outbox_id, channel",
    "api_tokens": "id",  # tokens live in the incident database (collector.web.auth): they move with it
}

#: Tables whose key the database hands out (AUTOINCREMENT / identity): their counter must follow the copy.
#: The audit log numbers itself (MAX(seq) + 1), it needs nothing.
IDENTITY: dict[str, str] = {"incidents": "number", "incident_maintenance": "id", "incident_outbox": "id"}


class MigrationError(Exception):
    """The migration was refused or failed; nothing was written to the target (the message says why)."""


@dataclass(frozen=True)
class TableData:
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    high_water: int = 0  # largest id the source ever handed out (identity tables), 0 otherwise


@dataclass
class Result:
    source: str  # redacted
    target: str  # redacted
    dry_run: bool
    tables: dict[str, int] = field(default_factory=dict)
    next_ids: dict[str, int] = field(default_factory=dict)
    audit: audit.Report | None = None

    def to_json(self) -> dict[str, Any]:
        report = self.audit
        return {
            "source": self.source,
            "target": self.target,
            "dry_run": self.dry_run,
            "tables": self.tables,
            "next_ids": self.next_ids,
            "audit": None
            if report is None
            else {"ok": report.ok, "entries": report.entries, "incidents": report.incidents, "head": report.head},
        }


# -- opening and identifying databases -------------------------------------------------------------------


def _sqlite_readonly(path: Path) -> sqlite3.Connection:
    """The source file opened read-only: the migration cannot change it even by accident."""
    conn = sqlite3.connect(
        f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=db.BUSY_TIMEOUT_MS / 1000, isolation_level=None
    )
    conn.row_factory = sqlite3.Row
    return conn


def open_source(source: str | os.PathLike[str]) -> Any:
    if db.is_url(source):
        return _connect_pg(str(source))
    path = Path(source)
    if not path.is_file():
        raise MigrationError(f"no incident database at {path}")
    return _sqlite_readonly(path)


def _connect_pg(url: str) -> Any:
    try:
        return db.connect_raw(url)
    except Exception as exc:  # psycopg.OperationalError and friends: say where, never the password
        raise MigrationError(f"cannot open incident database {db.redact(url)}: {exc}") from exc


def _identity(conn: Any, target: str | os.PathLike[str]) -> tuple[str, ...]:
    """What makes two connections the same database, whatever the URL spelling (host alias, password)."""
    if dialect(conn) == "postgresql":
        row = conn.execute(
            "SELECT current_database(), pg_postmaster_start_time()::text, current_setting('port')"
        ).fetchone()
        return ("postgresql", *(str(v) for v in row))
    return ("sqlite", str(Path(target).resolve()))


def _has_table(conn: Any, table: str) -> bool:
    if dialect(conn) == "postgresql":
        return conn.execute("SELECT to_regclass(?) IS NOT NULL", (table,)).fetchone()[0]
    row = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()
    return row is not None


def _counts(conn: Any) -> dict[str, int]:
    """Rows per incident table (a missing table counts 0)."""
    return {
        t: int(conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]) if _has_table(conn, t) else 0 for t in TABLES
    }


def _refuse_non_empty(conn: Any, target: str) -> None:
    held = {t: n for t, n in _counts(conn).items() if n}
    if held:
        what = ", ".join(f"{n} {t}" for t, n in held.items())
        raise MigrationError(
            f"target {target} already holds incident data ({what}); migrate only into an empty database"
        )


# -- reading the source ------------------------------------------------------------------------------------


def _high_water(conn: Any, table: str, column: str, rows_max: int) -> int:
    """The largest id the source handed out: its AUTOINCREMENT / identity counter, at least the largest row id."""
    if dialect(conn) == "postgresql":
        seq = conn.execute("SELECT pg_get_serial_sequence(?, ?)", (table, column)).fetchone()[0]
        if seq is None:
            return rows_max
        last, called = conn.execute(f"SELECT last_value, is_called FROM {seq}").fetchone()
        return max(rows_max, int(last) if called else int(last) - 1)
    if not _has_table(conn, "sqlite_sequence"):
        return rows_max
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).fetchone()
    return max(rows_max, int(row[0]) if row else 0)


def read_source(conn: Any) -> dict[str, TableData]:
    """Every incident table, in one consistent snapshot (a collector still writing cannot tear it)."""
    pg = dialect(conn) == "postgresql"
    conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" if pg else "BEGIN")
    try:
        out: dict[str, TableData] = {}
        for table, order in TABLES.items():
            if not _has_table(conn, table):
                out[table] = TableData((), [])
                continue
            cur = conn.execute(f"SELECT * FROM {table} ORDER BY {order}")
            columns = tuple(d[0] for d in cur.description)
            rows = [tuple(r) for r in cur.fetchall()]
            hw = 0
            if table in IDENTITY:
                col = IDENTITY[table]
                rows_max = max((int(r[columns.index(col)]) for r in rows), default=0)
                hw = _high_water(conn, table, col, rows_max)
            out[table] = TableData(columns, rows, hw)
        return out
    finally:
        conn.execute("ROLLBACK")


# -- writing the target ------------------------------------------------------------------------------------


def _insert_all(conn: Any, table: str, data: TableData) -> None:
    if not data.rows:
        return
    sql = f"INSERT INTO {table} ({', '.join(data.columns)}) VALUES ({', '.join('?' * len(data.columns))})"
    if dialect(conn) == "postgresql":
        with conn.raw.cursor() as cur:  # one pipelined round trip per batch, not one per row
            cur.executemany(db.translate(sql), data.rows)
    else:
        conn.executemany(sql, data.rows)


def _advance_counters(conn: Any, data: dict[str, TableData]) -> dict[str, int]:
    """Move each identity counter past the source's high-water mark; returns the next id per table.

    Inside the copy's transaction: ALTER SEQUENCE (PostgreSQL) and sqlite_sequence (SQLite) roll back with it.
    """
    nxt: dict[str, int] = {}
    for table, column in IDENTITY.items():
        hw = data[table].high_water
        nxt[table] = hw + 1
        if hw == 0:
            continue
        if dialect(conn) == "postgresql":
            seq = conn.execute("SELECT pg_get_serial_sequence(?, ?)", (table, column)).fetchone()[0]
            if seq is None:
                raise MigrationError(f"target table {table}.{column} has no identity sequence")
            conn.execute(f"ALTER SEQUENCE {seq} RESTART WITH {int(hw) + 1}")
        else:
            # Explicit ids already raised sqlite_sequence to the largest row; the source may have handed out more.
            if conn.execute("UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = ?", (hw, table)).rowcount == 0:
                conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (table, hw))
    return nxt


def _write_target(conn: Any, target: str, data: dict[str, TableData]) -> tuple[dict[str, int], audit.Report]:
    with store.write(conn):
        _refuse_non_empty(conn, target)  # again, under the lock: a collector may have started meanwhile
        for table, rows in data.items():
            try:
                _insert_all(conn, table, rows)
            except MigrationError:
                raise
            except Exception as exc:  # sqlite3.Error, psycopg.Error: the row the target's schema refuses
                raise MigrationError(f"copying {table} failed, nothing was written: {exc}") from exc
        report = audit.verify(conn, store.raw_rows(conn))
        if not report.ok:
            problems = "; ".join(str(p) for p in report.problems[:5])
            raise MigrationError(
                f"audit chain does not verify on the target ({len(report.problems)} problems: {problems}); "
                "nothing was written (run `fleetwatch audit verify` on the source)"
            )
        nxt = _advance_counters(conn, data)
    return nxt, report


def migrate(source: str | os.PathLike[str], target: str | os.PathLike[str], *, dry_run: bool = False) -> Result:
    """Copy every incident table from ``source`` to the empty ``target``; raises MigrationError on refusal/failure."""
    src_name, dst_name = db.redact(source), db.redact(target)
    result = Result(source=src_name, target=dst_name, dry_run=dry_run)
    src = open_source(source)
    try:
        if not db.is_url(target) and not Path(target).exists():
            dst = None  # a new SQLite file: created only when there is something to write
        else:
            dst = _connect_pg(str(target)) if db.is_url(target) else db.connect_raw(target)
        try:
            if (dst is None and Path(target).resolve() == Path(str(source)).resolve()) or (
                dst is not None and _identity(src, source) == _identity(dst, target)
            ):
                raise MigrationError(f"source and target are the same database ({dst_name})")
            if dst is not None:
                _refuse_non_empty(dst, dst_name)
            data = read_source(src)
            result.tables = {t: len(d.rows) for t, d in data.items()}
            result.next_ids = {t: data[t].high_water + 1 for t in IDENTITY}
            if dry_run:
                return result
            if dst is None:
                dst = db.connect_raw(target)
            store.ensure_schema(dst)
            auth.ensure_schema(dst)
            result.next_ids, result.audit = _write_target(dst, dst_name, data)
            return result
        finally:
            if dst is not None:
                dst.close()
    finally:
        src.close()
