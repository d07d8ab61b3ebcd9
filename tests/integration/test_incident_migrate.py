"""`fleetwatch incidents migrate`: a team's incident history moves to a shared database and keeps its numbers.

The source is a real collector state file written by the real IncidentService
(opened, acknowledged, resolved, closed, reopened incidents, an escalation, a
maintenance window holding an alert and another removed, notification
deliveries that failed against a closed port); the targets are real
PostgreSQL databases and SQLite files. What a maintenance contract relies on
is checked on the target: every row identical, the audit chain verifying, and
the next incident numbered after the last one and chained onto the same log.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from collector.cli import main
from collector.incidents import audit, db, maintenance, manager, store
from collector.incidents.maintenance import Window
from collector.incidents.migrate import TABLES
from collector.incidents.migrate import _has_table as has_table
from collector.incidents.testing import device, event, make_policy, paris
from collector.web import auth
from collector.web.auth import Role

T0 = paris(2026, 1, 12, 10, 0)
DEVS = {
    "printer-1": device(tier="premium", site="hq"),
    "printer-2": device("printer-2"),
    "printer-3": device("printer-3"),
    "printer-4": device("printer-4"),
}
PASSWORD = "mig-s3cret"


def _window(match: str, start_h: int, end_h: int) -> Window:
    return Window(
        scope="device",
        match=match,
        starts_at=T0 + timedelta(hours=start_h),
        ends_at=T0 + timedelta(hours=end_h),
        timezone="Europe/Paris",
        reason="toner swap",
        created_by="ana",
        created_at=T0,
    )


def build_history(target: str | Path) -> None:
    """A few days of a real team's incident record, through the same code paths the collector and CLI use."""
    svc = manager.IncidentService(target, make_policy())
    try:
        maintenance.add(svc.conn, _window("printer-3", -1, 2))
        removed = maintenance.add(svc.conn, _window("printer-4", 5, 6))
        maintenance.remove(svc.conn, removed.id or 0)  # ids 1 kept, 2 gone: the next window is #3, not #2
        svc.handle(
            [
                event("firing", T0),  # 1: acknowledged, resolved, closed, reopened by a person
                event("firing", T0, device_id="printer-2", rule="toner_low", severity="P4"),  # 2: auto-resolves
                event("firing", T0, device_id="printer-3"),  # held by the maintenance window
                event("firing", T0, device_id="printer-4", rule="unreachable", severity="P1"),  # 3: escalates
            ],
            DEVS,
            T0,
        )
        manager.acknowledge(svc.conn, 1, "ana", T0 + timedelta(minutes=5))
        manager.add_note(svc.conn, 1, "pickup roller worn — part ordered", "ana", T0 + timedelta(minutes=6))
        manager.resolve(svc.conn, 1, "bob", T0 + timedelta(hours=1), cause="worn roller", action="replaced it")
        manager.close(svc.conn, 1, "lead", T0 + timedelta(hours=2))
        manager.reopen(svc.conn, 1, "ana", T0 + timedelta(days=1), "jams again")
        later = T0 + timedelta(minutes=20)
        svc.handle([event("resolved", later, device_id="printer-2", rule="toner_low", severity="P4")], DEVS, later)
        again = T0 + timedelta(minutes=30)  # within the reopen window: #2 reopens as a repeat
        svc.handle([event("firing", again, device_id="printer-2", rule="toner_low", severity="P4")], DEVS, again)
        svc.tick(T0 + timedelta(minutes=10))  # P1 on printer-4: the p1-lead escalation step
        # the policy's webhook and mail relay are a closed port on loopback: deliveries fail and are retried
        asyncio.run(svc.deliver_pending(T0 + timedelta(minutes=11)))
        # API tokens live in the incident database: a wall token and a revoked one move with it
        auth.ensure_schema(svc.conn)
        auth.create_token(svc.conn, Role.viewer, "wall", T0.timestamp())
        gone, _ = auth.create_token(svc.conn, Role.admin, "old-admin", T0.timestamp() + 0.5)
        auth.revoke_token(svc.conn, gone.id, T0.timestamp() + 1.25)
    finally:
        svc.close()


def _open_new(svc: manager.IncidentService) -> Any:
    """A new fault while printer-3's window still holds its alert: exactly one incident opens."""
    later = T0 + timedelta(minutes=90)
    ev = event("firing", later, device_id="printer-4", rule="toner_low")
    (inc,) = svc.handle([ev], DEVS, later)
    return inc


