"""The HTTP API against a real uvicorn server and a real SQLite file written by SqliteStorage."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from agent.wire import FRAME_MAGIC, Batch, encode_batch
from collector.config import CollectorConfig, HttpConfig
from collector.service import CollectorService
from collector.storage.sqlite import SqliteStorage
from collector.web import auth, data, testing
from collector.web.app import create_app
from collector.web.auth import Role
from collector.web.cli import tokens

NOW = time.time()
HOUR = 3600.0


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "fleetwatch.db"
    storage = SqliteStorage(path)
    try:
        older = testing.fleet(6, NOW - HOUR)
        testing.store(storage, [p.model_copy(update={"supplies": _with_black(p, 90.0)}) for p in older], NOW - HOUR)
        testing.store(storage, testing.fleet(6, NOW), NOW)
    finally:
        storage.close()
    testing.open_incident(path, "prn-0001", NOW - 60, labels={"site": "plant", "department": "sales"})
    return path


def _with_black(poll, value):  # type: ignore[no-untyped-def]
    return [
        s.model_copy(update={"percent": value, "level": int(value)}) if s.index == "1.1" else s for s in poll.supplies
    ]


def _token(db: Path, role: Role, name: str | None = None) -> str:
    data.ensure_schema(db)
    with data.writing(db) as conn:
        _, token = auth.create_token(conn, role, name or f"{role.value}-user", time.time())
    return token


@pytest.fixture
def server(db: Path) -> Iterator[testing.ServerThread]:
    srv = testing.ServerThread(create_app(db, CollectorConfig())).start()
    yield srv
    srv.stop()


@pytest.fixture
def client(server: testing.ServerThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as c:
        yield c


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- health, docs ----------------------------------------------------------------------------------------------


def test_healthz_openapi_and_docs_work_offline(client: httpx.Client) -> None:
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    assert health.json()["devices"] == 6

    spec = client.get("/openapi.json").json()
    assert "/api/v1/devices/{device_id}/history" in spec["paths"]
    assert "/api/v1/incidents/{number}/ack" in spec["paths"]

    docs = client.get("/docs").text
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in docs
    assert "cdn." not in docs
    assert client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200
    assert client.get("/redoc").status_code == 404


def test_pages_reference_only_local_assets(client: httpx.Client) -> None:
    for page in ("/wall", "/ui/devices"):
        html = client.get(page).text
        assert "http://" not in html
        assert "https://" not in html
    assert client.get("/static/vendor/uplot/uPlot.iife.min.js").status_code == 200


# -- authentication and roles ----------------------------------------------------------------------------------


def test_reads_need_a_valid_token(client: httpx.Client, db: Path) -> None:
    r = client.get("/api/v1/devices")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert client.get("/api/v1/devices", headers=bearer("fw_nope_nope")).status_code == 401
    assert client.get("/api/v1/devices", headers=bearer("garbage")).status_code == 401

    token = _token(db, Role.viewer)
    assert client.get("/api/v1/devices", headers=bearer(token)).status_code == 200
    with data.writing(db) as conn:
        assert auth.revoke_token(conn, token.split("_")[1], time.time())
    assert client.get("/api/v1/devices", headers=bearer(token)).status_code == 401


def test_token_secret_is_stored_hashed(db: Path) -> None:
    token = _token(db, Role.admin)
    secret = token.split("_", 2)[2]
    raw = db.read_bytes() + (
        db.with_name(db.name + "-wal").read_bytes() if db.with_name(db.name + "-wal").exists() else b""
    )
    assert secret.encode() not in raw


WRITES = [
    pytest.param("post", "/api/v1/incidents/1/ack", None, Role.operator, id="ack-needs-operator"),
    pytest.param("post", "/api/v1/incidents/1/note", {"text": "on my way"}, Role.operator, id="note-needs-operator"),
    pytest.param("post", "/api/v1/incidents/1/assign", {"assignee": "bob"}, Role.operator, id="assign-needs-operator"),
    pytest.param(
        "post",
        "/api/v1/maintenance",
        {
            "scope": "site",
            "match": "depot",
            "starts_at": datetime.fromtimestamp(NOW, UTC).isoformat(),
            "ends_at": datetime.fromtimestamp(NOW + HOUR, UTC).isoformat(),
            "reason": "move",
        },
        Role.admin,
        id="maintenance-needs-admin",
    ),
    pytest.param("post", "/api/v1/tokens", {"role": "viewer", "name": "kiosk"}, Role.admin, id="tokens-need-admin"),
    pytest.param("get", "/api/v1/tokens", None, Role.admin, id="token-list-needs-admin"),
    pytest.param("get", "/api/v1/config", None, Role.admin, id="config-needs-admin"),
]


@pytest.mark.parametrize(("method", "path", "body", "needed"), WRITES)
def test_writes_need_the_right_role(
    client: httpx.Client, db: Path, method: str, path: str, body: dict | None, needed: Role
) -> None:
    assert client.request(method, path, json=body).status_code == 401
    for role in Role:
        r = client.request(method, path, json=body, headers=bearer(_token(db, role)))
        if role.allows(needed):
            # Past authorization; an earlier role may have already acknowledged (409 then).
            assert r.status_code in (200, 201, 409), (role, r.text)
        else:
            assert r.status_code == 403, (role, r.text)
            assert needed.value in r.json()["detail"]


# -- devices and history ---------------------------------------------------------------------------------------


def test_device_list_filters_and_status(client: httpx.Client, db: Path) -> None:
    h = bearer(_token(db, Role.viewer))
    devices = client.get("/api/v1/devices", headers=h).json()
    assert [d["device_id"] for d in devices] == [testing.device_id(i) for i in range(6)]
    by_id = {d["device_id"]: d for d in devices}
    assert by_id["prn-0001"]["status"] == "P2"
    assert by_id["prn-0001"]["open_incidents"] == 1
    assert by_id["prn-0002"]["status"] == "ok"

    hq = client.get("/api/v1/devices", params={"site": "hq"}, headers=h).json()
    assert {d["device_id"] for d in hq} == {"prn-0000", "prn-0003"}
    both = client.get("/api/v1/devices", params={"label": ["site=hq", "department=it"]}, headers=h).json()
    assert [d["device_id"] for d in both] == []
    assert client.get("/api/v1/devices", params={"label": "nokey"}, headers=h).status_code == 422


def test_device_detail_shows_supplies_counters_and_incidents(client: httpx.Client, db: Path) -> None:
    h = bearer(_token(db, Role.viewer))
    d = client.get("/api/v1/devices/prn-0001", headers=h).json()
    assert d["vendor"] == "Brother"
    assert d["labels"] == {"site": "plant", "department": "sales"}
    supplies = {s["index"]: s for s in d["latest"]["supplies"]}
    assert supplies["1.1"]["percent"] == 61.0
    assert supplies["1.2"]["class"] == "receptacle"  # the wire alias, as `fleetwatch poll --json` prints it
    assert d["latest"]["counters"]["total_pages"] == 10_001
    assert [i["rule"] for i in d["incidents"]] == ["paper_jam"]
    assert d["events"][-1]["kind"] == "new_device"
    assert client.get("/api/v1/devices/nope", headers=h).status_code == 404


def test_history_of_a_supply_and_of_the_page_counter(client: httpx.Client, db: Path) -> None:
    h = bearer(_token(db, Role.viewer))
    r = client.get(
        "/api/v1/devices/prn-0001/history",
        params={"metric": "supply_percent", "label": "supply=1.1", "since": NOW - 2 * HOUR},
        headers=h,
    ).json()
    assert len(r["series"]) == 1
    assert r["series"][0]["labels"]["description"] == "Black Toner Cartridge"
    assert [v for _, v in r["series"][0]["points"]] == [90.0, 61.0]

    pages = client.get(
        "/api/v1/devices/prn-0001/history",
        params={"metric": "page_count", "label": "counter=total_pages", "step": 7200, "since": NOW - 2 * HOUR},
        headers=h,
    ).json()
    assert len(pages["series"]) == 1
    assert 1 <= len(pages["series"][0]["points"]) <= 2
    assert pages["step"] == 7200

    iso_since = datetime.fromtimestamp(NOW - 10, UTC).isoformat()
    recent = client.get(
        "/api/v1/devices/prn-0001/history",
        params={"metric": "supply_percent", "label": "supply=1.1", "since": iso_since},
        headers=h,
    ).json()
    assert [v for _, v in recent["series"][0]["points"]] == [61.0]

    assert client.get("/api/v1/devices/nope/history", params={"metric": "up"}, headers=h).status_code == 404
    bad = client.get("/api/v1/devices/prn-0001/history", params={"metric": "up", "since": "yesterday"}, headers=h)
    assert bad.status_code == 422


# -- incidents -------------------------------------------------------------------------------------------------


def test_incident_lifecycle_through_the_api(client: httpx.Client, db: Path) -> None:
    op = bearer(_token(db, Role.operator, "alice"))
    listed = client.get("/api/v1/incidents", params={"active": True}, headers=op).json()
    assert [(i["number"], i["state"], i["severity"]) for i in listed] == [(1, "open", "P2")]
    assert client.get("/api/v1/incidents", params={"site": "hq"}, headers=op).json() == []

    acked = client.post("/api/v1/incidents/1/ack", headers=op).json()
    assert acked["state"] == "acknowledged"
    assert acked["acknowledged_by"] == "alice"
    assert client.post("/api/v1/incidents/1/ack", headers=op).status_code == 409  # already acknowledged

    assert client.post("/api/v1/incidents/1/assign", json={"assignee": "bob"}, headers=op).json()["assignee"] == "bob"
    noted = client.post("/api/v1/incidents/1/note", json={"text": "parts ordered"}, headers=op).json()
    assert noted["notes"][-1]["text"] == "parts ordered"
    assert client.post("/api/v1/incidents/1/note", json={"text": ""}, headers=op).status_code == 422

    assert client.post("/api/v1/incidents/1/resolve", json={"cause": "x"}, headers=op).status_code == 422
    resolved = client.post(
        "/api/v1/incidents/1/resolve", json={"cause": "torn sheet", "action": "removed it"}, headers=op
    ).json()
    assert resolved["state"] == "resolved"
    assert client.post("/api/v1/incidents/1/close", headers=op).json()["state"] == "closed"
    assert (
        client.post("/api/v1/incidents/1/reopen", json={"reason": "jams again"}, headers=op).json()["state"] == "open"
    )

    detail = client.get("/api/v1/incidents/1", headers=op).json()
    actions = [e["action"] for e in detail["timeline"]]
    assert actions == ["open", "acknowledge", "assign", "note", "resolve", "close", "reopen"]
    assert {e["actor"] for e in detail["timeline"][1:]} == {"alice"}
    assert client.get("/api/v1/incidents/99", headers=op).status_code == 404
    assert client.post("/api/v1/incidents/99/ack", headers=op).status_code == 404


# -- maintenance -----------------------------------------------------------------------------------------------


def test_maintenance_windows_add_list_remove(client: httpx.Client, db: Path) -> None:
    admin = bearer(_token(db, Role.admin, "root"))
    body = {
        "scope": "device",
        "match": "prn-0002",
        "starts_at": datetime.fromtimestamp(NOW - HOUR, UTC).isoformat(),
        "ends_at": datetime.fromtimestamp(NOW + HOUR, UTC).isoformat(),
        "reason": "fuser swap",
    }
    added = client.post("/api/v1/maintenance", json=body, headers=admin)
    assert added.status_code == 201, added.text
    w = added.json()
    assert w["active"] is True
    assert w["created_by"] == "root"
    assert [x["id"] for x in client.get("/api/v1/maintenance", headers=admin).json()] == [w["id"]]
    dev = client.get("/api/v1/devices/prn-0002", headers=admin).json()
    assert dev["status"] == "maintenance"

    backwards = {**body, "ends_at": datetime.fromtimestamp(NOW - 2 * HOUR, UTC).isoformat()}
    assert client.post("/api/v1/maintenance", json=backwards, headers=admin).status_code == 422
    assert client.delete(f"/api/v1/maintenance/{w['id']}", headers=admin).status_code == 204
    assert client.delete(f"/api/v1/maintenance/{w['id']}", headers=admin).status_code == 404
    assert client.get("/api/v1/maintenance", headers=admin).json() == []


# -- metrics ---------------------------------------------------------------------------------------------------


def test_metrics_show_ingest_figures_of_the_running_service(tmp_path: Path) -> None:
    service = CollectorService(CollectorConfig(state_dir=tmp_path / "state"))
    try:
        polls = testing.fleet(3, NOW)
        batch = Batch(batch_id="b1", agent_id="a1", sent_at=NOW, polls=polls)
        assert service.handle([FRAME_MAGIC, encode_batch(batch)]) is not None
        assert service.handle([b"XX", b"{}"]) is None
        assert service.handle([FRAME_MAGIC, b"not json"]) is None
        testing.open_incident(service.config.db_path(), "prn-0000", NOW, severity="P1")
        srv = testing.ServerThread(create_app(service)).start()
        try:
            text = httpx.get(f"{srv.url}/metrics", timeout=10).text
        finally:
            srv.stop()
    finally:
        service.storage.close()
    lines = set(text.splitlines())
    assert "fleetwatch_batches_received_total 3" in lines
    assert "fleetwatch_batches_stored_total 1" in lines
    assert 'fleetwatch_batches_rejected_total{reason="bad_magic"} 1' in lines
    assert 'fleetwatch_batches_rejected_total{reason="bad_json"} 1' in lines
    assert f"fleetwatch_readings_stored_total {service.stats.readings_stored}" in lines
    assert 'fleetwatch_incidents_open{severity="P1"} 1' in lines
    assert 'fleetwatch_incidents_open{severity="P2"} 0' in lines
    assert "fleetwatch_devices 3" in lines
    assert any(line.startswith("fleetwatch_rule_evaluation_seconds_total ") for line in lines)
    assert any(line.startswith('fleetwatch_agent_last_batch_timestamp_seconds{agent="a1"} ') for line in lines)
    assert 'fleetwatch_agent_silent{agent="a1"} 0' in lines


# -- wall data -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("anonymous", [False, True], ids=["token-required", "anonymous-kiosk"])
def test_wall_state_access(db: Path, anonymous: bool) -> None:
    config = CollectorConfig(http=HttpConfig(anonymous_wall=anonymous))
    srv = testing.ServerThread(create_app(db, config)).start()
    try:
        url = f"{srv.url}/api/v1/wall/state"
        r = httpx.get(url, timeout=10)
        assert r.status_code == (200 if anonymous else 401)
        token = _token(db, Role.viewer)
        ok = httpx.get(url, params={"token": token, "site": "plant"}, timeout=10)
        assert ok.status_code == 200
        state = ok.json()
        assert {t["id"] for t in state["tiles"]} == {"prn-0001", "prn-0004"}
        assert [(i["no"], i["sev"], i["due_kind"]) for i in state["incidents"]] == [(1, "P2", "respond")]
        assert state["header"]["by_severity"]["P2"] == 1
        assert state["header"]["availability"] == 1.0
        # Anonymous reading never extends to the API or to writes.
        assert httpx.get(f"{srv.url}/api/v1/devices", timeout=10).status_code == 401
        assert httpx.post(f"{srv.url}/api/v1/incidents/1/ack", timeout=10).status_code == 401
    finally:
        srv.stop()


def _events(lines: Iterator[str]) -> Iterator[tuple[str, dict]]:
    event = None
    for line in lines:
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event:
            yield event, json.loads(line[6:])
            event = None


def test_wall_stream_sends_snapshot_then_update_when_an_incident_opens(db: Path, server: testing.ServerThread) -> None:
    token = _token(db, Role.viewer)
    with (
        httpx.Client(base_url=server.url, timeout=httpx.Timeout(10, read=10)) as c,
        c.stream("GET", "/api/v1/wall/stream", params={"token": token}) as r,
    ):
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        events = _events(r.iter_lines())
        kind, snap = next(events)
        assert kind == "snapshot"
        tiles = {t["id"]: t["status"] for t in snap["tiles"]}
        assert tiles["prn-0003"] == "ok"
        assert tiles["prn-0001"] == "P2"

        testing.open_incident(db, "prn-0003", time.time(), rule="printer_offline", severity="P1")
        kind, upd = next(events)
        assert kind == "update"
        assert [(t["id"], t["status"]) for t in upd["upsert"]] == [("prn-0003", "P1")]
        assert upd["header"]["by_severity"]["P1"] == 1
        assert upd["incidents"][0]["no"] == 2  # P1 responds sooner: first in the list


def test_tokens_cli_create_list_revoke(tmp_path: Path) -> None:
    runner = CliRunner()
    state = str(tmp_path / "state")
    created = runner.invoke(tokens, ["create", "--role", "operator", "--name", "alice", "--state-dir", state])
    assert created.exit_code == 0, created.output
    token = created.stdout.strip().splitlines()[0]
    assert token.startswith("fw_")
    db = tmp_path / "state" / "fleetwatch.db"
    with data.reading(db) as conn:
        info = auth.verify_token(conn, token)
    assert info is not None
    assert (info.name, info.role) == ("alice", Role.operator)

    listed = runner.invoke(tokens, ["list", "--json", "--state-dir", state])
    rows = json.loads(listed.stdout)
    assert [(r["name"], r["role"]) for r in rows] == [("alice", "operator")]
    assert token.split("_", 2)[2] not in listed.stdout

    assert runner.invoke(tokens, ["revoke", info.id, "--state-dir", state]).exit_code == 0
    with data.reading(db) as conn:
        assert auth.verify_token(conn, token) is None
    again = runner.invoke(tokens, ["revoke", info.id, "--state-dir", state])
    assert again.exit_code != 0
    assert "no active token" in again.output


def test_reports_over_http(client: httpx.Client, db: Path) -> None:
    assert client.get("/api/v1/reports/monthly").status_code == 401
    h = bearer(_token(db, Role.viewer))
    month = time.strftime("%Y-%m", time.gmtime())
    r = client.get("/api/v1/reports/monthly", params={"month": month}, headers=h)
    assert r.status_code == 200
    body = r.json()
    assert body["schema"].startswith("fleetwatch.report.monthly")
    assert body["summary"]["incidents_opened"] >= 1  # the fleet fixture opens a jam incident
    assert body["summary"]["devices"] == 6
    html = client.get("/api/v1/reports/monthly", params={"month": month, "format": "html"}, headers=h)
    assert html.headers["content-type"].startswith("text/html")
    assert "<table" in html.text
    csv_text = client.get("/api/v1/reports/inspection", params={"format": "csv"}, headers=h).text
    assert len(csv_text.splitlines()) >= 2
    assert client.get("/api/v1/reports/monthly", params={"month": "2026-13"}, headers=h).status_code == 422
