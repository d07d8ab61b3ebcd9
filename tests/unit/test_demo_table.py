"""The demo's terminal table: what `make demo` prints every 30 s, read from a real SQLite state file."""

from __future__ import annotations

import time
from pathlib import Path

from agent.offline import poll_recording
from agent.snmprec import Recording
from collector.demo.run import status_table
from collector.incidents import store as incident_store
from collector.paths import REPO_ROOT
from collector.storage.sqlite import SqliteStorage
from collector.web.testing import store

RECORDINGS = REPO_ROOT / "deploy" / "demo" / "recordings"


def _table(tmp_path: Path, *stems: str) -> dict[str, str]:
    db = tmp_path / "fleetwatch.db"
    storage = SqliteStorage(db)
    try:
        now = time.time()
        store(storage, [poll_recording(Recording.load(RECORDINGS / f"{s}.snmprec"), s, now) for s in stems], now)
    finally:
        storage.close()
    incident_store.connect(db).close()  # the collector creates the incident tables at start
    lines = status_table(db).splitlines()
    return {line.split()[0]: line for line in lines[1:]}


def test_supplies_are_named_by_colour_for_toner_and_by_kind_otherwise(tmp_path: Path) -> None:
    rows = _table(tmp_path, "lexmark-ms621dn", "brother-hl-l5100dn", "kyocera-taskalfa-2553ci")
    lexmark = rows["lexmark-ms621dn"]
    # The black imaging unit is an "opc", not a second "black"; the fuser reports no number.
    assert lexmark.count("black ") == 1, lexmark
    assert " opc " in lexmark
    assert "fuser unknown" in lexmark
    assert "[door_open]" in lexmark
    assert "black some_remaining" in rows["brother-hl-l5100dn"]
    assert "[jammed]" in rows["kyocera-taskalfa-2553ci"]
    assert "waste_t" in rows["kyocera-taskalfa-2553ci"]
