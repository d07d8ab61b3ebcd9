"""ForecastStage on a real SQLite file: readings for the rules, persisted forecasts, replacements, stock."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.wire import Counters, Device, DeviceKind, DevicePoll, Supply, SupplyState
from collector.alerts import AlertState
from collector.forecast.stage import ForecastStage
from collector.forecast.store import read_forecasts, replacements_per_device_part
from collector.incidents.manager import IncidentService
from collector.incidents.policy import load_policy
from collector.paths import shipped_rules_dir
from collector.rules import RuleEngine, device_info, load_rules
from collector.series import Reading, flatten
from collector.stock import store as stock
from collector.storage.sqlite import SqliteStorage, connect

H = 3600.0
DEV = "p1"
PART = "CF410A"
T0 = datetime(2024, 3, 4, tzinfo=UTC).timestamp()  # a Monday


def poll(ts: float, level: int, pages: int, part: str = PART, dev: str = DEV) -> DevicePoll:
    return DevicePoll(
        device_id=dev,
        ts=ts,
        device=Device(address="127.0.0.1", model="M477", kind=DeviceKind.printer),
        supplies=[
            Supply(
                index="1.1",
                description="Black Cartridge",
                part_number=part,
                type="toner",
                color="black",
                capacity=100,
                level=level,
                percent=float(level),
                state=SupplyState.ok,
            )
        ],
        counters=Counters(total_pages=pages),
    )


def office_history(days: int, per_hour: float = 10.0, ppp: float = 25.0, start: float = 90.0) -> list[DevicePoll]:
    """Hourly polls, Mon-Fri 09-17 printing ``per_hour`` pages; levels truncated to whole percent."""
    out, pages, level = [], 10_000.0, start
    for h in range(days * 24):
        ts = T0 + h * H
        d = datetime.fromtimestamp(ts, UTC)
        out.append(poll(ts, int(level), int(pages)))
        if d.weekday() < 5 and 9 <= d.hour < 17:
            pages += per_hour
            level -= per_hour / ppp
    return out


class Rig:
    """Storage + stage on one SQLite file, fed the way the collector feeds them: store, then observe."""

    def __init__(self, path: Path, incidents: IncidentService | None = None) -> None:
        self.path = path
        self.storage = SqliteStorage(path)
        self.stage = ForecastStage(path, incidents)
        self.n = 0

    def store(self, polls: list[DevicePoll]) -> list[list[Reading]]:
        readings = [flatten(p) for p in polls]
        self.n += 1
        self.storage.store_batch(f"b{self.n}", "a", polls, readings, polls[-1].ts)
        return readings

    def feed(self, p: DevicePoll) -> list[Reading]:
        (readings,) = self.store([p])
        self.stage.observe([p], [readings], p.ts)
        return readings

    def db(self) -> sqlite3.Connection:
        return connect(self.path, readonly=True)

    def close(self) -> None:
        self.stage.close()
        self.storage.close()


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    r = Rig(tmp_path / "fleetwatch.db")
    yield r
    r.close()


def _one(readings: list[Reading], metric: str) -> Reading:
    (r,) = [x for x in readings if x.metric == metric]
    return r


def test_days_to_empty_reading_has_the_supply_labels_and_is_persisted(rig: Rig) -> None:
    hist = office_history(21)
    rig.store(hist[:-1])
    last = hist[-1]
    readings = rig.feed(last)
    days = _one(readings, "supply_days_to_empty")
    assert days.labels == _one(readings, "supply_percent").labels
    # 90% - 15 working days * 80 pages / 25 = 42% left at the last poll (Sunday 23:00) = 1050 pages =
    # 13.1 working days at 80/day: Thursday ~10:00 of the third week = 17.5 days (device shows 41: a bit less).
    assert 16.0 < days.value < 18.0
    assert not [r for r in readings if r.metric == "supply_lead_time_days"], "part not under stock management"
    with rig.db() as db:
        (row,) = read_forecasts(db, last.ts)
    assert (row["device"], row["supply"], row["part_number"]) == (DEV, "1.1", PART)
    assert row["days_to_empty"] == pytest.approx(days.value, abs=0.01)
    assert row["confidence"] in ("good", "fair")
    assert row["low"] <= row["days_to_empty"] <= row["high"]


def test_recomputes_on_level_change_or_age_only(rig: Rig) -> None:
    hist = office_history(14)
    rig.store(hist[:-1])
    p = hist[-1]  # Sunday 23:00
    first = _one(rig.feed(p), "supply_days_to_empty").value
    n = rig.stage.stats.recomputes
    a_minute_later = poll(p.ts + 60, p.supplies[0].level, p.counters.total_pages)
    again = _one(rig.feed(a_minute_later), "supply_days_to_empty").value
    assert rig.stage.stats.recomputes == n, "same level a minute later: cached forecast, no history read"
    assert again == pytest.approx(first - 60 / 86400), "the cached empty date, counted from the new poll"
    lower = poll(p.ts + 120, p.supplies[0].level - 3, p.counters.total_pages + 75)
    rig.feed(lower)
    assert rig.stage.stats.recomputes == n + 1, "a level change is recomputed at once"
    rig.feed(poll(p.ts + 180, lower.supplies[0].level, lower.counters.total_pages))
    assert rig.stage.stats.recomputes == n + 2, "... and at the next poll, which confirms or refutes a jump"
    rig.feed(poll(p.ts + 240, lower.supplies[0].level, lower.counters.total_pages))
    assert rig.stage.stats.recomputes == n + 2
    later = poll(p.ts + 180 + rig.stage.refresh, lower.supplies[0].level, lower.counters.total_pages)
    rig.feed(later)
    assert rig.stage.stats.recomputes == n + 3, "older than `refresh`: recomputed"


def test_a_small_jump_is_recorded_at_the_confirming_poll(rig: Rig) -> None:
    """76 -> 100 is below the 30-point jump believed on one reading: the next poll, same level, confirms it."""
    hist = office_history(14, start=90.0)
    rig.store(hist[:-1])
    p = hist[-1]
    rig.feed(p)
    level, pages = p.supplies[0].level, p.counters.total_pages
    assert level is not None
    rig.feed(poll(p.ts + 60, level + 20, pages + 5))
    rig.feed(poll(p.ts + 120, level + 20, pages + 5))
    with rig.db() as db:
        assert db.execute("SELECT removed_at, swapped_early FROM cartridge_lives").fetchall() == [(p.ts + 60, 1)]


def test_lead_time_reading_for_a_managed_part_makes_the_rule_fire(rig: Rig) -> None:
    hist = office_history(21)
    rig.store(hist[:-1])
    with connect(rig.path) as db:
        stock.set_part(db, PART, hist[-1].ts, on_hand=2, lead_time_days=30)
    rig.stage.tick(hist[-1].ts)  # the collector re-reads stock every tick
    readings = rig.feed(hist[-1])
    lead = _one(readings, "supply_lead_time_days")
    assert lead.value == 30.0
    assert lead.labels == _one(readings, "supply_percent").labels

    rules, errors = load_rules([shipped_rules_dir()])
    assert errors == []
    engine = RuleEngine([r for r in rules if r.alert == "supply_runs_out_before_delivery"])
    events = engine.evaluate(DEV, readings, device_info(hist[-1]), hist[-1].ts)
    (ev,) = [e for e in events if e.state == AlertState.firing]
    assert ev.severity == "P3"
    assert ev.incident_type == "supply"
    assert dict(ev.labels)["supply"] == "1.1"


def test_replacement_is_recorded_once_and_takes_one_unit_from_stock(rig: Rig) -> None:
    hist = office_history(21, start=55.0)  # ends at 55 - 15 days * 80 / 25 = 7 %
    rig.store(hist[:-1])
    ts = hist[-1].ts
    with connect(rig.path) as db:
        stock.set_part(db, PART, ts - 3 * 86400, on_hand=3, lead_time_days=7)
    rig.feed(hist[-1])
    pages = hist[-1].counters.total_pages
    rig.feed(poll(ts + H, 100, pages + 5))  # the jump: a big one is believed at once for the forecast ...
    with rig.db() as db:
        assert db.execute("SELECT COUNT(*) FROM cartridge_lives").fetchone()[0] == 0, "... but not yet recorded"
    readings = rig.feed(poll(ts + 2 * H, 100, pages + 30))  # confirmed by the next reading
    rig.feed(poll(ts + 3 * H, 99, pages + 60))
    with rig.db() as db:
        (life,) = db.execute(
            "SELECT part_number, installed_part, removed_at, end_level, swapped_early, cause, pages_printed"
            " FROM cartridge_lives"
        ).fetchall()
        assert life[:6] == (PART, PART, ts + H, 7.0, 0, "level_jump")  # used down to 7 %: not swapped early
        assert life[6] == pytest.approx(pages + 5 - 10_000, abs=1)
        assert stock.get_part(db, PART).part.on_hand == 2
        (mv,) = [m for m in stock.movements(db, PART) if m["reason"] == "replacement"]
        assert (mv["delta"], mv["on_hand_after"], mv["device"], mv["ts"]) == (-1, 2, DEV, ts + H)
        (rep,) = replacements_per_device_part(db, ts, ts + 86400)
        assert (rep["device"], rep["part_number"], rep["replacements"], rep["swapped_early"]) == (DEV, PART, 1, 0)
    # the new unit's forecast is from 100 %: far away
    assert _one(readings, "supply_days_to_empty").value > 20


def test_a_lone_bad_read_is_not_a_replacement(rig: Rig) -> None:
    hist = office_history(14, start=50.0)
    rig.store(hist[:-1])
    ts, pages = hist[-1].ts, hist[-1].counters.total_pages
    with connect(rig.path) as db:
        stock.set_part(db, PART, ts - 86400, on_hand=3)
    rig.feed(hist[-1])
    level = hist[-1].supplies[0].level
    rig.feed(poll(ts + H, 100, pages))  # door open, sensor reads full for one poll (seen on HP M4xx)
    rig.feed(poll(ts + 2 * H, level, pages))
    rig.feed(poll(ts + 3 * H, level, pages + 10))
    with rig.db() as db:
        assert db.execute("SELECT COUNT(*) FROM cartridge_lives").fetchone()[0] == 0
        assert stock.get_part(db, PART).part.on_hand == 3


def test_replacement_before_stock_was_counted_does_not_decrement(rig: Rig) -> None:
    hist = office_history(10, start=30.0)
    ts, pages = hist[-1].ts, hist[-1].counters.total_pages
    rig.store([*hist, poll(ts + H, 100, pages), poll(ts + 2 * H, 100, pages + 10)])
    with connect(rig.path) as db:
        stock.set_part(db, PART, ts + 3 * H, on_hand=4)  # counted after the swap
    rig.stage.tick(ts + 3 * H)
    rig.feed(poll(ts + 4 * H, 100, pages + 20))
    with rig.db() as db:
        assert db.execute("SELECT COUNT(*) FROM cartridge_lives").fetchone()[0] == 1
        assert stock.get_part(db, PART).part.on_hand == 4


def test_parts_and_usage_are_learned_from_polls(rig: Rig) -> None:
    rig.feed(poll(T0, 50, 100))
    rig.feed(poll(T0, 80, 100, part="CF411A", dev="p2"))
    with rig.db() as db:
        parts = {sp.part.part_number: sp for sp in stock.list_parts(db)}
        assert set(parts) == {PART, "CF411A"}
        assert not parts[PART].managed, "learned, not counted: no stock figure invented"
        assert parts[PART].part.description == "Black Cartridge"
        assert stock.part_devices(db)[PART] == [(DEV, "1.1", T0)]


@pytest.fixture
def incidents(tmp_path: Path) -> Iterator[IncidentService]:
    svc = IncidentService(tmp_path / "fleetwatch.db", load_policy())
    yield svc
    svc.close()


def _incidents(path: Path) -> list[sqlite3.Row]:
    db = connect(path, readonly=True)
    db.row_factory = sqlite3.Row
    try:
        return db.execute("SELECT number, device, rule, type, severity, state FROM incidents").fetchall()
    finally:
        db.close()


def test_stock_below_reorder_point_opens_a_supply_order_incident_until_received(
    tmp_path: Path, incidents: IncidentService
) -> None:
    rig = Rig(tmp_path / "fleetwatch.db", incidents)
    try:
        hist = office_history(21, start=40.0)  # ends near 0 %: needed within any lead time
        rig.store(hist[:-1])
        rig.feed(hist[-1])
        now = hist[-1].ts
        with connect(rig.path) as db:
            stock.set_part(db, PART, now, on_hand=1, safety_stock=1, lead_time_days=7)
        rig.stage.tick(now)
        (inc,) = _incidents(rig.path)
        # needs within 7 days: 1 (this printer); reorder point 1 + 1 = 2 > position 1. Position 1 covers the
        # need itself, so only the safety stock is touched: P4.
        assert (inc["device"], inc["rule"], inc["type"], inc["severity"]) == (
            "stock:CF410A",
            "stock_below_reorder_point",
            "supply_order",
            "P4",
        )
        rig.stage.tick(now + 10)
        assert len(_incidents(rig.path)) == 1, "still below: no second incident"
        with connect(rig.path) as db:
            stock.receive(db, PART, 2, now + 20)
        rig.stage.tick(now + 30)
        (inc,) = _incidents(rig.path)
        assert inc["state"] == "resolved"
    finally:
        rig.close()


def test_shortage_is_p3(tmp_path: Path, incidents: IncidentService) -> None:
    rig = Rig(tmp_path / "fleetwatch.db", incidents)
    try:
        hist = office_history(21, start=40.0)
        rig.store(hist[:-1])
        rig.feed(hist[-1])
        with connect(rig.path) as db:
            stock.set_part(db, PART, hist[-1].ts, on_hand=0, lead_time_days=7)
        rig.stage.tick(hist[-1].ts)
        (inc,) = _incidents(rig.path)
        assert inc["severity"] == "P3", "the printer will wait for a cartridge that is not on the shelf"
    finally:
        rig.close()


def test_incremental_history_equals_a_fresh_read(rig: Rig) -> None:
    """Reading only new rows poll after poll gives the same series as reading everything at once."""
    from collector.forecast.history import DeviceHistory, SupplyKey

    hist = office_history(10)
    key = SupplyKey(DEV, "1.1", "toner", "black")
    rig.store(hist[:100])
    db = connect(rig.path)
    try:
        inc = DeviceHistory(db, DEV)
        inc.series(key, hist[99].ts)
        for i in range(100, len(hist), 7):
            rig.store(hist[i : i + 7])
            got = inc.series(key, hist[min(i + 6, len(hist) - 1)].ts)
        fresh_read = DeviceHistory(db, DEV)
        fresh = fresh_read.series(key, hist[-1].ts)
        assert inc.rows_read < 2 * len(hist) + 10, "each row read once (supply + page counter)"
    finally:
        db.close()
    assert got.t.tolist() == fresh.t.tolist()
    assert got.level.tolist() == fresh.level.tolist()
    assert got.pages.tolist() == fresh.pages.tolist()
    assert len(fresh_read.supplies[key].t) < len(hist) / 2, "flat stretches of the level are not kept"
