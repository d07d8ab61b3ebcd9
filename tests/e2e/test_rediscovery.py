"""The agent's scheduled rediscovery, with real processes: snmpsim per loopback address, collector, agent.

Only 127.0.0.0/8 is swept. A device stopped between sweeps must be stored
as ``vanished``, one started as ``discovered``; a configured target never
produces an event (its polls already say whether it answers).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from agent.simulator import Snmpsim, free_udp_port
from collector.storage.sqlite import connect, read_events
from tests.e2e.conftest import DATA, Proc, fleetwatch
from tests.support.net import free_port

CONFIGURED = "127.0.0.161"  # a polled target inside the range
STAYS = "127.0.0.162"
STOPPED = "127.0.0.163"
LATE = "127.0.0.164"  # started after the first sweeps
RANGE = "127.0.0.160-127.0.0.165"


def _events(root: Path) -> list[dict[str, object]]:
    db_path = root / ".fleetwatch" / "fleetwatch.db"
    if not db_path.exists():
        return []
    db = connect(db_path, readonly=True)
    try:
        return read_events(db, limit=1000)
    except Exception:  # noqa: BLE001 - the collector may not have created the schema yet
        return []
    finally:
        db.close()


def _up_times(root: Path, device: str) -> list[float]:
    db = connect(root / ".fleetwatch" / "fleetwatch.db", readonly=True)
    try:
        return [
            r[0]
            for r in db.execute(
                "SELECT x.ts FROM series s JOIN samples x ON x.series_id = s.id"
                " WHERE s.device_id = ? AND s.metric = 'up'",
                (device,),
            )
        ]
    finally:
        db.close()


def _wait(cond: Callable[[], bool], what: str, procs: list[Proc], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n" + "\n".join(p.output()[-3000:] for p in procs))
        time.sleep(0.2)


@pytest.fixture
def sims() -> Iterator[dict[str, Snmpsim]]:
    port = free_udp_port()
    started: dict[str, Snmpsim] = {}
    try:
        for address in (CONFIGURED, STAYS, STOPPED):
            started[address] = Snmpsim(DATA, [(address, port)]).start()
        for sim in started.values():
            sim.wait_ready("test-printer")
        yield started
    finally:
        for sim in started.values():
            sim.stop()


def test_agent_reports_discovered_and_vanished_devices(tmp_path: Path, sims: dict[str, Snmpsim]) -> None:
    port = sims[STAYS].port
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    (tmp_path / "collector.yaml").write_text(
        yaml.safe_dump({"listen": endpoint, "http": {"enabled": False}, "rule_interval": 0.5})
    )
    agent_cfg = {
        "agent_id": "rediscovery",
        "collector": {"endpoint": endpoint, "batch_max_wait": 0.2, "ack_timeout": 2},
        "spool_dir": str(tmp_path / "spool"),
        "defaults": {"interval": 1, "timeout": 0.5, "retries": 0, "port": port, "community": "test-printer"},
        "local_host": {"enabled": False},
        "targets": [{"name": "configured", "address": CONFIGURED}],
        "discovery": {
            "ranges": [RANGE],
            "every": "1s",
            "port": port,
            "communities": ["wrong", "test-printer"],
            "timeout": "0.3s",
        },
    }
    (tmp_path / "agent.yaml").write_text(yaml.safe_dump(agent_cfg))
    collector = Proc(["collector", "run", "--config", "collector.yaml"], tmp_path, tmp_path / "collector.log").start()
    agent = Proc(["agent", "run", "--config", "agent.yaml", "-v"], tmp_path, tmp_path / "agent.log").start()
    procs = [collector, agent]

    def seen(kind: str, address: str) -> bool:
        return any(e["kind"] == kind and e["device_id"] == f"{address}:{port}" for e in _events(tmp_path))

    late: Snmpsim | None = None
    try:
        _wait(lambda: seen("discovered", STAYS) and seen("discovered", STOPPED), "first sweep's events", procs)
        sims[STOPPED].stop()
        _wait(lambda: seen("vanished", STOPPED), f"{STOPPED} vanished", procs)
        late = Snmpsim(DATA, [(LATE, port)]).start("test-printer")
        _wait(lambda: seen("discovered", LATE), f"{LATE} discovered", procs)
        _wait(lambda: any(e["device_id"] == "configured" for e in _events(tmp_path)), "the target's poll", procs)

        # A restart remembers the last sweep (spool_dir/discovery.json): nothing is "discovered" again.
        agent.stop()
        restarted_at = time.time()
        agent.start()
        sweep_file = tmp_path / "spool" / "discovery.json"
        _wait(lambda: sweep_file.stat().st_mtime > restarted_at, "a sweep after the restart", procs)
        swept_at = sweep_file.stat().st_mtime
        # Events go out before any poll submitted after them (one FIFO), so a later poll stored means they were.
        _wait(lambda: max(_up_times(tmp_path, "configured"), default=0) > swept_at, "a poll after that sweep", procs)
    finally:
        if late is not None:
            late.stop()
        agent.stop()
        collector.stop()

    events = _events(tmp_path)
    by_device: dict[str, list[str]] = {}
    for e in reversed(events):  # read_events is newest first
        by_device.setdefault(str(e["device_id"]), []).append(str(e["kind"]))
    # Each change is reported once, not on every sweep nor again after the agent's restart; the configured
    # target only has its own new_device.
    assert by_device[f"{STAYS}:{port}"] == ["discovered"]
    assert by_device[f"{STOPPED}:{port}"] == ["discovered", "vanished"]
    assert by_device[f"{LATE}:{port}"][0] == "discovered"
    assert by_device["configured"] == ["new_device"]
    assert not any(d.startswith(CONFIGURED) for d in by_device)
    discovered = next(e for e in events if e["device_id"] == f"{LATE}:{port}" and e["kind"] == "discovered")
    detail = discovered["detail"]
    assert isinstance(detail, dict)
    assert (detail["address"], detail["port"], detail["kind"]) == (LATE, port, "printer")

    # What the user sees.
    out = fleetwatch("devices", "--events", cwd=tmp_path).stdout
    assert any(f"{STOPPED}:{port}" in line and " vanished " in line for line in out.splitlines()), out
    as_json = json.loads(fleetwatch("devices", "--events", "--json", cwd=tmp_path).stdout)
    assert {e["kind"] for e in as_json} >= {"discovered", "vanished", "new_device"}
