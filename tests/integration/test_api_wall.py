"""What the wall decides (pure, ``now`` passed in) and days-to-empty from the forecaster through the API."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from collector.config import CollectorConfig
from collector.storage.sqlite import SqliteStorage
from collector.web import auth, data, testing, wall
from collector.web.app import create_app
from collector.web.auth import Role
from collector.web.forecasts import CachedForecasts
from collector.web.live import LiveHub
from collector.web.wall import DeviceIn, IncidentIn, WallFilter

NOW = 1_800_000_000.0


def dev(device_id: str = "p1", *, reachable: bool = True, site: str = "hq", supplies=()) -> DeviceIn:  # type: ignore[no-untyped-def]
    return DeviceIn(device_id, device_id, {"site": site, "department": "it"}, reachable, supplies=supplies)


def inc(number: int, severity: str, *, device: str = "p1", due: float = NOW + 600, acked: bool = False) -> IncidentIn:
    return IncidentIn(
        number=number,
        device=device,
        severity=severity,
        state="acknowledged" if acked else "open",
        summary=f"incident {number}",
        opened_at=NOW - 60,
        response_due=due,
        resolve_due=due + 3600,
        acknowledged=acked,
        response_met=None,
        resolve_met=None,
        assignee=None,
    )


@pytest.mark.parametrize(
    ("severities", "maintenance", "reachable", "expected"),
    [
        pytest.param([], False, True, "ok", id="nothing-open-is-green"),
        pytest.param(["P3", "P1", "P2"], False, True, "P1", id="worst-severity-wins"),
        pytest.param([], False, False, "unreachable", id="unreachable-without-incident"),
        pytest.param(["P4"], False, False, "P4", id="an-incident-beats-unreachable"),
        pytest.param(["P1"], True, False, "maintenance", id="maintenance-beats-everything"),
    ],
)
def test_tile_status(severities: list[str], maintenance: bool, reachable: bool, expected: str) -> None:
    state = wall.build(
        [dev(reachable=reachable)],
        [inc(i, s) for i, s in enumerate(severities, 1)],
        {"p1"} if maintenance else set(),
        NOW,
    )
    assert state.tiles["p1"].status == expected
    assert state.tiles["p1"].n == len(severities)


def supply(percent: float | None, state: str = "ok", cls: str = "consumed") -> dict:
    return {"index": "1.1", "description": "Black", "class": cls, "percent": percent, "state": state}


@pytest.mark.parametrize(
    ("s", "days", "low"),
    [
        pytest.param(supply(10.0), None, True, id="consumed-at-10-percent"),
        pytest.param(supply(11.0), None, False, id="consumed-at-11-percent"),
        pytest.param(supply(None, "near_empty"), None, True, id="brother-state-only-near-empty"),
        pytest.param(supply(None, "some_remaining"), None, False, id="rfc3805-some-remaining-is-not-low"),
        pytest.param(supply(60.0), 3.0, True, id="forecast-empty-in-3-days"),
        pytest.param(supply(60.0), 30.0, False, id="forecast-far-away"),
        pytest.param(supply(92.0, cls="receptacle"), None, True, id="waste-box-92-percent-full"),
        pytest.param(supply(5.0, cls="receptacle"), None, False, id="waste-box-nearly-empty-is-fine"),
        pytest.param(supply(None, "full", cls="receptacle"), None, True, id="waste-box-state-full"),
    ],
)
def test_supply_listed_when_running_out(s: dict, days: float | None, low: bool) -> None:
    assert wall.supply_is_low(s, days) is low


def test_incidents_sorted_by_next_deadline_and_breach_flagged() -> None:
    incidents = [
        inc(1, "P4", due=NOW + 5000),
        inc(2, "P1", due=NOW + 900),
        inc(3, "P3", due=NOW - 60),  # response deadline passed
        inc(4, "P2", due=NOW - 7200, acked=True),  # acknowledged: the resolve deadline counts (NOW - 3600)
    ]
    state = wall.build([dev()], incidents, set(), NOW)
    assert [(i.no, i.due_kind, i.breached) for i in state.incidents] == [
        (4, "resolve", True),
        (3, "respond", True),
        (2, "respond", False),
        (1, "respond", False),
    ]


def test_incident_on_a_non_inventory_device_is_placed_by_its_own_labels() -> None:
    """A silent agent ("agent:lyon-1") is no device tile, but its incident belongs on the Lyon wall."""
    agent = IncidentIn(**{**inc(7, "P2", device="agent:lyon-1").__dict__, "labels": {"site": "lyon"}})
    state = wall.build([dev("p1", site="hq")], [agent, inc(8, "P3")], set(), NOW)
    lyon = wall.snapshot(state, WallFilter(site="lyon"))
    assert [i["no"] for i in lyon["incidents"]] == [7]
    assert lyon["incidents"][0]["site"] == "lyon"
    assert [i["no"] for i in wall.snapshot(state, WallFilter(site="hq"))["incidents"]] == [8]


def test_update_is_a_small_diff_and_respects_the_filter() -> None:
    devices = [dev("a", site="hq"), dev("b", site="plant")]
    before = wall.build(devices, [], set(), NOW)
    assert wall.update(before, wall.build(devices, [], set(), NOW + 1), WallFilter()) is None

    after = wall.build(devices, [inc(1, "P2", device="b")], set(), NOW + 2)
    everyone = wall.update(before, after, WallFilter())
    assert everyone is not None
    assert [(t["id"], t["status"]) for t in everyone["upsert"]] == [("b", "P2")]
    assert everyone["header"]["by_severity"]["P2"] == 1
    assert wall.update(before, after, WallFilter(site="hq")) is None  # nothing the hq wall shows changed

    moved = wall.build([dev("a", site="hq"), dev("b", site="hq")], [], set(), NOW + 3)
    plant = wall.update(before, moved, WallFilter(site="plant"))
    assert plant is not None
    assert plant["remove"] == ["b"]


def _viewer(db: Path) -> str:
    data.ensure_schema(db)
    with data.writing(db) as conn:
        return auth.create_token(conn, Role.viewer, "v", time.time())[1]


def test_days_to_empty_reach_the_wall_and_the_device_api(tmp_path: Path) -> None:
    db = tmp_path / "fleetwatch.db"
    testing.fill(db, 4, time.time())
    source = CachedForecasts(db, compute_fn=lambda conn, now: {"prn-0002": {"1.1": 3.0, "1.2": 200.0}})
    srv = testing.ServerThread(create_app(db, CollectorConfig(), forecasts=source)).start()
    try:
        key = _viewer(db)
        assert source.wait()
        deadline = time.monotonic() + 10
        while True:
            state = httpx.get(f"{srv.url}/api/v1/wall/state", params={"token": key}, timeout=10).json()
            listed = [(s["device"], s["supply"], s["days"]) for s in state["supplies"]]
            if ("prn-0002", "1.1", 3.0) in listed or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        # prn-0000 has 5% black toner (no forecast); prn-0002 is at 62% but runs out in 3 days: listed first.
        assert listed == [("prn-0002", "1.1", 3.0), ("prn-0000", "1.1", None)]
        detail = httpx.get(f"{srv.url}/api/v1/devices/prn-0002", headers={"Authorization": f"Bearer {key}"}).json()
        assert detail["forecasts"] == {"1.1": {"days_to_empty": 3.0}, "1.2": {"days_to_empty": 200.0}}
    finally:
        srv.stop()


def test_fleet_forecaster_is_used_when_present(tmp_path: Path) -> None:
    pytest.importorskip("collector.forecast.fleet", reason="forecasting not in this checkout")
    db = tmp_path / "fleetwatch.db"
    testing.fill(db, 3, time.time())
    app = create_app(db, CollectorConfig())
    source = app.state.web.hub.forecasts
    assert isinstance(source, CachedForecasts)
    srv = testing.ServerThread(app).start()
    try:
        key = _viewer(db)
        httpx.get(f"{srv.url}/api/v1/wall/state", params={"token": key}, timeout=10)
        assert source.wait()
        detail = httpx.get(f"{srv.url}/api/v1/devices/prn-0001", headers={"Authorization": f"Bearer {key}"}).json()
        # One poll is too little history for a number, but every supply has its entry.
        assert detail["forecasts"] == {"1.1": {"days_to_empty": None}, "1.2": {"days_to_empty": None}}
    finally:
        srv.stop()


def test_hub_stays_idle_without_walls_and_one_off_reads_are_fresh(tmp_path: Path) -> None:
    db = tmp_path / "fleetwatch.db"
    testing.fill(db, 2, time.time())
    hub = LiveHub(db, poll_interval=0.05)
    srv = testing.ServerThread(create_app(db, CollectorConfig(), hub=hub, forecasts=False)).start()
    try:
        key = _viewer(db)
        first = httpx.get(f"{srv.url}/api/v1/wall/state", params={"token": key}, timeout=10).json()
        assert first["header"]["devices"] == 2
        refreshes = hub.refreshes
        storage = SqliteStorage(db)
        try:
            for i in range(5):
                testing.store(storage, [testing.printer_poll(f"new-{i}", time.time())], time.time())
                time.sleep(0.05)
        finally:
            storage.close()
        time.sleep(0.3)  # six poll intervals with data_version moving: an idle hub must not have refreshed
        assert hub.refreshes == refreshes
        now = httpx.get(f"{srv.url}/api/v1/wall/state", params={"token": key}, timeout=10).json()
        assert now["header"]["devices"] == 7
        assert hub.refreshes == refreshes + 1
    finally:
        srv.stop()