def dump(target: str | Path) -> dict[str, list[tuple[Any, ...]]]:
    conn = db.connect_raw(target)
    try:
        return {
            t: [tuple(r) for r in conn.execute(f"SELECT * FROM {t} ORDER BY {o}").fetchall()] for t, o in TABLES.items()
        }
    finally:
        conn.close()


def counts(target: str | Path) -> dict[str, int]:
    conn = db.connect_raw(target)
    try:
        # a target an older collector wrote may lack api_tokens: a missing table counts 0, as in the migration
        return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] if has_table(conn, t) else 0 for t in TABLES}
    finally:
        conn.close()


def verify(target: str | Path) -> audit.Report:
    conn = db.connect_raw(target)
    try:
        return audit.verify(conn, store.raw_rows(conn))
    finally:
        conn.close()


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env)


def migrate_json(*args: str) -> dict[str, Any]:
    r = run("incidents", "migrate", *args, "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.output)


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(db.ENV, raising=False)


@pytest.fixture(scope="module")
def history_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once (the IncidentService work is the slow part); each test copies it."""
    path = tmp_path_factory.mktemp("history") / "fleetwatch.db"
    build_history(path)
    return path


@pytest.fixture
def state(tmp_path: Path, history_file: Path) -> Path:
    """A collector state directory whose SQLite file holds the history."""
    d = tmp_path / "state"
    d.mkdir()
    src = sqlite3.connect(history_file)
    dst = sqlite3.connect(d / "fleetwatch.db")
    src.backup(dst)
    src.close()
    dst.close()
    return d


def test_history_fixture_is_realistic(state: Path) -> None:
    """Guards the other tests: every table has rows and the window counter is past the largest window id."""
    n = counts(state / "fleetwatch.db")
    assert all(n.values()), n
    assert n["incidents"] == 3
    assert verify(state / "fleetwatch.db").ok


def test_sqlite_to_postgresql_copies_everything_and_numbering_continues(state: Path, pg_url: str) -> None:
    source = state / "fleetwatch.db"
    before = dump(source)
    source_bytes = hashlib.sha256(source.read_bytes()).hexdigest()
    src_report = verify(source)

    out = migrate_json("--state-dir", str(state), "--to", pg_url)

    assert out["tables"] == {t: len(rows) for t, rows in before.items()}
    assert out["next_ids"] == {
        "incidents": 4,
        "incident_maintenance": 3,
        "incident_outbox": len(before["incident_outbox"]) + 1,
    }
    assert out["audit"] == {"ok": True, "entries": src_report.entries, "incidents": 3, "head": src_report.head}
    assert out["dry_run"] is False
    assert dump(pg_url) == before
    assert hashlib.sha256(source.read_bytes()).hexdigest() == source_bytes  # only read

    r = run("audit", "verify", "--json", env={db.ENV: pg_url})
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["head"] == src_report.head

    # the next incident: number max+1, its audit entry chained onto the copied head
    svc = manager.IncidentService(pg_url, make_policy())
    try:
        inc = _open_new(svc)
        w = maintenance.add(svc.conn, _window("printer-1", 48, 49))
        (entry,) = audit.timeline(svc.conn, inc.number)
        prev = svc.conn.execute("SELECT prev_hash FROM incident_audit WHERE seq = ?", (entry.seq,)).fetchone()[0]
    finally:
        svc.close()
    assert inc.number == 4
    assert w.id == 3  # the removed window #2 is not handed out again
    assert entry.seq == src_report.entries + 1
    assert prev == src_report.head

    after = verify(pg_url)
    assert after.ok
    assert after.entries == src_report.entries + 1


def test_token_made_before_migration_verifies_against_the_target(state: Path, pg_url: str) -> None:
    source = state / "fleetwatch.db"
    conn = db.connect_raw(source)
    try:
        info, token = auth.create_token(conn, Role.operator, "ticket-bridge", 1_767_225_600.25)
    finally:
        conn.close()
    migrate_json("--state-dir", str(state), "--to", pg_url)
    pg = db.connect_raw(pg_url)
    try:
        found = auth.verify_token(pg, token)
        revoked = {t.name: t.revoked_at for t in auth.list_tokens(pg, include_revoked=True)}
    finally:
        pg.close()
    assert found is not None
    assert (found.id, found.name, found.role, found.created_at) == (
        info.id,
        "ticket-bridge",
        Role.operator,
        1_767_225_600.25,
    )
    assert revoked["old-admin"] is not None  # a token revoked before the move stays revoked


def test_human_output_says_what_next_and_never_the_password(state: Path, pg_url: str) -> None:
    url = pg_url.replace("postgresql://postgres@", f"postgresql://postgres:{PASSWORD}@", 1)  # trust auth ignores it
    r = run("incidents", "migrate", "--state-dir", str(state), "--to", url)
    assert r.exit_code == 0, r.output
    assert PASSWORD not in r.output
    assert "postgres:***@" in r.output
    assert f"incidents.database: {pg_url}`" in r.output  # what to paste, without the password
    assert "every collector" in r.output
    assert "audit verified on the target" in r.output
    assert "next incident number: 4" in r.output
    # refused the second time, still without the password
    again = run("incidents", "migrate", "--state-dir", str(state), "--to", url)
    assert again.exit_code == 1
    assert PASSWORD not in again.output


def test_refuses_a_target_that_already_holds_incidents(state: Path, pg_url: str) -> None:
    migrate_json("--from", str(state / "fleetwatch.db"), "--to", pg_url)
    before = dump(pg_url)
    r = run("incidents", "migrate", "--state-dir", str(state), "--to", pg_url)
    assert r.exit_code == 1
    assert "already holds incident data" in r.output
    assert "3 incidents" in r.output
    assert dump(pg_url) == before


def test_refuses_a_target_with_only_a_maintenance_window(state: Path, tmp_path: Path) -> None:
    target = tmp_path / "other.db"
    conn = store.connect(target)
    maintenance.add(conn, _window("printer-9", 0, 1))
    conn.close()
    r = run("incidents", "migrate", "--state-dir", str(state), "--to", str(target))
    assert r.exit_code == 1
    assert "1 incident_maintenance" in r.output
    assert counts(target)["incidents"] == 0


@pytest.mark.parametrize("spelling", ["same-path", "dotted-path"], ids=["same-path", "dotted-path"])
def test_refuses_sqlite_source_equal_to_target(state: Path, spelling: str) -> None:
    target = state / "fleetwatch.db" if spelling == "same-path" else state / "." / ".." / state.name / "fleetwatch.db"
    before = dump(state / "fleetwatch.db")
    r = run("incidents", "migrate", "--state-dir", str(state), "--to", str(target))
    assert r.exit_code == 1
    assert "same database" in r.output
    assert dump(state / "fleetwatch.db") == before


def test_refuses_postgresql_source_equal_to_target_even_spelled_differently(pg_url: str) -> None:
    """Empty on both sides, so only the identity check can refuse; a password in one URL changes nothing."""
    store.connect(pg_url).close()
    url = pg_url.replace("postgresql://postgres@", f"postgres://postgres:{PASSWORD}@", 1)
    r = run("incidents", "migrate", "--from", pg_url, "--to", url)
    assert r.exit_code == 1
    assert "same database" in r.output
    assert PASSWORD not in r.output


def test_dry_run_writes_nothing(state: Path, pg_url: str, tmp_path: Path) -> None:
    out = migrate_json("--state-dir", str(state), "--to", pg_url, "--dry-run")
    assert out["dry_run"] is True
    assert out["audit"] is None
    assert out["tables"]["incidents"] == 3
    conn = db.connect_raw(pg_url)
    try:
        assert conn.execute("SELECT to_regclass('incidents')").fetchone()[0] is None  # not even the schema
    finally:
        conn.close()
    r = run("incidents", "migrate", "--state-dir", str(state), "--to", str(tmp_path / "new.db"), "--dry-run")
    assert r.exit_code == 0, r.output
    assert "would copy" in r.output
    assert "nothing written" in r.output
    assert not (tmp_path / "new.db").exists()


def test_row_the_target_refuses_midway_leaves_the_target_empty(state: Path, pg_url: str) -> None:
    """SQLite kept a word in an INTEGER column (it does); PostgreSQL refuses it in the last table copied,
    after incidents and the audit log went in: the whole copy rolls back, and a fixed source then migrates."""
    source = state / "fleetwatch.db"
    conn = sqlite3.connect(source)
    conn.execute(
        "UPDATE incident_deliveries SET attempts = 'lots' WHERE rowid = (SELECT MIN(rowid) FROM incident_deliveries)"
    )
    conn.commit()
    conn.close()

    r = run("incidents", "migrate", "--state-dir", str(state), "--to", pg_url)
    assert r.exit_code == 1
    assert "copying incident_deliveries failed, nothing was written" in r.output
    assert counts(pg_url) == dict.fromkeys(TABLES, 0)

    conn = sqlite3.connect(source)
    conn.execute("UPDATE incident_deliveries SET attempts = 1 WHERE attempts = 'lots'")
    conn.commit()
    conn.close()
    out = migrate_json("--state-dir", str(state), "--to", pg_url)
    assert out["audit"]["ok"]
    assert out["next_ids"]["incidents"] == 4
    svc = manager.IncidentService(pg_url, make_policy())  # the sequence moved with the successful copy only
    try:
        inc = _open_new(svc)
    finally:
        svc.close()
    assert inc.number == 4


def test_incompatible_table_in_sqlite_target_rolls_back(state: Path, tmp_path: Path) -> None:
    """A target whose outbox table was made by something else, with a constraint our rows break."""
    target = tmp_path / "target.db"
    conn = sqlite3.connect(target)
    conn.execute(
        "CREATE TABLE incident_outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE,"
        " incident INTEGER NOT NULL, event TEXT NOT NULL CHECK (event <> 'open'), channels TEXT,"
        " payload TEXT NOT NULL, created_at TEXT NOT NULL, routed_at TEXT)"
    )
    conn.close()
    r = run("incidents", "migrate", "--state-dir", str(state), "--to", str(target))
    assert r.exit_code == 1
    assert "copying incident_outbox failed" in r.output
    assert counts(target) == dict.fromkeys(TABLES, 0)


def test_tampered_source_audit_is_refused(state: Path, tmp_path: Path) -> None:
    """A chain that does not verify is not carried into the contract record's new home."""
    conn = sqlite3.connect(state / "fleetwatch.db")
    conn.execute("UPDATE incidents SET summary = 'edited behind the log' WHERE number = 2")
    conn.commit()
    conn.close()
    target = tmp_path / "target.db"
    r = run("incidents", "migrate", "--state-dir", str(state), "--to", str(target))
    assert r.exit_code == 1
    assert "audit chain does not verify" in r.output
    assert "incident 2" in r.output
    assert counts(target) == dict.fromkeys(TABLES, 0)


def test_postgresql_back_to_sqlite_for_rollback(state: Path, pg_url: str, tmp_path: Path) -> None:
    """The way back: the shared database copied into a SQLite file a single collector can use again."""
    before = dump(state / "fleetwatch.db")
    migrate_json("--state-dir", str(state), "--to", pg_url)
    # a collector pointed at PostgreSQL left its pointer file: the default source is now the shared database
    db.use(state / "fleetwatch.db", pg_url)
    try:
        back = tmp_path / "back" / "fleetwatch.db"
        out = migrate_json("--state-dir", str(state), "--to", str(back))
    finally:
        db.use(state / "fleetwatch.db", None)
    assert out["source"] == pg_url
    assert dump(back) == before
    assert out["audit"]["ok"]
    svc = manager.IncidentService(back, make_policy())
    try:
        inc = _open_new(svc)
        w = maintenance.add(svc.conn, _window("printer-1", 48, 49))
    finally:
        svc.close()
    assert (inc.number, w.id) == (4, 3)
    assert verify(back).ok


def test_sqlite_to_sqlite_backup(state: Path, tmp_path: Path) -> None:
    target = tmp_path / "backup.db"
    out = migrate_json("--state-dir", str(state), "--to", str(target))
    assert dump(target) == dump(state / "fleetwatch.db")
    assert out["next_ids"]["incident_maintenance"] == 3
    r = run("audit", "verify", env={db.ENV: str(target)})
    assert r.exit_code == 0, r.output


def test_missing_source_is_a_clear_error(tmp_path: Path) -> None:
    r = run("incidents", "migrate", "--from", str(tmp_path / "nope.db"), "--to", str(tmp_path / "t.db"))
    assert r.exit_code == 1
    assert "no incident database at" in r.output
    assert not (tmp_path / "t.db").exists()
