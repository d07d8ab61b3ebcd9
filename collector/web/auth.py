"""API tokens: who may read, act on incidents, or administer the collector.

A token is ``fw_<id>_<secret>``. Only the sha256 of the secret is stored (in
``api_tokens``), so a copied database gives no usable token; the clear token is
shown once, when it is created. The id part lets a lookup hit the primary key
instead of hashing against every row.

The table lives in the incident database (``collector.incidents.db``): the
collector's SQLite file by default, or the PostgreSQL database several
collectors share, so behind a load balancer a token made on one collector
works on all of them and a revoke applies everywhere. The functions take
either connection (``?`` placeholders on both).

Roles are ordered: an admin can do what an operator can, an operator what a
viewer can.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from collector.incidents import store
from collector.incidents.db import dialect

_DDL = """
CREATE TABLE IF NOT EXISTS api_tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL,
    created_at {ts} NOT NULL,
    last_used_at {ts},
    revoked_at {ts}
);
"""


def schema(dialect_name: str) -> str:
    """REAL is a double in SQLite but float4 in PostgreSQL (Unix times would lose ~100 s): DOUBLE PRECISION there."""
    return _DDL.format(ts="DOUBLE PRECISION" if dialect_name == "postgresql" else "REAL")


SCHEMA = schema("sqlite")

PREFIX = "fw"


class Role(StrEnum):
    viewer = "viewer"  # read everything
    operator = "operator"  # + incident actions (ack, assign, note, resolve, close, reopen)
    admin = "admin"  # + maintenance windows, tokens, configuration

    @property
    def rank(self) -> int:
        return _RANK[self]

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


_RANK = {Role.viewer: 0, Role.operator: 1, Role.admin: 2}


@dataclass(frozen=True)
class TokenInfo:
    id: str
    name: str
    role: Role
    created_at: float
    last_used_at: float | None
    revoked_at: float | None

    @property
    def actor(self) -> str:
        """How the token's actions are signed in incident timelines."""
        return self.name


def ensure_schema(conn: Any) -> None:
    """Create ``api_tokens`` if missing (idempotent)."""
    if dialect(conn) == "postgresql":
        with store.write(conn):  # the incident advisory lock: collectors starting at once do not race on CREATE
            conn.executescript(schema("postgresql"))
        return
    conn.executescript(SCHEMA)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(conn: Any, role: Role, name: str, now: float) -> tuple[TokenInfo, str]:
    """Returns the stored info and the clear token (never stored, shown once)."""
    token_id = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    conn.execute(
        "INSERT INTO api_tokens (id, name, role, secret_sha256, created_at) VALUES (?, ?, ?, ?, ?)",
        (token_id, name, role.value, _hash(secret), now),
    )
    info = TokenInfo(token_id, name, role, now, None, None)
    return info, f"{PREFIX}_{token_id}_{secret}"


def list_tokens(conn: Any, *, include_revoked: bool = False) -> list[TokenInfo]:
    sql = "SELECT id, name, role, created_at, last_used_at, revoked_at FROM api_tokens"
    if not include_revoked:
        sql += " WHERE revoked_at IS NULL"
    rows = conn.execute(sql + " ORDER BY created_at, id").fetchall()
    return [TokenInfo(r[0], r[1], Role(r[2]), r[3], r[4], r[5]) for r in rows]


def revoke_token(conn: Any, token_id: str, now: float) -> bool:
    cur = conn.execute("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (now, token_id))
    return cur.rowcount > 0


def verify_token(conn: Any, token: str) -> TokenInfo | None:
    """The token's info when it is valid and not revoked; None otherwise (no reason given to the caller)."""
    parts = token.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX:
        return None
    _, token_id, secret = parts
    row = conn.execute(
        "SELECT id, name, role, created_at, last_used_at, revoked_at, secret_sha256 FROM api_tokens WHERE id = ?",
        (token_id,),
    ).fetchone()
    if row is None or row[5] is not None:
        return None
    if not hmac.compare_digest(row[6], _hash(secret)):
        return None
    return TokenInfo(row[0], row[1], Role(row[2]), row[3], row[4], row[5])


def touch(conn: Any, token_id: str, now: float) -> None:
    """Record use, at most once a minute per token (keeps reads from turning into writes)."""
    conn.execute(
        "UPDATE api_tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)",
        (now, token_id, now - 60),
    )
