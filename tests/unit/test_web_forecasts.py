"""The web side reads the forecasts the collector's stage stored instead of forecasting the fleet again."""

import sqlite3
from pathlib import Path

from collector.forecast.store import ensure_schema
from collector.web.forecasts import compute

NOW = 1_800_000_000.0
DAY = 86400.0


def test_stored_forecasts_are_read_not_recomputed(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "f.db")
    ensure_schema(db)
    db.execute(
        "INSERT INTO forecasts (device, supply, empty_at, confidence, computed_at) VALUES (?,?,?,?,?)",
        ("hp-1", "1.1", NOW + 3 * DAY, "good", NOW - 60),
    )
    db.execute(
        "INSERT INTO forecasts (device, supply, empty_at, confidence, computed_at) VALUES (?,?,?,?,?)",
        ("hp-1", "1.2", None, "poor", NOW - 60),
    )
    # No series/samples tables exist: the recomputing path could not have produced these numbers.
    days = compute(db, NOW)
    assert days["hp-1"]["1.1"] == 3.0
    assert days["hp-1"]["1.2"] is None
