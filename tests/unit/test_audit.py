"""The audit log is tamper-evident: `fleetwatch audit verify` names what was edited, deleted or reordered."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from collector.cli import main
from collector.incidents import audit, db, store
from collector.incidents.manager import IncidentService, acknowledge, add_note
from collector.incidents.testing import device, event, make_policy, paris

T0 = paris(2026, 1, 12, 10, 0)


@pytest.fixture
def state(tmp_path: Path, incident_db: str | Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two incidents, seven audit entries: 1 open, 2 open, 3 ack #1, 4 note #1, 5 note #2, 6 resolve #2, 7 note #1.

    On PostgreSQL the commands find the database through ``FLEETWATCH_INCIDENT_DB``, as a user's shell would.
    """
    if db.is_url(incident_db):
        monkeypatch.setenv(db.ENV, str(incident_db))
    svc = IncidentService(incident_db, make_policy())
    devs = {"printer-1": device(), "printer-2": device("printer-2")}
    svc.handle([event("firing", T0), event("firing", T0, device_id="printer-2")], devs, T0)
    acknowledge(svc.conn, 1, "ana", T0 + timedelta(minutes=1))
    add_note(svc.conn, 1, "on my way", "ana", T0 + timedelta(minutes=2))
    add_note(svc.conn, 2, "same jam as last week", "bob", T0 + timedelta(minutes=3))
    svc.handle([event("resolved", T0 + timedelta(minutes=4), device_id="printer-2")], devs, T0)
    add_note(svc.conn, 1, "roller worn", "ana", T0 + timedelta(minutes=5))
    svc.close()
    return tmp_path


def _verify(state: Path) -> tuple[int, str]:
    r = CliRunner().invoke(main, ["audit", "verify", "--state-dir", str(state)])
    return r.exit_code, r.output


def _raw(state: Path):  # type: ignore[no-untyped-def]
    """A plain connection to the incident tables, as a forger with database access would use (autocommit)."""
    return db.connect_raw(db.target_for(state / "fleetwatch.db"))


def _sql(state: Path, *statements: str) -> None:
    conn = _raw(state)
    for s in statements:
        conn.execute(s)
    conn.close()


def test_untouched_log_verifies(state: Path) -> None:
    code, out = _verify(state)
    assert code == 0, out
    assert "ok: 7 entries, 2 incidents" in out


@pytest.mark.parametrize(
    ("statements", "expected"),
    [
        pytest.param(
            ["UPDATE incidents SET state = 'closed', cause = 'nothing' WHERE number = 1"],
            ["incident 1: row differs from audit entry 7 in cause, state (edited directly)"],
            id="row-edited-in-sqlite",
        ),
        pytest.param(
            ["UPDATE incident_audit SET actor = 'mallory' WHERE seq = 3"],
            ["entry 3 (incident 1): content does not match its hash (entry edited: acknowledge)"],
            id="entry-edited",
        ),
        pytest.param(
            ["DELETE FROM incident_audit WHERE seq = 5"],
            ["entry 6 (incident 2): entry 5 is missing before it (deleted)"],
            id="entry-deleted",
        ),
        pytest.param(
            ["DELETE FROM incident_audit WHERE seq = 7"],
            ["incident 1: row claims audit entry 7, log ends at 4"],
            id="last-entry-deleted-caught-through-the-row",
        ),
        pytest.param(
            [
                "UPDATE incident_audit SET seq = -1 WHERE seq = 4",
                "UPDATE incident_audit SET seq = 4 WHERE seq = 5",
                "UPDATE incident_audit SET seq = 5 WHERE seq = -1",
            ],
            [
                "entry 4 (incident 2): content does not match its hash",
                "entry 5 (incident 1): content does not match its hash",
            ],
            id="entries-reordered",
        ),
    ],
)
def test_tampering_is_caught(state: Path, statements: list[str], expected: list[str]) -> None:
    _sql(state, *statements)
    code, out = _verify(state)
    assert code == 1
    for message in expected:
        assert message in out


def test_entry_rehashed_after_edit_is_still_caught(state: Path) -> None:
    """A forger who recomputes the edited entry's hash breaks the link to the next entry."""
    conn = _raw(state)
    r = dict(conn.execute("SELECT * FROM incident_audit WHERE seq = 4").fetchone())
    r["data"] = '{"text":"never went"}'
    new = audit.entry_hash({**r, "data": json.loads(r["data"]), "snapshot": json.loads(r["snapshot"])})
    conn.execute("UPDATE incident_audit SET data = ?, hash = ? WHERE seq = 4", (r["data"], new))
    conn.close()
    code, out = _verify(state)
    assert code == 1
    assert "entry 5 (incident 2): prev_hash does not match" in out


def test_deleted_and_inserted_rows_are_caught(state: Path) -> None:
    conn = _raw(state)
    row = dict(conn.execute("SELECT * FROM incidents WHERE number = 2").fetchone())
    conn.execute("DELETE FROM incidents WHERE number = 2")
    row["number"] = 3
    conn.execute(f"INSERT INTO incidents ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", tuple(row.values()))
    conn.close()
    code, out = _verify(state)
    assert code == 1
    assert "incident 3: row has no audit entry" in out
    assert "entry 6 (incident 2): incident is in the log but its row is gone (deleted)" in out


def test_timeline_comes_from_the_log(state: Path) -> None:
    conn = store.connect(db.target_for(state / "fleetwatch.db"))
    assert [(e.action, e.actor) for e in audit.timeline(conn, 1)] == [
        ("open", "fleetwatch"),
        ("acknowledge", "ana"),
        ("note", "ana"),
        ("note", "ana"),
    ]


def test_real_command_exit_code(state: Path) -> None:
    _sql(state, "UPDATE incidents SET assignee = 'nobody' WHERE number = 2")
    proc = subprocess.run(
        [sys.executable, "-m", "collector.cli", "audit", "verify", "--state-dir", str(state)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "incident 2: row differs from audit entry 6 in assignee" in proc.stdout
