"""Where incident state lives: the collector's SQLite file (default) or a PostgreSQL database shared by collectors.

One setting picks the backend: a path opens SQLite as before, a
``postgresql://`` URL opens psycopg. The PostgreSQL connection is wrapped
in a sqlite3-like surface (``execute(sql, params)`` with ``?`` placeholders,
rows readable by name, by index and as ``dict(row)``) so the incident code
keeps one copy of its SQL; the few statements whose dialects differ branch on
``dialect(conn)``. This is not an ORM: anything beyond that surface is out of scope.

Both connections are in autocommit mode and transactions are explicit
(``store.write``). The password is never logged: use ``redact`` for display;
libpq also reads ``PGPASSWORD`` / ``~/.pgpass`` when the URL carries none.

Readers that only hold the collector's SQLite connection (web pages, reports)
find the incident database with ``incident_conn_for``: the collector registers
its choice for its state directory (``use``), a CLI finds it through
``FLEETWATCH_INCIDENT_DB`` or the pointer file the collector leaves in the
state directory (the URL without its password).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import psycopg

#: What a failing incident database raises, either backend: callers that retry or answer 503 catch these.
DATABASE_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, psycopg.Error)

log = logging.getLogger(__name__)

#: Environment variable naming the incident database for CLI commands (a path or a postgresql:// URL).
ENV = "FLEETWATCH_INCIDENT_DB"
#: File in the state directory recording the shared incident database the collector uses (no password).
POINTER_FILE = "incident-db.url"
BUSY_TIMEOUT_MS = 10_000


class Conn(Protocol):
    """What the incident code uses of a connection (sqlite3.Connection has it; PgConnection imitates it)."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Any: ...

    def close(self) -> None: ...


def is_url(target: str | os.PathLike[str]) -> bool:
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


def dialect(conn: Any) -> str:
    """``"sqlite"`` or ``"postgresql"`` (a plain sqlite3 connection from elsewhere counts as SQLite)."""
    return str(getattr(conn, "dialect", "sqlite"))


def redact(target: str | os.PathLike[str]) -> str:
    """The target with any password replaced by ``***`` (for logs, status and the config API)."""
    if not is_url(target):
        return str(target)
    parts = urlsplit(str(target))
    if parts.password is None:
        return str(target)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return redact(url).replace(":***@", "@", 1)


# -- PostgreSQL behind a sqlite3-like surface -------------------------------------------------------------


class Row(tuple):  # type: ignore[type-arg]
    """A result row like ``sqlite3.Row``: ``row["name"]``, ``row[0]``, ``dict(row)``, tuple unpacking."""

    _names: tuple[str, ...] = ()

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            try:
                return tuple.__getitem__(self, self._names.index(key))
            except ValueError:
                raise IndexError(f"no column {key!r}") from None
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._names)


def _row_factory(cursor: Any) -> Any:
    names = tuple(c.name for c in cursor.description or ())
    cls = type("Row", (Row,), {"_names": names, "__slots__": ()})

    def make(values: Sequence[Any]) -> Row:
        return cls(values)

    return make


def translate(sql: str) -> str:
    """``?`` placeholders to psycopg's ``%s`` (a literal ``%`` doubled). Our SQL has no ``?`` inside literals."""
    return sql.replace("%", "%%").replace("?", "%s")


class PgConnection:
    """psycopg in autocommit mode with the parts of the sqlite3 API the incident code calls.

    A connection lost between transactions (server restart, failover, idle timeout) is reopened by the next
    statement, so a long-running collector carries on; one lost inside a transaction fails that transaction
    (its statements never run outside it) and ROLLBACK on it is a no-op.
    """

    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        import psycopg

        self.url = url
        self._closed_by_us = False
        self._in_tx = False
        self.raw = psycopg.connect(url, autocommit=True, row_factory=_row_factory)

    def _reconnect(self) -> None:
        import psycopg

        log.warning("incident database connection lost; reconnecting to %s", redact(self.url))
        self.raw = psycopg.connect(self.url, autocommit=True, row_factory=_row_factory)

    def _live(self) -> Any:
        if self.raw.closed and not self._closed_by_us:
            if self._in_tx:
                import psycopg

                raise psycopg.OperationalError("connection to the incident database lost inside a transaction")
            self._reconnect()
        return self.raw

    def _run(self, sql: str, parameters: Sequence[Any] | None) -> Any:
        raw = self._live()
        if parameters is None:
            return raw.execute(sql)  # type: ignore[arg-type]
        return raw.execute(translate(sql), tuple(parameters))  # type: ignore[arg-type]

    def execute(self, sql: str, parameters: Sequence[Any] | None = None, /) -> Any:
        import psycopg

        word = sql.lstrip()[:8].upper()
        if word.startswith(("ROLLBACK", "COMMIT")):
            self._in_tx = False  # whatever happens next, this transaction is over
            if word.startswith("ROLLBACK") and self.raw.closed:
                return None  # the server dropped the transaction with the connection
            return self._run(sql, parameters)
        in_tx = self._in_tx
        try:
            cur = self._run(sql, parameters)
        except psycopg.OperationalError:
            # Lost between transactions (this is a BEGIN or a read): reconnect and run it once more.
            if in_tx or not self.raw.closed or self._closed_by_us:
                raise
            self._reconnect()
            cur = self._run(sql, parameters)
        if word.startswith("BEGIN"):
            self._in_tx = True
        return cur

    def executescript(self, sql: str) -> None:
        self._live().execute(sql)  # no parameters: several statements are allowed

    def close(self) -> None:
        self._closed_by_us = True
        self.raw.close()

    @property
    def closed(self) -> bool:
        return bool(self.raw.closed)

    def __repr__(self) -> str:
        return f"<PgConnection {redact(self.url)}>"


