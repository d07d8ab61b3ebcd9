"""Devices that break SNMP: each becomes an error entry (or a bounded value), never a stuck or dead agent.

Faults come from ``tests/support/bad_agent.py`` (a real UDP SNMPv2c
responder, fault chosen by community) and, for wrong value types, from
snmpsim serving ``garbage-printer.snmprec``. A well-behaved printer is polled
on the same SNMP engine at the same time in every case, as the agent does.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.poller import TargetState, poll_target
from agent.simulator import Snmpsim, free_udp_port
from agent.snmp import MAX_VALUE_BYTES, Credentials, SnmpSession, new_engine
from agent.wire import DevicePoll
from tests.e2e.conftest import Stack
from tests.support.bad_agent import HUGE_BYTES, BadAgent
from tests.support.net import wait_for

DATA = Path(__file__).resolve().parent.parent / "data" / "snmp"
TIMEOUT = 0.5
#: The slow device answers this late; pysnmp notices a timeout up to ~1 s after it is due.
SLOW_DELAY = 3.0


async def _poll_twice(port: int, community: str) -> tuple[list[DevicePoll], list[DevicePoll], float]:
    """Poll the faulty device and the good one concurrently, twice (state carried over); returns wall time."""
    engine = new_engine()
    bad = SnmpSession(engine, "127.0.0.1", port, Credentials(community=community), timeout=TIMEOUT, retries=0)
    good = SnmpSession(engine, "127.0.0.1", port, Credentials(community="ok"), timeout=TIMEOUT, retries=0)
    bad_state, good_state = TargetState(), TargetState()
    bad_polls, good_polls = [], []
    started = time.monotonic()
    for _ in range(2):
        b, g = await asyncio.gather(poll_target(bad, community, bad_state), poll_target(good, "ok", good_state))
        bad_polls.append(b)
        good_polls.append(g)
    return bad_polls, good_polls, time.monotonic() - started


def run_fault(community: str) -> tuple[list[DevicePoll], list[DevicePoll], float]:
    async def main() -> tuple[list[DevicePoll], list[DevicePoll], float]:
        async with BadAgent(slow_delay=SLOW_DELAY) as agent:
            return await _poll_twice(agent.port, community)

    return asyncio.run(main())


def _assert_good(polls: list[DevicePoll]) -> None:
    for p in polls:
        assert p.reachable
        assert p.errors == []
        assert [s.percent for s in p.supplies] == [80.0, 60.0, 40.0]
        assert p.counters.total_pages == 48213


@pytest.mark.parametrize(
    ("fault", "probe", "message"),
    [
        pytest.param("loop", "printer", "non-increasing OID", id="walk_loops_non_increasing_oids"),
        pytest.param("eom", "printer", "endOfMibView after", id="end_of_mib_view_mid_table"),
    ],
)
def test_broken_walk_is_an_error_of_that_probe_only(fault: str, probe: str, message: str):
    bad, good, elapsed = run_fault(fault)
    for p in bad:
        assert p.reachable  # it answers; one table is broken
        assert [(e.probe, message in e.message) for e in p.errors] == [(probe, True)], p.errors
        assert p.supplies == []  # nothing half-read from the broken table
        # The other probes on the same device still report.
        assert [(i.index, i.name or i.descr, i.in_octets) for i in p.interfaces] == [(1, "eth0", 1000)]
    _assert_good(good)
    assert elapsed < 10


def test_largest_octet_string_udp_can_carry_is_read_whole():
    # 1 MB cannot travel in one SNMP/UDP message (65,507 bytes max): the responder sends HUGE_BYTES, the
    # largest that fits with the rest of the answer, and cuts GETBULK answers short as RFC 3416 allows.
    bad, good, _ = run_fault("huge")
    assert HUGE_BYTES <= MAX_VALUE_BYTES
    for p in bad:
        assert p.reachable
        assert p.errors == []
        assert len(p.device.sys_descr or "") == HUGE_BYTES
        assert [len(s.description) for s in p.supplies] == [HUGE_BYTES, len("Cyan Toner"), len("Magenta Toner")]
        # Columns the cut-short answers did not reach were asked again, not dropped.
        assert [s.percent for s in p.supplies] == [80.0, 60.0, 40.0]
        assert len(p.interfaces) == 1
        assert p.counters.total_pages == 48213
    _assert_good(good)


def test_device_answering_after_the_timeout_is_unreachable_and_does_not_hold_others_up():
    bad, good, elapsed = run_fault("slow")
    for p in bad:
        assert p.reachable is False
        assert [e.probe for e in p.errors] == ["snmp"]
        assert "no response" in p.errors[0].message
        assert p.duration_s < SLOW_DELAY  # gave up at the timeout, did not wait for the late answer
    # Late answers to the slow device's requests arrive while the good device is polled: ignored.
    _assert_good(good)
    assert elapsed < 2 * SLOW_DELAY


@pytest.fixture(scope="module")
def garbage_sim() -> Iterator[Snmpsim]:
    with Snmpsim(DATA) as sim:
        sim.wait_ready("garbage-printer")
        yield sim


def test_wrong_value_types_give_unknown_states_not_numbers(garbage_sim: Snmpsim):
    async def main() -> list[DevicePoll]:
        engine = new_engine()
        creds = Credentials(community="garbage-printer")
        session = SnmpSession(engine, "127.0.0.1", garbage_sim.port, creds, timeout=2, retries=0)
        state = TargetState()
        return [await poll_target(session, "garbage", state) for _ in range(2)]

    for p in asyncio.run(main()):
        assert p.reachable
        assert [e for e in p.errors if e.probe == "snmp"] == []
        assert p.device.uptime_s is None  # sysUpTime sent as text
        by_index = {s.index: s for s in p.supplies}
        # "hundred" as max capacity, an OID as level: no number is invented.
        assert (by_index["1.1"].capacity, by_index["1.1"].level, by_index["1.1"].percent) == (None, None, None)
        assert by_index["1.1"].state == "unknown"
        assert by_index["1.2"].percent is None  # capacity 0, level -7
        assert p.counters.total_pages is None  # "many pages"


@pytest.mark.e2e
def test_agent_process_keeps_polling_every_faulty_device(tmp_path: Path, garbage_sim: Snmpsim):
    """The real agent and collector processes, one target per fault: all reported, every cycle, none fatal."""
    port = free_udp_port()
    responder = subprocess.Popen(
        [sys.executable, "-m", "tests.support.bad_agent", "--port", str(port), "--slow-delay", "3"],
        cwd=Path(__file__).resolve().parents[2],
    )
    stack = Stack(tmp_path, garbage_sim)
    try:
        faults = ["ok", "loop", "eom", "huge", "slow"]
        targets = [{"name": f, "address": "127.0.0.1", "port": port, "community": f} for f in faults]
        targets.append({"name": "garbage", "address": "127.0.0.1", "community": "garbage-printer"})
        stack.write_configs(targets)
        stack.collector.start()
        stack.agent.start()
        names = {*faults, "garbage", "agent-host"}
        t0 = time.monotonic()
        wait_for(lambda: set(stack.devices()) == names, 40, "every device in the inventory")
        print(f"inventory complete after {time.monotonic() - t0:.1f}s")

        def latest(name: str) -> dict[str, object]:
            db = sqlite3.connect(f"file:{tmp_path / '.fleetwatch' / 'fleetwatch.db'}?mode=ro", uri=True, timeout=10)
            try:
                (raw,) = db.execute("SELECT latest_poll FROM devices WHERE device_id=?", (name,)).fetchone()
            finally:
                db.close()
            return json.loads(raw)

        first = {n: latest(n)["ts"] for n in faults}
        # Every device keeps being polled: a newer poll of each arrives.
        wait_for(lambda: all(latest(n)["ts"] > first[n] for n in faults), 30, "a second poll of every device")
        print(f"second polls after {time.monotonic() - t0:.1f}s")
        errors = {n: [e["probe"] for e in latest(n)["errors"]] for n in faults}
        assert errors == {"ok": [], "loop": ["printer"], "eom": ["printer"], "huge": [], "slow": ["snmp"]}
        assert stack.devices()["slow"]["reachable"] is False
        assert stack.agent.alive(), stack.agent.output()[-3000:]
        assert "Traceback" not in stack.agent.output()
    finally:
        stack.stop()
        responder.terminate()
        responder.wait(10)
