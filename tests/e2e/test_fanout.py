"""One agent pushing to two collectors: each gets every poll, a collector that is down only grows its own spool.

Real processes: snmpsim, two ``fleetwatch collector run`` (each with its own state directory) and one
``fleetwatch agent run`` with ``collectors: [A, B]``. B starts late; the polls taken before it came up
wait in B's spool and arrive once, while A was served all along.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import yaml

from agent.simulator import Snmpsim
from tests.e2e.conftest import Proc
from tests.support.net import free_port, wait_for

pytestmark = pytest.mark.e2e


def _up(state: Path, device: str) -> list[float]:
    db_path = state / "fleetwatch.db"
    if not db_path.exists():
        return []
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)
    try:
        return [
            r[0]
            for r in db.execute(
                "SELECT x.ts FROM series s JOIN samples x ON x.series_id = s.id "
                "WHERE s.device_id = ? AND s.metric = 'up' ORDER BY x.ts",
                (device,),
            )
        ]
    except sqlite3.OperationalError as exc:  # the collector created the file but not its tables yet
        if "no such table" in str(exc):
            return []
        raise
    finally:
        db.close()


def _polls_in_batches(state: Path) -> int:
    """Polls in every batch the collector stored: a batch stored twice would count its polls twice."""
    db = sqlite3.connect(f"file:{state / 'fleetwatch.db'}?mode=ro", uri=True, timeout=10)
    try:
        return int(db.execute("SELECT SUM(polls) FROM batches WHERE agent_id = 'fanout'").fetchone()[0])
    finally:
        db.close()


def test_agent_pushes_every_poll_to_each_collector(tmp_path: Path, sim: Snmpsim):
    ports = {name: free_port() for name in ("a", "b")}
    collectors: dict[str, Proc] = {}
    for name, port in ports.items():
        home = tmp_path / name
        home.mkdir()
        cfg = home / "collector.yaml"
        cfg.write_text(yaml.safe_dump({"listen": f"tcp://127.0.0.1:{port}", "http": {"enabled": False}}))
        collectors[name] = Proc(["collector", "run", "--config", str(cfg)], home, home / "collector.log")
    agent_cfg = tmp_path / "agent.yaml"
    agent_cfg.write_text(
        yaml.safe_dump(
            {
                "agent_id": "fanout",
                "collectors": [
                    {"endpoint": f"tcp://127.0.0.1:{port}", "batch_max_wait": 0.2, "ack_timeout": 2}
                    for port in ports.values()
                ],
                "spool_dir": str(tmp_path / "spool"),
                "defaults": {"interval": 1, "timeout": 0.5, "retries": 0, "port": sim.port},
                "local_host": {"enabled": False},
                "targets": [{"name": "lexmark", "address": "127.0.0.1", "community": "test-printer"}],
            }
        )
    )
    agent = Proc(["agent", "run", "--config", str(agent_cfg), "-v"], tmp_path, tmp_path / "agent.log")
    state_a, state_b = tmp_path / "a" / ".fleetwatch", tmp_path / "b" / ".fleetwatch"
    try:
        collectors["a"].start()
        agent.start()
        wait_for(lambda: len(_up(state_a, "lexmark")) >= 4, 30, "A stores polls while B is down")
        spool_b = tmp_path / "spool" / f"to-tcp-127.0.0.1-{ports['b']}" / "spool.db"
        assert spool_b.exists(), "B's polls are not spooled on disk"
        assert not _up(state_b, "lexmark")
        before_b = _up(state_a, "lexmark")

        collectors["b"].start()
        wait_for(lambda: set(before_b) <= set(_up(state_b, "lexmark")), 30, "B receives what was polled while down")
        wait_for(lambda: len(_up(state_b, "lexmark")) >= len(before_b) + 2, 20, "B keeps receiving new polls")
        agent.stop()
        for proc in collectors.values():
            proc.stop()

        a, b = _up(state_a, "lexmark"), _up(state_b, "lexmark")
        # The last poll or two may have reached only one of them when the agent stopped (it stays spooled).
        horizon = min(a[-1], b[-1])
        assert [t for t in a if t <= horizon] == [t for t in b if t <= horizon], "the collectors hold different polls"
        assert len([t for t in b if t <= horizon]) >= len(before_b) + 1
        for state, stored in ((state_a, a), (state_b, b)):
            assert _polls_in_batches(state) == len(stored), "a poll was stored twice"
        assert "pushing to tcp://127.0.0.1:" in agent.output()
        # Plain TCP (allowed here: loopback) is said at start, by the agent for each link and by each collector.
        assert agent.output().count("(plain TCP, no CURVE)") == 2
        assert all("plain TCP (no CURVE)" in proc.output() for proc in collectors.values())
    finally:
        agent.stop()
        for proc in collectors.values():
            proc.stop()
