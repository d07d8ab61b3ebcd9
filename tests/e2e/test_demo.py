"""``make demo`` = ``python -m collector.demo``: everything comes up, incidents open by themselves, it stops."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.e2e.conftest import fleetwatch
from tests.support.net import free_port, wait_for


def _read_until(proc: subprocess.Popen[str], marker: str, timeout: float) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if marker in line:
            return lines
    raise AssertionError(f"{marker!r} not printed within {timeout}s; got:\n{''.join(lines)}")


def test_demo_starts_everything_opens_incidents_and_stops(tmp_path: Path) -> None:
    http, zmq_port = free_port(), free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "collector.demo", "--http-port", str(http), "--zmq-port", str(zmq_port),
         "--history-days", "1", "--poll", "2"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        banner = "".join(_read_until(proc, "report monthly", 120))
        assert f"http://127.0.0.1:{http}/wall" in banner
        with urllib.request.urlopen(f"http://127.0.0.1:{http}/wall", timeout=5) as r:
            assert r.status == 200
        # From the directory the demo was started in, with no options: the documented default state location.
        devices = wait_for(
            lambda: len(d := json.loads(fleetwatch("devices", "--json", cwd=tmp_path).stdout)) >= 8 and d,
            60,
            "the seven simulated devices and this host",
        )
        kinds = {d["device_id"]: d["kind"] for d in devices}
        assert kinds["cisco-c9200l-24p"] == "network"
        assert kinds["linux-files01"] == "host"

        def switch_polled() -> dict[str, object] | None:
            doc = json.loads(fleetwatch("latest", "cisco-c9200l-24p", "--json", cwd=tmp_path).stdout)
            return doc if doc["interfaces"] else None

        switch = wait_for(switch_polled, 60, "a complete poll of the switch")
        assert len(switch["interfaces"]) >= 24
        assert any(s["kind"] == "temperature" for s in switch["sensors"])

        def incidents() -> list[dict[str, object]] | None:
            rows = json.loads(fleetwatch("incidents", "list", "--json", cwd=tmp_path).stdout)
            return rows if {"paper_jam", "toner_low"} <= {i["rule"] for i in rows} else None

        opened = wait_for(incidents, 60, "the jam and low-toner incidents the demo fleet shows")
        jam = next(i for i in opened if i["rule"] == "paper_jam")
        assert jam["device"] == "kyocera-taskalfa-2553ci"
        assert jam["response_due"]
        assert jam["resolve_due"]
        port = next(line.split("--port")[1].split()[0] for line in banner.splitlines() if "discover" in line)
        sweep = fleetwatch("discover", "127.0.0.9-127.0.0.20", "--port", port, "--json", cwd=tmp_path)
        found = json.loads(sweep.stdout)
        kinds_found = sorted(d["kind"] for d in found["devices"])
        assert kinds_found == ["host", "network", *["printer"] * 5], found
        forecast = json.loads(fleetwatch("forecast", "--json", cwd=tmp_path).stdout)
        assert any(f["device"] == "hp-clj-m477" and f["days_to_empty"] is not None for f in forecast)
        # History and live polls come from one agent: nothing in the demo would ever read as a silent agent.
        agents = json.loads(fleetwatch("agents", "--json", cwd=tmp_path).stdout)
        assert [a["agent_id"] for a in agents] == ["demo-agent"]
        assert agents[0]["devices"] >= 8
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    assert "stopped." in out
    wait_for(lambda: _port_free(http) and _port_free(zmq_port), 10, "the demo's ports released")


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as s:
        # SO_REUSEADDR: connections in TIME_WAIT do not count, a process still listening does.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
