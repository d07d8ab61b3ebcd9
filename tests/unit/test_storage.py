import time

from agent.wire import Device, DeviceKind, DevicePoll, Supply, SupplyState
from collector.series import flatten
from collector.storage.sqlite import SqliteStorage, connect, read_events


def _poll(device_id: str, ts: float, percent: float, *, uptime: float = 1000.0, serial: str = "S1") -> DevicePoll:
    return DevicePoll(
        device_id=device_id,
        ts=ts,
        labels={"site": "hq"},
        device=Device(address="127.0.0.1", kind=DeviceKind.printer, vendor="HP", serial=serial, uptime_s=uptime),
        supplies=[
            Supply(
                index="1.1",
                description="Black",
                type="toner",
                capacity=100,
                level=int(percent),
                percent=percent,
                state=SupplyState.ok,
                color="black",
            )
        ],
    )


def _store(st: SqliteStorage, batch_id: str, polls: list[DevicePoll]) -> bool:
    return st.store_batch(batch_id, "agent-1", polls, [flatten(p) for p in polls], time.time())


def test_batch_stored_once_and_history_readable(tmp_path):
    st = SqliteStorage(tmp_path / "db.sqlite")
    assert _store(st, "b1", [_poll("p1", 100.0, 50.0), _poll("p1", 160.0, 49.0)])
    assert not _store(st, "b1", [_poll("p1", 100.0, 50.0)])  # duplicate id
    hist = st.history("p1", "supply_percent", {"color": "black"})
    (series,) = hist.values()
    assert [(s.ts, s.value) for s in series] == [(100.0, 50.0), (160.0, 49.0)]
    assert st.history("p1", "supply_percent", {"color": "cyan"}) == {}


def test_same_samples_resent_under_new_id_are_not_doubled(tmp_path):
    st = SqliteStorage(tmp_path / "db.sqlite")
    _store(st, "b1", [_poll("p1", 100.0, 50.0)])
    _store(st, "b2", [_poll("p1", 100.0, 50.0)])
    (series,) = st.history("p1", "supply_percent").values()
    assert len(series) == 1


def test_history_step_averages_buckets(tmp_path):
    st = SqliteStorage(tmp_path / "db.sqlite")
    _store(st, "b", [_poll("p1", t, v) for t, v in [(0.0, 10), (30.0, 20), (60.0, 30), (90.0, 50)]])
    (series,) = st.history("p1", "supply_percent", step=60).values()
    assert [(s.ts, s.value) for s in series] == [(0.0, 15.0), (60.0, 40.0)]


def test_inventory_and_events(tmp_path):
    st = SqliteStorage(tmp_path / "db.sqlite")
    _store(st, "b1", [_poll("p1", 100.0, 50.0, uptime=5000)])
    _store(st, "b2", [_poll("p1", 200.0, 50.0, uptime=10, serial="S2")])
    (dev,) = st.devices()
    assert (dev.device_id, dev.kind, dev.vendor, dev.serial, dev.reachable) == ("p1", "printer", "HP", "S2", True)
    assert dev.labels == {"site": "hq"}
    kinds = [e["kind"] for e in read_events(connect(tmp_path / "db.sqlite", readonly=True), "p1")]
    assert kinds == ["reboot", "identity_changed", "new_device"]


def test_unreachable_poll_keeps_identity(tmp_path):
    st = SqliteStorage(tmp_path / "db.sqlite")
    _store(st, "b1", [_poll("p1", 100.0, 50.0)])
    down = DevicePoll(device_id="p1", ts=200.0, reachable=False, device=Device(address="127.0.0.1"))
    _store(st, "b2", [down])
    (dev,) = st.devices()
    assert dev.reachable is False
    assert dev.serial == "S1"
    assert dev.kind == "printer"
    assert dev.last_seen == 200.0
    assert st.latest("p1").reachable is False


def test_prune_removes_only_old_samples(tmp_path):
    st = SqliteStorage(tmp_path / "db.sqlite")
    _store(st, "b", [_poll("p1", 100.0, 50.0), _poll("p1", 10_000.0, 40.0)])
    removed = st.prune(now=10_100.0, retention_s=1000.0)
    assert removed > 0
    (series,) = st.history("p1", "supply_percent").values()
    assert [s.ts for s in series] == [10_000.0]


def test_sqlite_storage_implements_the_storage_interface_as_declared():
    """collector.storage.base.Storage is what another backend must implement: keep it true to SQLite's."""
    import inspect

    from collector.storage.base import Storage

    for name, member in inspect.getmembers(Storage, inspect.isfunction):
        if name.startswith("_"):
            continue
        declared = list(inspect.signature(member).parameters)
        actual = list(inspect.signature(getattr(SqliteStorage, name)).parameters)
        assert declared == actual, name
