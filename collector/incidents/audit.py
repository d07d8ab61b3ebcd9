"""Append-only, hash-chained audit log of every incident change.

Each entry carries the sha256 of the previous entry (canonical JSON), its own
hash, and a snapshot of the incident row it wrote; the row in turn carries
the ``audit_seq`` of that entry. So ``verify`` detects an edited entry (hash),
a deleted or reordered entry (sequence gap / broken ``prev_hash``), and an
incident row edited, deleted or inserted behind the log's back (row differs
from its last snapshot, or points at a missing entry). What it cannot detect
on its own is the removal of the newest entries *together with* the rows
they wrote; record the head hash printed by ``audit verify`` elsewhere if
that matters.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64

SCHEMA = """
CREATE TABLE IF NOT EXISTS incident_audit (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    incident INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    data TEXT NOT NULL,
    snapshot TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS incident_audit_incident ON incident_audit(incident, seq);
"""


def canonical(obj: Any) -> str:
    """One byte sequence per value: sorted keys, no whitespace, UTF-8 kept as is."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(entry: dict[str, Any]) -> str:
    body = {k: entry[k] for k in ("seq", "at", "incident", "actor", "action", "data", "snapshot", "prev_hash")}
    return hashlib.sha256(canonical(body).encode()).hexdigest()


@dataclass(frozen=True)
class Entry:
    seq: int
    at: str
    incident: int
    actor: str
    action: str
    data: dict[str, Any]


def next_seq(conn: Any) -> int:
    """Call inside the ``store.write`` transaction that will append (it serializes appenders)."""
    (last,) = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM incident_audit").fetchone()
    return int(last) + 1


def _hashed(
    seq: int,
    at: str,
    incident: int,
    actor: str,
    action: str,
    data: dict[str, Any],
    snapshot: dict[str, Any],
    prev_hash: str,
) -> dict[str, Any]:
    """What an entry's hash covers: written by ``append`` and recomputed by ``verify`` from this one place."""
    return {
        "seq": seq,
        "at": at,
        "incident": incident,
        "actor": actor,
        "action": action,
        "data": data,
        "snapshot": snapshot,
        "prev_hash": prev_hash,
    }


def append(
    conn: Any,
    *,
    seq: int,
    at: str,
    incident: int,
    actor: str,
    action: str,
    data: dict[str, Any],
    snapshot: dict[str, Any],
) -> str:
    row = conn.execute("SELECT seq, hash FROM incident_audit ORDER BY seq DESC LIMIT 1").fetchone()
    prev = row[1] if row else GENESIS
    if row and row[0] != seq - 1:
        raise RuntimeError(f"audit seq {seq} does not follow {row[0]}: append outside the write transaction?")
    h = entry_hash(_hashed(seq, at, incident, actor, action, data, snapshot, prev))
    conn.execute(
        "INSERT INTO incident_audit (seq, at, incident, actor, action, data, snapshot, prev_hash, hash)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (seq, at, incident, actor, action, canonical(data), canonical(snapshot), prev, h),
    )
    return h


def timeline(conn: Any, incident: int) -> list[Entry]:
    rows = conn.execute(
        "SELECT seq, at, incident, actor, action, data FROM incident_audit WHERE incident = ? ORDER BY seq",
        (incident,),
    ).fetchall()
    return [Entry(r[0], r[1], r[2], r[3], r[4], json.loads(r[5])) for r in rows]


@dataclass(frozen=True)
class Problem:
    seq: int | None  # the audit entry concerned (None: an incident row problem)
    incident: int | None
    message: str

    def __str__(self) -> str:
        where = f"entry {self.seq}" if self.seq is not None else f"incident {self.incident}"
        if self.seq is not None and self.incident is not None:
            where += f" (incident {self.incident})"
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class Report:
    entries: int
    incidents: int
    head: str
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(conn: Any, incident_rows: dict[int, dict[str, Any]]) -> Report:
    """Walk the chain, then compare every incident row with the snapshot of its last entry."""
    problems: list[Problem] = []
    prev_hash = GENESIS
    expected_seq = 1
    last_snapshot: dict[int, tuple[int, dict[str, Any]]] = {}
    n = 0
    cur = conn.execute(
        "SELECT seq, at, incident, actor, action, data, snapshot, prev_hash, hash FROM incident_audit ORDER BY seq"
    )
    for seq, at, incident, actor, action, data, snapshot, prev, stored_hash in cur:
        n += 1
        if seq != expected_seq:
            missing = (
                f"entry {expected_seq} is" if seq == expected_seq + 1 else f"entries {expected_seq}..{seq - 1} are"
            )
            problems.append(Problem(seq, incident, f"{missing} missing before it (deleted)"))
        try:
            entry = _hashed(seq, at, incident, actor, action, json.loads(data), json.loads(snapshot), prev)
        except (json.JSONDecodeError, TypeError):
            problems.append(Problem(seq, incident, "data or snapshot is not valid JSON (edited)"))
            prev_hash, expected_seq = stored_hash, seq + 1
            continue
        if entry_hash(entry) != stored_hash:
            problems.append(Problem(seq, incident, f"content does not match its hash (entry edited: {action})"))
        elif prev != prev_hash:
            problems.append(
                Problem(seq, incident, "prev_hash does not match the entry before it (entries deleted or reordered)")
            )
        last_snapshot[incident] = (seq, entry["snapshot"])
        prev_hash, expected_seq = stored_hash, seq + 1

    for number, row in sorted(incident_rows.items()):
        if number not in last_snapshot:
            problems.append(Problem(None, number, "row has no audit entry (inserted outside fleetwatch)"))
            continue
        seq, snap = last_snapshot[number]
        if row.get("audit_seq") != seq:
            problems.append(Problem(None, number, f"row claims audit entry {row.get('audit_seq')}, log ends at {seq}"))
        changed = sorted(k for k in set(row) | set(snap) if row.get(k) != snap.get(k))
        if changed:
            problems.append(
                Problem(None, number, f"row differs from audit entry {seq} in {', '.join(changed)} (edited directly)")
            )
    for number, (seq, _) in sorted(last_snapshot.items()):
        if number not in incident_rows:
            problems.append(Problem(seq, number, "incident is in the log but its row is gone (deleted)"))
    return Report(entries=n, incidents=len(incident_rows), head=prev_hash, problems=problems)
