"""The agent's bounded on-disk queue of batches not yet acknowledged.

A batch is written here before it is sent and deleted only when the
collector acknowledges it, so readings survive a collector outage and an
agent restart. When the bound is reached the oldest batches are dropped and
the loss is counted (persisted, reported to the collector in every batch):
never silent.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path


class Spool:
    def __init__(self, directory: Path | str, max_batches: int = 10000) -> None:
        self.path = Path(directory) / "spool.db"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.max_batches = max_batches
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS batches ("
            " seq INTEGER PRIMARY KEY AUTOINCREMENT, batch_id TEXT UNIQUE NOT NULL,"
            " payload BLOB NOT NULL, created REAL NOT NULL, polls INTEGER NOT NULL)"
        )
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)")

    def put(self, batch_id: str, payload: bytes, created: float, polls: int) -> int:
        """Store a batch; returns how many old batches had to be dropped to make room."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "INSERT OR IGNORE INTO batches(batch_id, payload, created, polls) VALUES (?,?,?,?)",
                    (batch_id, payload, created, polls),
                )
                (count,) = self._db.execute("SELECT COUNT(*) FROM batches").fetchone()
                excess = max(0, count - self.max_batches)
                if excess:
                    self._db.execute(
                        "DELETE FROM batches WHERE seq IN (SELECT seq FROM batches ORDER BY seq LIMIT ?)", (excess,)
                    )
                    self._db.execute(
                        "INSERT INTO meta(key, value) VALUES ('dropped', ?) "
                        "ON CONFLICT(key) DO UPDATE SET value = value + excluded.value",
                        (excess,),
                    )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            return excess

    def oldest(self, limit: int) -> list[tuple[str, bytes]]:
        with self._lock:
            rows = self._db.execute("SELECT batch_id, payload FROM batches ORDER BY seq LIMIT ?", (limit,)).fetchall()
        return [(r[0], bytes(r[1])) for r in rows]

    def remove(self, batch_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM batches WHERE batch_id = ?", (batch_id,))

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM batches").fetchone()[0])

    @property
    def dropped(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key='dropped'").fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        with self._lock:
            self._db.close()
