"""A toner's life over real processes: forecast, low-toner incident, replacement, stock, supply order.

snmpsim serves the demo HP M477 (collector.demo.fleet changes it at run time), the agent polls it every
second, the collector runs the forecast stage before the rules. The printer has been monitored for three
weeks already: that history is stored through the real storage path before the collector starts (a forecast
needs days of page-counter history, which a test cannot wait for in wall time).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.probes import printer as printer_probe
from agent.snmprec import Recording
from agent.wire import Counters, Device, DeviceKind, DevicePoll
from collector.demo.fleet import PRT_LIFE_COUNT, SimulatedFleet
from collector.paths import REPO_ROOT
from collector.series import flatten
from collector.storage.sqlite import SqliteStorage
from tests.e2e.conftest import Stack, fleetwatch
from tests.support.net import wait_for

RECORDINGS = REPO_ROOT / "deploy" / "demo" / "recordings"
PRINTER = "hp-clj-m477"
PART = "CF410A"  # the black cartridge's part number in that recording
PAGES_PER_PERCENT = 25  # demo profile: black toner yields 2,500 pages
H = 3600.0


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[SimulatedFleet]:
    f = SimulatedFleet(RECORDINGS, tmp_path / "fleet", devices=[PRINTER])
    f.start()
    yield f
    f.close()


def _seed_history(state: Path, fleet: SimulatedFleet, now: float) -> int:
    """Three weeks of hourly polls: 8 pages an hour in office hours (09-17 UTC, Mon-Fri), 25 pages per percent,
    ending at the simulated printer's page counter. Returns the black level the history ends at."""
    dev = fleet.printer(PRINTER)
    pages_now = dev.data.integer(f"{PRT_LIFE_COUNT}.1.1")
    rec = Recording.load(dev.path)
    black = next(s for s in printer_probe.parse_supplies(rec.fetch(printer_probe.FETCH)) if s.index == "1.1")
    assert black.part_number == PART
    hours = [now - h * H for h in range(21 * 24, 0, -1)]
    printed = [
        8 if datetime.fromtimestamp(ts, UTC).weekday() < 5 and 9 <= datetime.fromtimestamp(ts, UTC).hour < 17 else 0
        for ts in hours
    ]
    pages = pages_now - sum(printed)
    used = 0
    polls = []
    for ts, n in zip(hours, printed, strict=True):
        level = int(100 - used / PAGES_PER_PERCENT)
        supply = black.model_copy(update={"level": level, "percent": float(level)})
        polls.append(
            DevicePoll(
                device_id=PRINTER,
                ts=ts,
                device=Device(address="127.0.0.1", vendor="HP", kind=DeviceKind.printer),
                supplies=[supply],
                counters=Counters(total_pages=pages + used),
            )
        )
        used += n
    storage = SqliteStorage(state / "fleetwatch.db")
    try:
        for i in range(0, len(polls), 50):
            chunk = polls[i : i + 50]
            storage.store_batch(f"seed-{i}", "seed", chunk, [flatten(p) for p in chunk], now)
    finally:
        storage.close()
    return int(100 - used / PAGES_PER_PERCENT)


def _forecast(stack: Stack) -> dict[str, object] | None:
    rows = stack.cli_json("forecast", "--device", PRINTER)
    return next((r for r in rows if r["supply"] == "1.1"), None)  # type: ignore[union-attr]


def _incidents(stack: Stack, **filters: str) -> list[dict[str, object]]:
    rows = stack.cli_json("incidents", "list")
    return [r for r in rows if all(r.get(k) == v for k, v in filters.items())]  # type: ignore[union-attr]


def _part(stack: Stack) -> dict[str, object]:
    return next(p for p in stack.cli_json("stock", "list") if p["part_number"] == PART)  # type: ignore[union-attr]


