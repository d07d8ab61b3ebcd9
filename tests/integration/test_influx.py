"""InfluxDB sink against a real server speaking the v2 write API.

The server is VictoriaMetrics (Debian package ``victoria-metrics``), which
accepts influxdb-client's writes unchanged; no InfluxDB 2.x is packaged here.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from agent.config import ConfigError
from agent.wire import Device, DevicePoll, Supply, SupplyState
from collector.config import InfluxConfig, StorageConfig
from collector.series import Reading, flatten
from collector.storage.base import Sample
from collector.storage.influx import InfluxSink, bucket_average, make_timeseries_sink, to_points
from tests.support.net import free_port, wait_for

VM = shutil.which("victoria-metrics")
needs_vm = pytest.mark.skipif(
    VM is None, reason="victoria-metrics binary absent: apt-get install -y victoria-metrics (make system-deps)"
)


class Victoria:
    def __init__(self, root: Path, port: int | None = None) -> None:
        self.root, self.port = root, port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Victoria:
        assert VM is not None
        self.proc = subprocess.Popen(
            [
                VM,
                f"-storageDataPath={self.root / 'vm-data'}",
                f"-httpListenAddr=127.0.0.1:{self.port}",
                "-retentionPeriod=100y",  # test timestamps may be far from "now"
                "-search.latencyOffset=0s",  # make fresh points queryable at once
                "-search.disableCache",
            ],
            stdout=open(self.root / "vm.log", "ab"),  # noqa: SIM115 - owned by the child
            stderr=subprocess.STDOUT,
        )
        wait_for(self._healthy, 20, "victoria-metrics /health", interval=0.1)
        return self

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/health", timeout=0.5).status_code == 200
        except httpx.HTTPError:
            return False

    def flush(self) -> None:
        httpx.get(f"{self.url}/internal/force_flush", timeout=5)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@pytest.fixture
def victoria(tmp_path: Path) -> Iterator[Victoria]:
    vm = Victoria(tmp_path).start()
    yield vm
    vm.stop()


def _poll(ts: float, magenta: float) -> DevicePoll:
    supplies = [
        Supply(index="1.1", description="Cyan Toner", type="toner", color="cyan", capacity=100, level=64, percent=64.0,
               state=SupplyState.ok),
        Supply(index="1.2", description='Magenta "HC" Toner', type="toner", color="magenta", capacity=100,
               level=int(magenta), percent=magenta, state=SupplyState.ok),
    ]  # fmt: skip
    return DevicePoll(device_id="lexmark-1", ts=ts, device=Device(address="127.0.0.1"), supplies=supplies)


def _series(out: dict, **want: str) -> list[Sample]:
    for key, samples in out.items():
        d = dict(key)
        if all(d.get(k) == v for k, v in want.items()):
            return samples
    raise AssertionError(f"no series with {want} in {list(out)}")


@needs_vm
def test_written_polls_read_back_per_series(victoria: Victoria):
    sink = InfluxSink(victoria.url, "any-token", "fleetwatch", "fleetwatch", flush_interval_ms=100)
    t0 = time.time() - 600
    try:
        for i in range(5):
            poll = _poll(t0 + 60 * i, magenta=20.0 - i)
            assert sink.write_samples(poll.device_id, poll.ts, flatten(poll)) > 0
        sink.flush()
        victoria.flush()

        def magenta() -> list[Sample] | None:
            out = sink.history("lexmark-1", "supply_percent", {"color": "magenta"})
            return out and len(next(iter(out.values()))) == 5 and next(iter(out.values()))

        samples = wait_for(magenta, 15, "five magenta samples readable", interval=0.1)
        assert [s.value for s in samples] == [20.0, 19.0, 18.0, 17.0, 16.0]
        assert samples[0].ts == pytest.approx(t0, abs=0.001)
        both = sink.history("lexmark-1", "supply_percent")
        assert {dict(k)["color"] for k in both} == {"cyan", "magenta"}
        # Label values with quotes survive the round trip (and the query escaping).
        assert dict(next(k for k in both if dict(k)["color"] == "magenta"))["description"] == 'Magenta "HC" Toner'
        window = sink.history("lexmark-1", "supply_percent", {"color": "magenta"}, since=t0 + 59, until=t0 + 181)
        assert [s.value for s in _series(window, color="magenta")] == [19.0, 18.0, 17.0]
        hourly = sink.history("lexmark-1", "supply_percent", {"color": "magenta"}, step=3600)
        assert sum(len(v) for v in hourly.values()) <= 2
        assert sink.history("other-device", "supply_percent") == {}
    finally:
        sink.close()
    assert sink.written_points == sink.queued_points
    assert sink.failed_points == 0


@needs_vm
def test_write_retried_until_the_server_comes_up(tmp_path: Path):
    port = free_port()
    sink = InfluxSink(f"http://127.0.0.1:{port}", "t", "o", "b", flush_interval_ms=50, retry_interval_ms=300)
    vm = Victoria(tmp_path, port)
    try:
        poll = _poll(time.time() - 5, magenta=42.0)
        queued = sink.write_samples(poll.device_id, poll.ts, flatten(poll))
        wait_for(lambda: sink.retries >= 1, 15, "a failed write to be retried", interval=0.1)
        vm.start()
        wait_for(lambda: sink.written_points == queued, 30, "the retried batch written", interval=0.1)
        vm.flush()
        out = wait_for(
            lambda: sink.history("lexmark-1", "supply_percent", {"color": "magenta"}),
            15,
            "points readable",
            interval=0.1,
        )
        assert [s.value for s in _series(out, color="magenta")] == [42.0]
        assert sink.failed_points == 0
    finally:
        sink.close()
        vm.stop()


def test_write_that_never_succeeds_is_counted_not_raised():
    port = free_port()  # nothing listens here
    sink = InfluxSink(
        f"http://127.0.0.1:{port}", "t", "o", "b", flush_interval_ms=50, retry_interval_ms=50, max_retries=1,
        max_retry_time_ms=2000,
    )  # fmt: skip
    try:
        poll = _poll(time.time(), magenta=1.0)
        queued = sink.write_samples(poll.device_id, poll.ts, flatten(poll))
        wait_for(lambda: sink.failed_points == queued, 20, "the lost points to be counted", interval=0.1)
        assert sink.written_points == 0
    finally:
        sink.close()


def test_points_use_measurement_per_metric_and_labels_as_tags():
    readings = [
        Reading("supply_percent", (("color", "cyan"), ("device", "odd"), ("name", "")), 12.5),
        Reading("printer_status", (), "idle"),  # text: not a time series
    ]
    (point,) = to_points("p1", 1700000000.000123, readings)
    assert point.to_line_protocol() == (
        "supply_percent,color=cyan,device=p1,label_device=odd value=12.5 1700000000000123000"
    )


def test_bucket_average_matches_sqlite_semantics():
    samples = [Sample(0, 1), Sample(30, 3), Sample(60, 10)]
    assert bucket_average(samples, 60) == [Sample(0, 2), Sample(60, 10)]


def test_config_selects_the_sink():
    assert make_timeseries_sink(StorageConfig()) is None
    with pytest.raises(ConfigError, match=r"storage\.influxdb"):
        make_timeseries_sink(StorageConfig(backend="influxdb"))
    sink = make_timeseries_sink(StorageConfig(backend="influxdb", influxdb=InfluxConfig(url="http://127.0.0.1:9")))
    assert isinstance(sink, InfluxSink)
    sink.close()


@needs_vm
def test_collector_configured_for_influxdb_writes_every_stored_batch_there(victoria: Victoria, tmp_path: Path) -> None:
    """The backend is selected in collector config; SQLite still stores (acks rely on it), InfluxDB gets a copy."""
    from agent.wire import FRAME_MAGIC, Batch, encode_batch
    from collector.config import CollectorConfig
    from collector.service import CollectorService

    config = CollectorConfig(
        state_dir=tmp_path / "state",
        storage=StorageConfig(backend="influxdb", influxdb=InfluxConfig(url=victoria.url, token="t")),
    )
    service = CollectorService(config)
    try:
        now = time.time()
        batch = Batch(batch_id="b1", agent_id="a", sent_at=now, polls=[_poll(now - 60, 40.0), _poll(now, 38.0)])
        assert b"stored" in (service.handle([FRAME_MAGIC, encode_batch(batch)]) or b"")
        service.sink.close()  # type: ignore[union-attr] - flushes the batching writer
        victoria.flush()
        sink = make_timeseries_sink(config.storage)
        assert sink is not None
        try:

            def both() -> dict | None:
                got = sink.history("lexmark-1", "supply_percent", {"color": "magenta"}, since=now - 120)
                return got if got and len(_series(got, color="magenta")) == 2 else None

            out = wait_for(both, 20, "both magenta toner points in victoria-metrics", interval=0.1)
        finally:
            sink.close()
        assert [s.value for s in _series(out, color="magenta")] == [40.0, 38.0]
        assert [s.value for s in service.storage.history("lexmark-1", "supply_percent", {"color": "magenta"})
                .popitem()[1]] == [40.0, 38.0]  # fmt: skip
    finally:
        service.storage.close()
