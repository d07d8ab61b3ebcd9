"""The simulated fleet changes what a real SNMP manager sees, within a bounded time.

One snmpsim process serves copies of deploy/demo/recordings; every change is
read back with agent.snmp over UDP (no mocks). The latency figures printed
with ``-s`` are the ones quoted in deploy/demo/README.md.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import pytest
from pysnmp.hlapi.v3arch.asyncio import SnmpEngine

from agent.simulator import free_udp_port
from agent.snmp import Credentials, SnmpSession, SnmpTimeout, Value, new_engine
from collector.demo.fleet import (
    HR_DEVICE_STATUS,
    HR_PRINTER_ERRORS,
    PRT_ALERT,
    PRT_LIFE_COUNT,
    PRT_SUPPLY_LEVEL,
    SYS_UPTIME,
    FleetError,
    SimulatedFleet,
    decode_error_flags,
    encode_error_flags,
    office_pace,
    status_for,
)

RECORDINGS = Path(__file__).resolve().parents[2] / "deploy" / "demo" / "recordings"
HP, KYOCERA, LEXMARK, BROTHER, SWITCH = (
    "hp-clj-m477",
    "kyocera-taskalfa-2553ci",
    "lexmark-ms621dn",
    "brother-hl-l5100dn",
    "cisco-c9200l-24p",
)
LIFE = f"{PRT_LIFE_COUNT}.1.1"
ERRORS = f"{HR_PRINTER_ERRORS}.1"
TUESDAY_10AM = datetime(2024, 3, 12, 10, 0)
T = TypeVar("T")
ENV = {**os.environ, "PYTHONPATH": str(RECORDINGS.parents[2])}


class Manager:
    """An SNMP manager on one event loop and one engine for the whole module (engines are costly to build)."""

    def __init__(self, fleet: SimulatedFleet) -> None:
        self.fleet = fleet
        self.loop = asyncio.new_event_loop()
        self.engine = self.loop.run_until_complete(self._engine())

    @staticmethod
    async def _engine() -> SnmpEngine:
        return new_engine()

    def session(self, community: str, timeout: float = 1.0) -> SnmpSession:
        host, port = self.fleet.endpoint
        return SnmpSession(self.engine, host, port, Credentials(community=community), timeout=timeout, retries=0)

    def run(self, coro: Awaitable[T]) -> T:
        return self.loop.run_until_complete(coro)

    def get(self, community: str, oid: str, timeout: float = 1.0) -> Value:
        return self.run(self.session(community, timeout).get([oid]))[oid]

    def column(self, community: str, column: str) -> dict[str, Value]:
        return self.run(self.session(community).walk_columns([column]))[column]

    def close(self) -> None:
        self.engine.close_dispatcher()
        self.loop.close()


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatedFleet]:
    with SimulatedFleet(RECORDINGS, tmp_path_factory.mktemp("fleet")) as f:
        yield f


@pytest.fixture(scope="module")
def snmp(fleet: SimulatedFleet) -> Iterator[Manager]:
    manager = Manager(fleet)
    yield manager
    manager.close()


# --- pure helpers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "raw"),
    [
        (["jammed"], b"\x04"),
        (["low_toner"], b"\x20"),
        (["door_open", "service_requested"], b"\x09"),
        (["overdue_prevent_maint"], b"\x00\x02"),  # second octet: RFC 3805 extension bits
    ],
    ids=["jammed", "low-toner", "two-bits", "second-octet"],
)
def test_error_flag_bits_follow_rfc3805_order(flags: list[str], raw: bytes) -> None:
    assert encode_error_flags(flags) == raw
    assert decode_error_flags(raw) == flags


@pytest.mark.parametrize(
    ("flags", "printing", "want"),
    [
        ([], False, (2, 3)),
        (["low_toner"], True, (3, 4)),
        (["jammed"], False, (5, 1)),
        (["door_open", "low_toner"], False, (5, 1)),
    ],
    ids=["idle", "warning-printing", "jam-down", "critical-wins"],
)
def test_status_follows_rfc3805_table(flags: list[str], printing: bool, want: tuple[int, int]) -> None:
    assert status_for(flags, printing) == want


@pytest.mark.parametrize(
    ("when", "busy"),
    [
        (datetime(2024, 3, 12, 10, 0), True),  # Tuesday morning
        (datetime(2024, 3, 12, 12, 30), True),  # lunch dip, still printing
        (datetime(2024, 3, 12, 23, 0), False),
        (datetime(2024, 3, 16, 10, 0), False),  # Saturday
    ],
    ids=["weekday-morning", "lunch", "night", "weekend"],
)
def test_office_pace(when: datetime, busy: bool) -> None:
    assert (office_pace(when) >= 0.5) is busy


def test_pages_consume_supplies_and_an_empty_cartridge_stops_the_printer(tmp_path: Path) -> None:
    fleet = SimulatedFleet(RECORDINGS, tmp_path, devices=[HP])
    hp = fleet.printer(HP)
    life = hp.data.integer(LIFE)
    printed = fleet.advance_pages(HP, 1000)
    # Black starts at 4% of a 2500-page cartridge: about 100 pages, then the printer stops.
    assert 90 <= printed <= 120
    assert hp.data.integer(LIFE) == life + printed
    assert hp.supplies()[1]["level"] == 0
    assert "no_toner" in hp.error_flags()
    assert hp.data.integer(f"{HR_DEVICE_STATUS}.1") == 5
    assert {row["code"] for row in hp.alerts().values()} == {1101}  # toner empty replaced "almost empty"
    fleet.replace_supply(HP, 1)
    assert hp.error_flags() == []
    assert hp.alerts() == {}
    assert fleet.advance_pages(HP, 10) == 10


def test_a_waste_receptacle_fills_by_losing_space_left(tmp_path: Path) -> None:
    """RFC 3805: a receptacle's prtMarkerSuppliesLevel is the remaining space, so filling lowers it."""
    fleet = SimulatedFleet(RECORDINGS, tmp_path, devices=[KYOCERA])
    fleet.clear_jam(KYOCERA)
    waste = fleet.printer(KYOCERA).supplies()[5]
    assert (waste["class"], waste["level"]) == (4, 35)
    assert fleet.advance_pages(KYOCERA, 2500) == 2500  # 10% of a 25,000-page box
    assert fleet.printer(KYOCERA).supplies()[5]["level"] == 25
    fleet.replace_supply(KYOCERA, 5)
    assert fleet.printer(KYOCERA).supplies()[5]["level"] == 100