def _print(fleet: SimulatedFleet, pages: int, chunks: int) -> None:
    """Print in chunks over several polls, as an office does (one burst would hide the pages per percent)."""
    for _ in range(chunks):
        fleet.advance_pages(PRINTER, pages // chunks)
        time.sleep(1.2)


def test_toner_forecast_replacement_stock_and_supply_order(stack: Stack, fleet: SimulatedFleet) -> None:
    state = stack.root / ".fleetwatch"
    state.mkdir()
    level = _seed_history(state, fleet, time.time())
    fleet.set_level(PRINTER, 1, level)  # the live printer continues where the history ends (~61 %)
    _, port = fleet.endpoint
    stack.sim = type("S", (), {"port": port})()  # the fleet's snmpsim replaces the session one
    stack.write_configs([{"name": PRINTER, "address": "127.0.0.1", "community": PRINTER}])
    fleetwatch("stock", "set", PART, "--on-hand", "2", "--safety-stock", "1", "--lead-time-days", "7", cwd=stack.root)
    stack.collector.start()
    stack.agent.start()

    # 1. A forecast appears: ~61 % x 25 pages = ~1,500 pages at ~64 pages a working day: about a month.
    f = wait_for(lambda: (r := _forecast(stack)) and r["days_to_empty"] is not None and r, 40, "a forecast")
    assert f["part_number"] == PART  # type: ignore[index]
    assert 20 < f["days_to_empty"] < 45, f  # type: ignore[index, operator]
    assert _incidents(stack, device=PRINTER, rule="supply_runs_out_before_delivery") == []

    # 2. The toner runs low: 1,300 pages today take it to ~9 %, ~225 pages = 3-4 working days < 7 days' lead time.
    _print(fleet, 1300, 10)
    (inc,) = wait_for(
        lambda: _incidents(stack, device=PRINTER, rule="supply_runs_out_before_delivery"), 30, "the P3 supply incident"
    )
    assert (inc["severity"], inc["type"]) == ("P3", "supply")
    f = _forecast(stack)
    assert f is not None
    assert f["days_to_empty"] < 7  # type: ignore[operator]
    # 2 on hand cover this printer's need within the lead time plus the safety stock of 1: no order yet.
    assert _part(stack)["below_reorder_point"] is False
    assert _incidents(stack, type="supply_order") == []

    # 3. A technician fits a new cartridge: one unit leaves the shelf by itself.
    fleet.replace_supply(PRINTER, 1)
    wait_for(lambda: _part(stack)["on_hand"] == 1, 30, "stock decremented on the replacement")
    moves = stack.cli_json("stock", "movements", PART)
    assert (moves[0]["reason"], moves[0]["delta"], moves[0]["device"]) == ("replacement", -1, PRINTER)  # type: ignore[index]
    time.sleep(2)  # several more polls and ticks: counted once
    assert _part(stack)["on_hand"] == 1
    assert _incidents(stack, type="supply_order") == [], "1 on hand = the safety stock: at the reorder point"

    # 4. The new cartridge is swapped early (a quality complaint): the shelf drops below its safety stock.
    _print(fleet, 600, 4)
    fleet.replace_supply(PRINTER, 1)
    (order,) = wait_for(lambda: _incidents(stack, type="supply_order"), 30, "the supply-order incident")
    assert (order["device"], order["rule"], order["severity"]) == (f"stock:{PART}", "stock_below_reorder_point", "P4")
    assert _part(stack)["on_hand"] == 0
    rec = stack.cli_json("reorder")
    assert [(r["part_number"], r["quantity"]) for r in rec] == [(PART, 1)]  # type: ignore[index]

    # 5. Delivery: the incident resolves by itself.
    fleetwatch("stock", "receive", PART, "3", cwd=stack.root)
    wait_for(lambda: _incidents(stack, number=order["number"], state="resolved"), 30, "supply order resolved")

    with sqlite3.connect(state / "fleetwatch.db") as db:
        lives = db.execute("SELECT swapped_early FROM cartridge_lives WHERE device = ? ORDER BY removed_at", (PRINTER,))
        assert [r[0] for r in lives] == [0, 1]
        stats = dict(db.execute("SELECT key, value FROM collector_stats WHERE key LIKE 'forecast_%'").fetchall())
    per_poll = stats["forecast_observe_seconds_total"] / stats["forecast_polls"]
    print(
        f"\nforecast stage: {stats['forecast_polls']:.0f} polls, {stats['forecast_recomputes']:.0f} recomputes, "
        f"{per_poll * 1000:.2f} ms/poll mean, {stats['forecast_observe_seconds_max'] * 1000:.1f} ms max"
    )
    assert stack.collector.alive()