def connect_raw(target: str | os.PathLike[str]) -> Any:
    """An autocommit connection with named rows, no schema work (``store.connect`` adds the schema)."""
    if is_url(target):
        return PgConnection(str(target))
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(target, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    return conn


# -- finding the incident database --------------------------------------------------------------------------

_registered: dict[Path, str] = {}
_lock = threading.Lock()
_shared: dict[str, Any] = {}


def _key(state_db: str | os.PathLike[str]) -> Path:
    return Path(state_db).resolve()


def use(state_db: str | os.PathLike[str], target: str | os.PathLike[str] | None) -> str | Path:
    """The collector's choice for its state database: registered in-process and left for CLIs in a pointer file.

    ``target`` None means the SQLite file itself (the pointer file is removed). Returns the effective target.
    """
    pointer = Path(state_db).parent / POINTER_FILE
    if target is None or not is_url(target):
        pointer.unlink(missing_ok=True)
        if target is None or _key(target) == _key(state_db):
            _registered.pop(_key(state_db), None)
            return Path(state_db)
        _registered[_key(state_db)] = str(Path(target))
        return Path(target)
    url = str(target)
    _registered[_key(state_db)] = url
    pointer.parent.mkdir(parents=True, exist_ok=True)
    pointer.write_text(_without_password(url) + "\n")
    return url


def target_for(state_db: str | os.PathLike[str]) -> str | Path:
    """Incident database for a collector state database: the collector's registration, ``$FLEETWATCH_INCIDENT_DB``,
    the state directory's pointer file, else the state database file itself."""
    registered = _registered.get(_key(state_db))
    if registered:
        return registered if is_url(registered) else Path(registered)
    env = os.environ.get(ENV, "").strip()
    if env:
        return env if is_url(env) else Path(env)
    pointer = Path(state_db).parent / POINTER_FILE
    if pointer.is_file():
        text = pointer.read_text().strip()
        if is_url(text):
            return text
    return Path(state_db)


def _sqlite_file(conn: sqlite3.Connection) -> str:
    for row in conn.execute("PRAGMA database_list").fetchall():
        if row[1] == "main":
            return str(row[2] or "")
    return ""


def incident_conn_for(conn: Any) -> Any:
    """The connection to read incidents through, given the collector's SQLite connection.

    Returns ``conn`` itself when incidents live in the same file (the default), else a shared
    PostgreSQL connection for the target (kept open per URL; psycopg connections are thread-safe).
    """
    if dialect(conn) != "sqlite":
        return conn
    path = _sqlite_file(conn)
    if not path:
        return conn  # in-memory: nothing else to find
    target = target_for(path)
    if not is_url(target):
        return conn if _key(target) == _key(path) else shared(target)
    return shared(target)


def shared(target: str | os.PathLike[str]) -> Any:
    """A long-lived connection per target, schema ensured once (for readers that do not own a connection)."""
    key = str(target)
    with _lock:
        c = _shared.get(key)
        if c is not None and not getattr(c, "closed", False):
            return c
        from collector.incidents import store

        c = store.connect(target)
        _shared[key] = c
        return c


def close_shared() -> None:
    with _lock:
        for c in _shared.values():
            try:
                c.close()
            except Exception:  # closing at exit: nothing left to do about it
                log.debug("closing %r failed", c, exc_info=True)
        _shared.clear()