def test_level_minus_three_is_never_turned_into_a_number(tmp_path: Path) -> None:
    fleet = SimulatedFleet(RECORDINGS, tmp_path, devices=[BROTHER])
    assert fleet.advance_pages(BROTHER, 500) == 500
    assert {s["level"] for s in fleet.printer(BROTHER).supplies().values()} == {-3}


def test_bad_requests_raise_clear_errors(tmp_path: Path) -> None:
    fleet = SimulatedFleet(RECORDINGS, tmp_path, devices=[HP, SWITCH])
    with pytest.raises(FleetError, match="unknown device"):
        fleet.device("nope")
    with pytest.raises(FleetError, match="not a printer"):
        fleet.advance_pages(SWITCH, 1)
    with pytest.raises(FleetError, match="unknown hrPrinterDetectedErrorState"):
        fleet.set_error_flags(HP, ["on_fire"])
    with pytest.raises(FleetError, match="no prtMarkerSuppliesLevel row 9"):
        fleet.set_level(HP, 9, 50)


# --- through snmpsim ------------------------------------------------------------------------------


@pytest.mark.parametrize("device", [BROTHER, SWITCH], ids=["small-printer-file", "900-line-switch-file"])
def test_change_is_visible_to_the_very_next_get(fleet: SimulatedFleet, snmp: Manager, device: str) -> None:
    """Five changes inside one second; each is what the next GET returns. Latency = write + that GET."""
    oid = "1.3.6.1.2.1.1.4.0"  # sysContact: a value both kinds of device carry

    async def run() -> list[float]:
        session = snmp.session(device)
        await session.get([oid])  # warm-up, not part of the latency
        latencies = []
        for n in range(5):
            start = time.monotonic()
            fleet.set_value(device, oid, f"change {n}")
            got = (await session.get([oid]))[oid]
            latencies.append(time.monotonic() - start)
            assert got == f"change {n}".encode(), "snmpsim served the previous file after the change was written"
        return latencies

    latencies = snmp.run(run())
    print(f"\n{device}: change -> next GET sees it: max {max(latencies) * 1000:.1f} ms over {len(latencies)} changes")
    assert max(latencies) < 1.0  # typically 15-40 ms on an idle machine; bound leaves room for CI load


