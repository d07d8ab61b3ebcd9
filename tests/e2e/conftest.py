"""Real processes for end-to-end tests: snmpsim, collector and agent, each its own OS process."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from agent.simulator import Snmpsim
from tests.support.cli import fleetwatch
from tests.support.net import WebhookReceiver, free_port

__all__ = ["fleetwatch"]  # re-exported: e2e tests import it from here

DATA = Path(__file__).resolve().parent.parent / "data" / "snmp"


class Proc:
    """A fleetwatch subcommand running in the background with its output in a log file."""

    def __init__(self, args: list[str], cwd: Path, log: Path) -> None:
        self.args, self.cwd, self.log = args, cwd, log
        self.p: subprocess.Popen[bytes] | None = None

    def start(self) -> Proc:
        out = open(self.log, "ab")  # noqa: SIM115 - owned by the child for its lifetime
        self.p = subprocess.Popen(
            [sys.executable, "-m", "collector.cli", *self.args], cwd=self.cwd, stdout=out, stderr=subprocess.STDOUT
        )
        return self

    def alive(self) -> bool:
        return self.p is not None and self.p.poll() is None

    def stop(self, sig: int | None = None) -> int | None:
        if self.p is None:
            return None
        if self.p.poll() is None:
            if sig is None:
                self.p.terminate()
            else:
                self.p.send_signal(sig)
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(5)
        return self.p.returncode

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@pytest.fixture(scope="session")
def sim() -> Iterator[Snmpsim]:
    with Snmpsim(DATA) as s:
        s.wait_ready("test-printer")
        yield s


class Stack:
    def __init__(self, root: Path, sim: Snmpsim) -> None:
        self.root = root
        self.sim = sim
        self.zmq_port = free_port()
        self.collector_cfg = root / "collector.yaml"
        self.agent_cfg = root / "agent.yaml"
        self.collector = Proc(["collector", "run", "--config", str(self.collector_cfg)], root, root / "collector.log")
        self.agent = Proc(["agent", "run", "--config", str(self.agent_cfg), "-v"], root, root / "agent.log")

    def write_configs(self, targets: list[dict[str, object]], **collector_extra: object) -> None:
        endpoint = f"tcp://127.0.0.1:{self.zmq_port}"
        collector = {"listen": endpoint, "http": {"enabled": False}, "rule_interval": 0.5, **collector_extra}
        self.collector_cfg.write_text(yaml.safe_dump(collector))
        agent = {
            "agent_id": "e2e",
            "collector": {"endpoint": endpoint, "batch_max_wait": 0.2, "ack_timeout": 2},
            "spool_dir": str(self.root / "spool"),
            "defaults": {"interval": 1, "timeout": 0.5, "retries": 0, "port": self.sim.port},
            "local_host": {"enabled": True, "name": "agent-host", "interval": 2},
            "targets": targets,
        }
        self.agent_cfg.write_text(yaml.safe_dump(agent))

    def cli_json(self, *args: str) -> object:
        return json.loads(fleetwatch(*args, "--json", cwd=self.root).stdout)

    def devices(self) -> dict[str, dict[str, object]]:
        if not (self.root / ".fleetwatch" / "fleetwatch.db").exists():
            return {}
        return {d["device_id"]: d for d in self.cli_json("devices")}

    def stop(self) -> None:
        self.agent.stop()
        self.collector.stop()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    """A ticket system stand-in on loopback: records every webhook POST."""
    r = WebhookReceiver()
    yield r
    r.stop()


@pytest.fixture
def stack(tmp_path: Path, sim: Snmpsim) -> Iterator[Stack]:
    s = Stack(tmp_path, sim)
    yield s
    s.stop()
