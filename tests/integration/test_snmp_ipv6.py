"""Devices on IPv6: the v1/v2c path (own socket per address family) and SNMPv3 (pysnmp's Udp6 transport).

Real snmpsim listening on ::1 only, so an answer can only come over IPv6.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.config import Target, target_id
from agent.simulator import Snmpsim, free_udp_port

DATA = Path(__file__).resolve().parents[1] / "data" / "snmp"


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


pytestmark = pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback (::1) on this machine")


@pytest.fixture(scope="module")
def sim6(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Snmpsim]:
    data = tmp_path_factory.mktemp("v6data")
    shutil.copyfile(DATA / "test-printer.snmprec", data / "test-printer.snmprec")
    user = {"user": "v6user", "auth_key": "authkey-v6-0123", "auth_proto": "SHA"}
    s = Snmpsim(data, [("::1", free_udp_port("::1"))], v3_users=[user]).start(wait_community="test-printer")
    yield s
    s.stop()


def _poll(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "collector.cli", "poll", *args, "--timeout", "2", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("address", ["::1", "[::1]"], ids=["bare", "bracketed"])
def test_v2c_poll_over_ipv6(sim6: Snmpsim, address: str) -> None:
    done = _poll(address, "--port", str(sim6.port), "-c", "test-printer")
    assert done.returncode == 0, done.stderr
    poll = json.loads(done.stdout)
    assert poll["reachable"] is True
    assert poll["device"]["kind"] == "printer"
    assert len(poll["supplies"]) >= 4


def test_v3_poll_over_ipv6(sim6: Snmpsim) -> None:
    done = _poll(
        "::1", "--port", str(sim6.port), "--v3-user", "v6user", "--auth-proto", "sha",
        "--auth-key", "authkey-v6-0123", "--context", "test-printer",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["device"]["kind"] == "printer"


def test_unanswered_ipv6_device_names_itself_with_brackets() -> None:
    done = _poll("::1", "--port", str(free_udp_port("::1")), "--retries", "0")
    assert done.returncode == 1
    assert "[::1]:" in done.stderr


def test_ipv6_target_id_keeps_the_port_apart() -> None:
    assert target_id(Target(address="fd00::5"), 1161) == "[fd00::5]:1161"
    assert target_id(Target(address="fd00::5"), 161) == "fd00::5"
    assert target_id(Target(address="10.0.0.5"), 1161) == "10.0.0.5:1161"
