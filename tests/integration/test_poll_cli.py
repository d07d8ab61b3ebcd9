"""``fleetwatch poll`` exit codes and output, against real snmpsim (the contract in the README)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.simulator import Snmpsim, free_udp_port

DATA = Path(__file__).resolve().parents[1] / "data" / "snmp"


@pytest.fixture(scope="module")
def sim() -> Iterator[Snmpsim]:
    with Snmpsim(DATA) as s:
        s.wait_ready("test-printer")
        yield s


def poll(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "collector.cli", "poll", *args], capture_output=True, text=True, timeout=60
    )


def test_answered_device_exits_0_with_the_json_contract(sim: Snmpsim) -> None:
    r = poll("127.0.0.1", "--port", str(sim.port), "--community", "test-printer", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["reachable"] is True
    assert doc["device"]["kind"] == "printer"
    assert doc["device"]["serial"] == "7528TEST01"
    black = next(s for s in doc["supplies"] if s["color"] == "black")
    assert (black["part_number"], black["description"], black["percent"]) == ("71B0010", "Black Toner Cartridge", 64.0)
    manual = next(t for t in doc["trays"] if t["name"] == "MP Feeder")
    assert (manual["state"], manual["percent"]) == ("some_remaining", None)
    assert doc["counters"]["total_pages"] == 48213


def test_human_output_names_supplies(sim: Snmpsim) -> None:
    r = poll("127.0.0.1", "--port", str(sim.port), "--community", "test-printer")
    assert r.returncode == 0
    assert "Black Toner Cartridge" in r.stdout
    assert "reachable" in r.stdout


def test_unreachable_exits_1_with_one_line_message() -> None:
    r = poll("127.0.0.1", "--port", str(free_udp_port()), "--timeout", "0.3", "--retries", "0", "--json")
    assert r.returncode == 1
    assert json.loads(r.stdout)["reachable"] is False
    (line,) = r.stderr.strip().splitlines()
    assert line.startswith("error: ")
    assert "no response" in line


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["127.0.0.1", "--port", "0"], id="port_out_of_range"),
        pytest.param(["127.0.0.1", "--auth-proto", "rot13"], id="unknown_auth_protocol"),
        pytest.param(["127.0.0.1", "--version", "3"], id="v3_without_user"),
        pytest.param([], id="no_host"),
    ],
)
def test_wrong_options_exit_2(args: list[str]) -> None:
    r = poll(*args)
    assert r.returncode == 2
    assert "Error" in r.stderr or "error" in r.stderr