def test_paper_jam_appears_and_clears(fleet: SimulatedFleet, snmp: Manager) -> None:
    assert decode_error_flags(snmp.get(LEXMARK, ERRORS)) == ["door_open"]  # type: ignore[arg-type]
    fleet.close_door(LEXMARK)
    assert decode_error_flags(snmp.get(LEXMARK, ERRORS)) == []  # type: ignore[arg-type]
    index = fleet.paper_jam(LEXMARK, tray=2)
    assert decode_error_flags(snmp.get(LEXMARK, ERRORS)) == ["jammed"]  # type: ignore[arg-type]
    assert snmp.get(LEXMARK, f"{HR_DEVICE_STATUS}.1") == 5
    codes = snmp.column(LEXMARK, f"{PRT_ALERT}.7")
    assert codes[f"1.{index}"] == 8
    fleet.clear_jam(LEXMARK)
    assert decode_error_flags(snmp.get(LEXMARK, ERRORS)) == []  # type: ignore[arg-type]
    codes = snmp.column(LEXMARK, f"{PRT_ALERT}.7")
    assert 8 not in codes.values()


def test_offline_device_times_out_others_answer_and_it_comes_back(fleet: SimulatedFleet, snmp: Manager) -> None:
    fleet.take_offline(KYOCERA)
    start = time.monotonic()
    with pytest.raises(SnmpTimeout):
        snmp.get(KYOCERA, SYS_UPTIME, timeout=0.5)
    assert time.monotonic() - start >= 0.4  # a real timeout, not an error response
    assert isinstance(snmp.get(HP, SYS_UPTIME), int)
    fleet.bring_online(KYOCERA)
    assert isinstance(snmp.get(KYOCERA, SYS_UPTIME), int)


def test_switch_dies_and_returns_rebooted(fleet: SimulatedFleet, snmp: Manager) -> None:
    uptime = snmp.get(SWITCH, SYS_UPTIME)
    fleet.take_offline(SWITCH)
    with pytest.raises(SnmpTimeout):
        snmp.get(SWITCH, SYS_UPTIME, timeout=0.5)
    fleet.bring_online(SWITCH, rebooted=True)
    after = snmp.get(SWITCH, SYS_UPTIME)
    assert isinstance(after, int)
    assert isinstance(uptime, int)
    assert after < uptime
    assert snmp.get(SWITCH, "1.3.6.1.2.1.31.1.1.1.6.1") == 0  # ifHCInOctets restarted


def test_an_office_hour_raises_pages_and_lowers_toner(fleet: SimulatedFleet, snmp: Manager) -> None:
    brother_life = snmp.get(BROTHER, LIFE)
    hp_levels = snmp.column(HP, PRT_SUPPLY_LEVEL)
    octets = snmp.get(SWITCH, "1.3.6.1.2.1.31.1.1.1.6.25")
    fleet.replace_supply(HP, 1)  # a full black cartridge, so the hour is not cut short
    for _ in range(6):
        fleet.tick(600, TUESDAY_10AM)
    assert snmp.get(BROTHER, LIFE) > brother_life  # type: ignore[operator]
    assert snmp.get(KYOCERA, LIFE) == 187_330  # jammed in its recording: a jammed printer prints nothing
    after = snmp.column(HP, PRT_SUPPLY_LEVEL)
    assert after["1.1"] < 100
    assert all(after[i] <= hp_levels[i] for i in ("1.2", "1.3", "1.4"))  # type: ignore[operator]
    assert snmp.get(SWITCH, "1.3.6.1.2.1.31.1.1.1.6.25") > octets  # type: ignore[operator]


def test_demo_runner_serves_a_moving_fleet_and_stops_cleanly(tmp_path: Path) -> None:
    """``python -m collector.demo.fleet_runner``: prints endpoints, pages rise between ticks, SIGTERM stops snmpsim."""
    port = free_udp_port()

    async def life() -> Value:
        session = SnmpSession(new_engine(), "127.0.0.1", port, Credentials(community=BROTHER), timeout=0.5, retries=0)
        return (await session.get([LIFE]))[LIFE]

    args = ["--port", str(port), "--interval", "0.2", "--speed", "3600", "--start", "2024-03-12T09:00", "--seed", "1"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "collector.demo.fleet_runner", *args],
        stdout=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=ENV,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()  # blocks until snmpsim answers and the fleet is listed
        assert first.split("\t")[1] == f"127.0.0.1:{port}"
        before = asyncio.run(life())
        deadline = time.monotonic() + 10
        while asyncio.run(life()) == before:  # each check is a real GET; ticks come every 0.2 s
            assert time.monotonic() < deadline, "pages never rose"
    finally:
        proc.terminate()
        assert proc.wait(10) == 0
    with pytest.raises(SnmpTimeout):  # snmpsim went with it
        asyncio.run(life())
