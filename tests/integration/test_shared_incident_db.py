"""Incident state in a PostgreSQL database, the rest of the collector in its SQLite file.

The web API, the wall, the reports and the CLI must all read and write the
incidents where the collector keeps them, and the password in the URL must
not leak into the config API, the pointer file or errors.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from collector.app import Collector
from collector.config import CollectorConfig
from collector.incidents import db as incident_db
from collector.incidents import store
from collector.storage.sqlite import SqliteStorage
from collector.storage.sqlite import connect as storage_connect
from collector.web import auth, data, testing
from collector.web.app import create_app
from collector.web.auth import Role
from tests.support.cli import fleetwatch

NOW = time.time()


def _with_password(url: str, password: str = "s3cret-pw") -> str:
    """Trust auth ignores it; what matters is that it never shows up anywhere."""
    return url.replace("postgresql://postgres@", f"postgresql://postgres:{password}@", 1)


@pytest.fixture
def shared(tmp_path: Path, pg_url: str) -> Iterator[tuple[Path, str]]:
    """A collector state database (devices, series) whose incidents live in PostgreSQL, one incident open."""
    path = tmp_path / "fleetwatch.db"
    storage = SqliteStorage(path)
    try:
        testing.store(storage, testing.fleet(4, NOW), NOW)
    finally:
        storage.close()
    url = _with_password(pg_url)
    incident_db.use(path, url)
    testing.open_incident(url, "prn-0001", NOW - 60, labels={"site": "plant"})  # type: ignore[arg-type]
    yield path, url
    incident_db.use(path, None)
    incident_db.close_shared()


def _token(db: Path, role: Role) -> dict[str, str]:
    data.ensure_schema(db)
    with data.token_writing(db) as conn:  # tokens live in the incident database (PostgreSQL here)
        _, token = auth.create_token(conn, role, f"{role.value}-user", time.time())
    return {"Authorization": f"Bearer {token}"}


def test_api_wall_and_reports_use_the_shared_incident_database(shared: tuple[Path, str]) -> None:
    path, url = shared
    config = CollectorConfig(incidents={"database": url})  # type: ignore[arg-type]
    server = testing.ServerThread(create_app(path, config)).start()
    try:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            op = _token(path, Role.operator)
            listed = client.get("/api/v1/incidents", params={"active": True}, headers=op).json()
            assert [(i["number"], i["device"]) for i in listed] == [(1, "prn-0001")]
            devices = {d["device_id"]: d for d in client.get("/api/v1/devices", headers=op).json()}
            assert devices["prn-0001"]["open_incidents"] == 1
            assert client.post("/api/v1/incidents/1/ack", headers=op).json()["state"] == "acknowledged"
            detail = client.get("/api/v1/incidents/1", headers=op).json()
            assert [e["action"] for e in detail["timeline"]] == ["open", "acknowledge"]

            admin = _token(path, Role.admin)
            window = {"scope": "device", "match": "prn-0002", "starts_at": "2026-01-01T00:00:00Z"}
            window["ends_at"] = "2036-01-01T00:00:00Z"
            window["reason"] = "move"
            assert client.post("/api/v1/maintenance", json=window, headers=admin).status_code == 201
            cfg = client.get("/api/v1/config", headers=admin).json()
            assert "s3cret-pw" not in json.dumps(cfg)
            assert cfg["incidents"]["database"].startswith("postgresql://postgres:***@127.0.0.1:")

            wall = client.get("/api/v1/wall/state", headers=op).json()
            assert [(i["no"], i["device"], i["state"]) for i in wall["incidents"]] == [(1, "prn-0001", "acknowledged")]
            tiles = {t["id"]: t for t in wall["tiles"]}
            assert (tiles["prn-0001"]["n"], tiles["prn-0002"]["status"]) == (1, "maintenance")
            month = time.strftime("%Y-%m", time.gmtime())
            report = client.get("/api/v1/reports/monthly", params={"month": month}, headers=op).json()
            assert report["summary"]["incidents_opened"] == 1
    finally:
        server.stop()

    pg = store.connect(url)
    assert store.get(pg, 1).acknowledged_by == "operator-user"  # written to PostgreSQL ...
    assert [w["match"] for w in pg.execute("SELECT match FROM incident_maintenance").fetchall()] == ["prn-0002"]
    pg.close()
    local = storage_connect(path, readonly=True)
    assert local.execute("SELECT COUNT(*) FROM incidents").fetchone()[0] == 0  # ... not to the SQLite file
    local.close()


def test_cli_finds_the_shared_database_through_the_pointer_file(shared: tuple[Path, str]) -> None:
    path, url = shared
    pointer = (path.parent / incident_db.POINTER_FILE).read_text()
    assert "s3cret-pw" not in pointer
    assert pointer.strip() == url.replace(":s3cret-pw", "")
    env = {k: v for k, v in os.environ.items() if k != incident_db.ENV}
    proc = fleetwatch(
        "incidents", "list", "--json", "--state-dir", str(path.parent), cwd=path.parent, env=env, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert [i["device"] for i in json.loads(proc.stdout)] == ["prn-0001"]


def test_unreachable_database_is_a_clear_error_without_the_password(tmp_path: Path) -> None:
    url = f"postgresql://fw:s3cret-pw@127.0.0.1:{testing.free_port()}/fleetwatch"
    env = {**os.environ, incident_db.ENV: url}
    proc = fleetwatch("incidents", "list", "--state-dir", str(tmp_path), cwd=tmp_path, env=env, check=False)
    assert proc.returncode == 1
    assert "cannot open incident database postgresql://fw:***@127.0.0.1" in proc.stderr
    assert "s3cret-pw" not in proc.stderr + proc.stdout


def test_collector_config_picks_the_incident_database(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(incident_db.ENV, raising=False)
    assert CollectorConfig(state_dir=tmp_path).incident_db() == tmp_path / "fleetwatch.db"
    monkeypatch.setenv(incident_db.ENV, pg_url)
    assert CollectorConfig(state_dir=tmp_path).incident_db() == pg_url
    other = "postgresql://fw@127.0.0.1:5432/other"
    assert CollectorConfig(state_dir=tmp_path, incidents={"database": other}).incident_db() == other  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="only postgresql:// URLs"):
        CollectorConfig(incidents={"database": "mysql://fw@127.0.0.1/x"})  # type: ignore[arg-type]


def test_collector_opens_incidents_in_postgresql_and_leaves_the_pointer(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(incident_db.ENV, raising=False)
    config = CollectorConfig(state_dir=tmp_path, incidents={"database": pg_url}, http={"enabled": False})  # type: ignore[arg-type]
    app = Collector(config)
    try:
        assert incident_db.dialect(app.incidents.conn) == "postgresql"
        assert (tmp_path / incident_db.POINTER_FILE).read_text().strip() == pg_url
        assert incident_db.target_for(tmp_path / "fleetwatch.db") == pg_url
    finally:
        app.incidents.close()
        app.forecasts.close()
        app.reports.close()
    # back to the embedded default: the pointer goes, CLIs read the SQLite file again
    app = Collector(CollectorConfig(state_dir=tmp_path, http={"enabled": False}))  # type: ignore[arg-type]
    try:
        assert incident_db.dialect(app.incidents.conn) == "sqlite"
        assert not (tmp_path / incident_db.POINTER_FILE).exists()
    finally:
        app.incidents.close()
        app.forecasts.close()
        app.reports.close()


def test_service_carries_on_after_the_server_drops_its_connection(pg_url: str) -> None:
    """A PostgreSQL restart or failover between two batches must not stop incident handling until a restart."""
    from collector.incidents.manager import IncidentService
    from collector.incidents.testing import device, event, make_policy, paris

    t0 = paris(2026, 1, 12, 10, 0)
    svc = IncidentService(pg_url, make_policy())
    try:
        svc.handle([event("firing", t0)], {"printer-1": device()}, t0)
        pid = svc.conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        admin = incident_db.connect_raw(pg_url)
        assert admin.execute("SELECT pg_terminate_backend(?)", (pid,)).fetchone()[0] is True
        admin.close()
        (inc,) = svc.handle([event("firing", t0, device_id="printer-2")], {"printer-2": device("printer-2")}, t0)
        assert inc.number == 2
        assert svc.conn.execute("SELECT pg_backend_pid()").fetchone()[0] != pid
    finally:
        svc.close()
