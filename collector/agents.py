"""Which agents report to this collector, and whether they still do.

A branch agent that stops sending shows up first as its devices going stale
one by one; operators want the cause in one line instead: the agent, when it
last delivered, how much it sends, how many of its devices answer, and how
many batches its spool had to drop. Read from what the collector already
stores (``batches``, ``devices``), so it needs no change on the agent side.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

#: Window for the rate columns.
RATE_WINDOW_S = 3600.0


@dataclass(frozen=True)
class AgentRow:
    agent_id: str
    last_batch_at: float
    batches_last_hour: int
    polls_last_hour: int
    dropped_batches: int  # the agent's spool counter, as last reported: batches lost to a full spool
    devices: int
    devices_unreachable: int
    silent_s: float  # seconds since its last batch

    def silent(self, stale_after: float) -> bool:
        """No batch for longer than the collector waits before calling a device unreachable."""
        return self.silent_s > stale_after


def read_agents(db: sqlite3.Connection, now: float) -> list[AgentRow]:
    """Every agent with a batch still within retention, most recently heard from first."""
    rows = db.execute(
        """
        SELECT b.agent_id,
               MAX(b.received_at),
               SUM(CASE WHEN b.received_at >= ? THEN 1 ELSE 0 END),
               SUM(CASE WHEN b.received_at >= ? THEN b.polls ELSE 0 END),
               (SELECT x.dropped_before FROM batches x WHERE x.agent_id = b.agent_id
                 ORDER BY x.received_at DESC LIMIT 1),
               (SELECT COUNT(*) FROM devices d WHERE d.agent_id = b.agent_id),
               (SELECT COUNT(*) FROM devices d WHERE d.agent_id = b.agent_id AND NOT d.reachable)
        FROM batches b
        GROUP BY b.agent_id
        ORDER BY MAX(b.received_at) DESC, b.agent_id
        """,
        (now - RATE_WINDOW_S, now - RATE_WINDOW_S),
    ).fetchall()
    return [
        AgentRow(
            agent_id=str(r[0]),
            last_batch_at=float(r[1]),
            batches_last_hour=int(r[2] or 0),
            polls_last_hour=int(r[3] or 0),
            dropped_batches=int(r[4] or 0),
            devices=int(r[5] or 0),
            devices_unreachable=int(r[6] or 0),
            silent_s=max(0.0, now - float(r[1])),
        )
        for r in rows
    ]
