"""Two collector processes sharing one PostgreSQL incident database, fed by one agent: one incident per fault.

Real processes: snmpsim (the demo fleet), PostgreSQL, two ``fleetwatch collector run`` (each with its own
state directory and SQLite series) and one ``fleetwatch agent run`` pushing every poll to both
(``collectors:``). Both evaluate the rules on the same polls and race to open the jam incident; the
shared database lets one win. Then collector A is stopped, and B alone resolves the incident (failover).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from collector.demo.fleet import SimulatedFleet
from collector.paths import REPO_ROOT
from tests.e2e.conftest import Proc, fleetwatch
from tests.e2e.test_incidents import RECORDINGS
from tests.support.net import WebhookReceiver, free_port, wait_for

pytestmark = pytest.mark.e2e

PRINTER = "hp-clj-m477"


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[SimulatedFleet]:
    f = SimulatedFleet(RECORDINGS, tmp_path / "fleet", devices=[PRINTER])
    f.start()
    yield f
    f.close()


def _cli_json(pg_url: str, cwd: Path, *args: str) -> object:
    """The CLI run away from any collector's state directory, told the shared database by the env var."""
    return json.loads(fleetwatch(*args, "--json", cwd=cwd, env={**os.environ, "FLEETWATCH_INCIDENT_DB": pg_url}).stdout)


def test_two_collectors_open_one_incident_and_either_resolves_it(
    tmp_path: Path, pg_url: str, fleet: SimulatedFleet, receiver: WebhookReceiver
) -> None:
    policy = yaml.safe_load((REPO_ROOT / "deploy" / "sla.yaml").read_text())
    policy["notify"]["channels"] = {"ticketing": {"type": "webhook", "url": f"http://127.0.0.1:{receiver.port}/hook"}}
    policy["notify"]["routes"] = [{"events": ["open", "reopen", "acknowledge", "resolve"], "channels": ["ticketing"]}]
    for step in policy["escalation"]:
        step["notify"] = ["ticketing"]
    (tmp_path / "sla.yaml").write_text(yaml.safe_dump(policy))

    ports = {name: free_port() for name in ("a", "b")}
    collectors: dict[str, Proc] = {}
    for name, port in ports.items():
        home = tmp_path / name
        home.mkdir()
        (home / "collector.yaml").write_text(
            yaml.safe_dump(
                {
                    "listen": f"tcp://127.0.0.1:{port}",
                    "http": {"enabled": False},
                    "rule_interval": 0.5,
                    "sla_policy": str(tmp_path / "sla.yaml"),
                    "incidents": {"database": pg_url},
                }
            )
        )
        collectors[name] = Proc(["collector", "run", "--config", "collector.yaml"], home, home / "collector.log")
    _, sim_port = fleet.endpoint
    (tmp_path / "agent.yaml").write_text(
        yaml.safe_dump(
            {
                "agent_id": "two-collectors",
                "collectors": [
                    {"endpoint": f"tcp://127.0.0.1:{port}", "batch_max_wait": 0.2, "ack_timeout": 2}
                    for port in ports.values()
                ],
                "spool_dir": str(tmp_path / "spool"),
                "defaults": {"interval": 1, "timeout": 0.5, "retries": 0, "port": sim_port},
                "local_host": {"enabled": False},
                "targets": [{"name": PRINTER, "address": "127.0.0.1", "community": PRINTER, "labels": {"tier": "vip"}}],
            }
        )
    )
    agent = Proc(["agent", "run", "--config", "agent.yaml", "-v"], tmp_path, tmp_path / "agent.log")

    def jam_incidents() -> list[dict[str, object]]:
        rows = _cli_json(pg_url, tmp_path, "incidents", "list")
        assert isinstance(rows, list)
        return [r for r in rows if r["device"] == PRINTER and r["rule"] == "paper_jam"]

    def both_saw_polls() -> bool:
        for name in ports:
            home = tmp_path / name
            if not (home / ".fleetwatch" / "fleetwatch.db").exists():
                return False
            done = fleetwatch("devices", "--json", cwd=home, check=False)
            if done.returncode != 0 or PRINTER not in {d["device_id"] for d in json.loads(done.stdout)}:
                return False
        return True

    procs = [*collectors.values(), agent]
    try:
        for proc in procs:
            proc.start()
        wait_for(both_saw_polls, 30, "both collectors storing polls")
        time.sleep(2)  # a few clean polls on both before the fault
        assert jam_incidents() == []

        fleet.paper_jam(PRINTER)
        (inc,) = wait_for(jam_incidents, 20, "the jam incident")
        number = inc["number"]
        wait_for(lambda: receiver.events(number) == ["open"], 15, "one webhook for the opening")
        time.sleep(3)  # both collectors keep seeing the jam for several polls
        assert len(jam_incidents()) == 1, "the two collectors opened the same fault twice"
        assert receiver.events(number) == ["open"], "the opening was notified twice"
        assert int(str(jam_incidents()[0]["occurrences"])) >= 1

        collectors["a"].stop()  # failover: B alone sees the jam clear
        fleet.clear_jam(PRINTER)
        resolved = wait_for(
            lambda: [i for i in jam_incidents() if i["state"] == "resolved"] or None, 20, "B resolves it alone"
        )
        assert isinstance(resolved, list)
        assert [i["number"] for i in resolved] == [number]
        wait_for(lambda: receiver.events(number) == ["open", "resolve"], 15, "the resolve webhook")
        assert collectors["b"].alive()

        verify = fleetwatch(
            "audit", "verify", cwd=tmp_path, env={**os.environ, "FLEETWATCH_INCIDENT_DB": pg_url}, check=False
        )
        assert verify.returncode == 0, verify.stdout + verify.stderr
    finally:
        for proc in procs:
            proc.stop()
    for proc in procs:
        assert "Traceback" not in proc.output(), proc.output()[-3000:]
