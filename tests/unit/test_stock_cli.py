"""``fleetwatch stock`` and ``fleetwatch reorder`` on a real SQLite state directory: contracts and bad input."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from collector.cli import main
from collector.forecast.model import Confidence, Forecast
from collector.forecast.store import SupplyInfo, upsert_forecast
from collector.stock import store
from collector.storage.sqlite import SqliteStorage, connect

LIST_KEYS = {
    "part_number",
    "description",
    "managed",
    "on_hand",
    "on_order",
    "location",
    "lead_time_days",
    "safety_stock",
    "reorder_point",
    "below_reorder_point",
    "devices",
}
REORDER_KEYS = {
    "part_number",
    "description",
    "quantity",
    "order_by",
    "order_by_days",
    "overdue",
    "on_hand",
    "on_order",
    "safety_stock",
    "lead_time_days",
    "location",
    "reorder_point",
    "demand_over_lead_time",
    "devices",
    "unknown_devices",
}


@pytest.fixture
def state(tmp_path: Path) -> Path:
    SqliteStorage(tmp_path / "fleetwatch.db").close()  # what a collector leaves behind
    return tmp_path


def run(state: Path, *args: str) -> Result:
    return CliRunner().invoke(main, [*args, "--state-dir", str(state)])


def js(state: Path, *args: str) -> object:
    res = run(state, *args, "--json")
    assert res.exit_code == 0, res.output
    return json.loads(res.output)


def _forecast(db, device: str, part: str, days: float | None, days_per_unit: float | None) -> None:  # type: ignore[no-untyped-def]
    """A stored forecast whose unit lasts ``days_per_unit`` days (100 % x ppp / pages per day)."""
    now = time.time()
    f = Forecast(
        now,
        days,
        days,
        days,
        Confidence.good,
        level_now=10.0,
        pages_per_percent=None if days_per_unit is None else days_per_unit,
        pages_per_day=100.0,
    )
    upsert_forecast(db, SupplyInfo(device, "1.1", part, "Black toner", "toner", "black"), f)


def test_set_receive_and_list(state: Path) -> None:
    res = run(state, "stock", "set", "CF410A", "--on-hand", "2", "--lead-time-days", "5", "--location", "B2")
    assert res.exit_code == 0, res.output
    assert run(state, "stock", "receive", "CF410A", "3").exit_code == 0
    with connect(state / "fleetwatch.db") as db:
        store.learn_part(db, "CF411A", "Cyan Cartridge", "hp-1", "1.2", 1_700_000_000.0)
    rows = {r["part_number"]: r for r in js(state, "stock", "list")}  # type: ignore[union-attr]
    assert set(rows["CF410A"]) == LIST_KEYS
    assert (rows["CF410A"]["on_hand"], rows["CF410A"]["lead_time_days"], rows["CF410A"]["location"]) == (5, 5.0, "B2")
    assert rows["CF410A"]["managed"] is True
    assert rows["CF410A"]["reorder_point"] == 0
    assert rows["CF410A"]["below_reorder_point"] is False
    learned = rows["CF411A"]
    assert learned["managed"] is False
    assert learned["on_hand"] is None, "learned from a poll: stock unknown, not zero"
    assert learned["devices"] == [{"device": "hp-1", "supply": "1.2", "last_seen": "2023-11-14T22:13:20+00:00"}]
    moves = js(state, "stock", "movements", "CF410A")
    assert [(m["reason"], m["delta"], m["on_hand_after"]) for m in moves] == [("receive", 3, 5), ("count", 2, 2)]  # type: ignore[index]
    text = run(state, "stock", "list").output
    assert "CF410A" in text
    assert "unmanaged" in text


def test_receive_reduces_on_order(state: Path) -> None:
    run(state, "stock", "set", "P1", "--on-hand", "0", "--on-order", "4")
    run(state, "stock", "receive", "P1", "3")
    (row,) = js(state, "stock", "list")  # type: ignore[misc]
    assert (row["on_hand"], row["on_order"]) == (3, 1)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        pytest.param(["stock", "receive", "NOPE", "1"], "unknown part 'NOPE'", id="receive-unknown-part"),
        pytest.param(["stock", "receive", "P1", "0"], "positive", id="receive-zero"),
        pytest.param(["stock", "set", "P1", "--on-hand", "-1"], "-1", id="negative-on-hand"),
        pytest.param(["stock", "set", "P1", "--lead-time-days", "soon"], "soon", id="lead-time-not-a-number"),
    ],
)
def test_bad_stock_commands_are_clear_errors(state: Path, args: list[str], needle: str) -> None:
    run(state, "stock", "set", "P1", "--on-hand", "1")
    res = run(state, *args)
    assert res.exit_code == 2
    assert needle in res.output
    (row,) = js(state, "stock", "list")  # type: ignore[misc]
    assert row["on_hand"] == 1, "nothing changed"


def test_import_csv(state: Path, tmp_path: Path) -> None:
    f = tmp_path / "stock.csv"
    f.write_text(
        "part_number,description,on_hand,lead_time_days,safety_stock,location\n"
        "TN-2420,Black toner,4,7,1,store B2\n"
        "DR-2400,Drum,2,14,,\n"
    )
    res = run(state, "stock", "import", str(f))
    assert res.exit_code == 0, res.output
    rows = {r["part_number"]: r for r in js(state, "stock", "list")}  # type: ignore[union-attr]
    assert (rows["TN-2420"]["on_hand"], rows["TN-2420"]["safety_stock"], rows["TN-2420"]["location"]) == (
        4,
        1,
        "store B2",
    )
    assert (rows["DR-2400"]["on_hand"], rows["DR-2400"]["lead_time_days"], rows["DR-2400"]["safety_stock"]) == (
        2,
        14.0,
        0,
    )


def test_import_with_bad_rows_changes_nothing_and_names_every_line(state: Path, tmp_path: Path) -> None:
    f = tmp_path / "stock.csv"
    f.write_text("part_number,on_hand,lead_time_days\nA,3,7\nB,three,7\nC,1,-2\nA,1,1\n")
    res = run(state, "stock", "import", str(f))
    assert res.exit_code == 2
    for needle in ("line 3: on_hand", "line 4: lead_time_days", "line 5: A already given on line 2"):
        assert needle in res.output
    assert js(state, "stock", "list") == []


def test_import_unknown_column_is_an_error(state: Path, tmp_path: Path) -> None:
    f = tmp_path / "stock.csv"
    f.write_text("part,qty\nA,1\n")
    res = run(state, "stock", "import", str(f))
    assert res.exit_code == 2
    assert "part_number" in res.output


def _small_fleet(state: Path) -> None:
    """The fleet of test_reorder.py: every figure below is worked out there by hand."""
    with connect(state / "fleetwatch.db") as db:
        store.ensure_schema(db)
        from collector.forecast.store import ensure_schema

        ensure_schema(db)
        _forecast(db, "A", "TN-2420", 3, 20)  # needs at 3, 23, 43 ...
        _forecast(db, "B", "TN-2420", 5, 30)  # needs at 5, 35 ...
        _forecast(db, "C", "TN-2420", 40, 40)
        _forecast(db, "X", "TN-2420", None, None)  # no forecast
        _forecast(db, "E", "WT-300", 25, 30)  # needs at 25, 55, 85
        store.set_part(
            db, "TN-2420", time.time(), on_hand=1, on_order=1, lead_time_days=7, safety_stock=1, description="Black"
        )
        store.set_part(db, "WT-300", time.time(), on_hand=0, lead_time_days=10, description="Waste box")


def test_reorder_json_on_a_small_fleet(state: Path) -> None:
    _small_fleet(state)
    rows = js(state, "reorder")
    (toner,) = rows  # type: ignore[misc]
    assert set(toner) == REORDER_KEYS
    # lead time 7: needs at 3 (A) and 5 (B); position 1 + 1 = 2; 2 + safety 1 - 2 = order 1, already overdue.
    today = datetime.now(UTC).date().isoformat()
    assert (toner["part_number"], toner["quantity"], toner["order_by"], toner["overdue"]) == ("TN-2420", 1, today, True)
    assert toner["devices"] == ["A", "B"]
    assert toner["unknown_devices"] == ["X"]
    assert (toner["reorder_point"], toner["demand_over_lead_time"]) == (3, 2)

    everything = js(state, "reorder", "--all")
    (waste,) = [r for r in everything if r["part_number"] == "WT-300"]  # type: ignore[union-attr]
    # nothing needed within 10 days; the first need (day 25) sets the date: order by day 15
    assert (waste["quantity"], waste["order_by_days"], waste["overdue"]) == (0, pytest.approx(15.0, abs=0.01), False)


def test_reorder_csv_for_a_buyer(state: Path) -> None:
    _small_fleet(state)
    res = run(state, "reorder", "--csv")
    assert res.exit_code == 0, res.output
    (row,) = list(csv.DictReader(io.StringIO(res.output)))
    assert row["part_number"] == "TN-2420"
    assert row["quantity"] == "1"
    assert row["devices"] == "A; B"
    assert row["description"] == "Black"


def test_reorder_without_state_is_a_clear_error(tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["reorder", "--state-dir", str(tmp_path / "nowhere")])
    assert res.exit_code == 1
    assert "no collector state" in res.output
