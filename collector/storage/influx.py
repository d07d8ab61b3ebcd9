"""Time series into InfluxDB (v2 write API) for fleets that outgrow one SQLite file.

One measurement per metric (``supply_percent``, ``if_in_octets`` ...), tags =
``device`` + the reading's labels, one field ``value``. Text readings are not
written (SQLite keeps them in the latest poll), as in ``SqliteStorage``.

Writes go through influxdb-client's batching ``WriteApi``: points are queued
in memory and flushed by size or interval on a background thread, failed
writes are retried with exponential backoff (HTTP 429/503 honour
``Retry-After``). This sink is *not* what an agent's ack relies on: the
collector commits every batch to SQLite first, so an InfluxDB outage longer
than the retry budget loses graph points in InfluxDB only, and is counted
(``failed_points``) and logged, never silent.

Reading back (``history``) speaks Flux to a real InfluxDB 2.x and the
Prometheus export API to VictoriaMetrics, which accepts the same v2 writes
(series ``<measurement>_value``) and is what the integration test runs
against, since no InfluxDB 2.x is packaged for this Debian (``influxdb``
there is 1.6, without the v2 API).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections import defaultdict
from typing import Literal

import httpx
from influxdb_client import InfluxDBClient, Point, WriteOptions, WritePrecision

from agent.config import ConfigError
from collector.config import InfluxConfig, StorageConfig
from collector.series import Labels, Reading
from collector.storage.base import Sample, TimeSeriesSink

log = logging.getLogger("fleetwatch.collector.influx")

#: Tag holding the device id. A reading label of the same name is renamed ``label_device``.
DEVICE_TAG = "device"
FIELD = "value"
#: Environment variable read when ``storage.influxdb.token`` is empty (keeps secrets out of YAML).
TOKEN_ENV = "FLEETWATCH_INFLUXDB_TOKEN"

QueryFlavor = Literal["auto", "flux", "prometheus"]


def _tag_key(label: str) -> str:
    return f"label_{label}" if label == DEVICE_TAG else label


def _label_key(tag: str) -> str:
    return tag.removeprefix("label_") if tag == f"label_{DEVICE_TAG}" else tag


def to_points(device_id: str, ts: float, readings: list[Reading]) -> list[Point]:
    """Pure: readings of one poll -> line-protocol points (nanoseconds, microsecond-exact)."""
    when = round(ts * 1_000_000) * 1000
    points = []
    for r in readings:
        if isinstance(r.value, str):
            continue
        p = Point(r.metric).tag(DEVICE_TAG, device_id)
        for k, v in r.labels:
            if v != "":  # line protocol has no empty tag values
                p = p.tag(_tag_key(k), v)
        points.append(p.field(FIELD, float(r.value)).time(when, WritePrecision.NS))
    return points


def bucket_average(samples: list[Sample], step: float) -> list[Sample]:
    """Average samples into ``step``-second buckets, as ``read_history`` does in SQLite."""
    sums: dict[float, list[float]] = defaultdict(list)
    for s in samples:
        sums[int(s.ts // step) * step].append(s.value)
    return [Sample(float(b), sum(v) / len(v)) for b, v in sorted(sums.items())]


def _promql_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _flux_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("${", "\\${") + '"'


class InfluxSink:
    """``TimeSeriesSink`` backed by InfluxDB's v2 HTTP API."""

    def __init__(
        self,
        url: str,
        token: str,
        org: str,
        bucket: str,
        *,
        batch_size: int = 5000,
        flush_interval_ms: int = 1000,
        max_retries: int = 5,
        retry_interval_ms: int = 1000,
        max_retry_time_ms: int = 120_000,
        query_flavor: QueryFlavor = "auto",
        timeout_ms: int = 10_000,
    ) -> None:
        self.url = url.rstrip("/")
        self.org = org
        self.bucket = bucket
        self.query_flavor: QueryFlavor = query_flavor
        self.client = InfluxDBClient(url=self.url, token=token or "unused", org=org, timeout=timeout_ms)
        self._lock = threading.Lock()
        self.queued_points = 0
        self.written_points = 0
        self.failed_points = 0
        self.retries = 0
        self.write_api = self.client.write_api(
            write_options=WriteOptions(
                batch_size=batch_size,
                flush_interval=flush_interval_ms,
                jitter_interval=0,
                retry_interval=retry_interval_ms,
                max_retries=max_retries,
                max_retry_delay=30_000,
                max_retry_time=max_retry_time_ms,
                exponential_base=2,
            ),
            success_callback=self._on_success,
            error_callback=self._on_error,
            retry_callback=self._on_retry,
        )
        self._http = httpx.Client(
            base_url=self.url, timeout=timeout_ms / 1000, headers={"Authorization": f"Token {token}"}
        )

    # -- write callbacks (background thread) -----------------------------------------------------

    @staticmethod
    def _count(data: object) -> int:
        if isinstance(data, bytes | str):
            text = data.decode() if isinstance(data, bytes) else data
            return len([line for line in text.split("\n") if line.strip()])
        return 1

    def _on_success(self, _conf: object, data: object) -> None:
        with self._lock:
            self.written_points += self._count(data)

    def _on_error(self, _conf: object, data: object, exc: BaseException) -> None:
        n = self._count(data)
        with self._lock:
            self.failed_points += n
        log.error("InfluxDB write of %d point(s) failed after retries: %s", n, exc)

    def _on_retry(self, _conf: object, _data: object, exc: BaseException) -> None:
        with self._lock:
            self.retries += 1
        log.warning("InfluxDB write failed, retrying: %s", exc)

    # -- TimeSeriesSink ------------------------------------------------------------------------

    def write_samples(self, device_id: str, ts: float, readings: list[Reading]) -> int:
        """Queue one poll's numeric readings; returns how many points were queued."""
        points = to_points(device_id, ts, readings)
        if points:
            self.write_api.write(bucket=self.bucket, org=self.org, record=points)
            with self._lock:
                self.queued_points += len(points)
        return len(points)

    def flush(self) -> None:
        """Send what is queued now (blocks until the batch thread took it)."""
        self.write_api.flush()

    def history(
        self,
        device_id: str,
        metric: str,
        labels: dict[str, str] | None = None,
        since: float | None = None,
        until: float | None = None,
        step: float | None = None,
    ) -> dict[Labels, list[Sample]]:
        flavor = self._flavor()
        if flavor == "flux":
            out = self._history_flux(device_id, metric, labels or {}, since, until)
        else:
            out = self._history_prometheus(device_id, metric, labels or {}, since, until)
        if step:
            out = {k: bucket_average(v, step) for k, v in out.items()}
        return out

    def close(self) -> None:
        """Flush what is queued and stop the batch thread."""
        self.write_api.close()
        self.client.close()
        self._http.close()

    # -- reading -------------------------------------------------------------------------------

    def _flavor(self) -> Literal["flux", "prometheus"]:
        if self.query_flavor != "auto":
            return self.query_flavor
        # InfluxDB 2.x answers /health with JSON naming itself; VictoriaMetrics answers "OK".
        try:
            body = self._http.get("/health").json()
        except (httpx.HTTPError, ValueError):
            body = None
        self.query_flavor = "flux" if isinstance(body, dict) and body.get("name") == "influxdb" else "prometheus"
        return self.query_flavor

    def _history_prometheus(
        self, device_id: str, metric: str, labels: dict[str, str], since: float | None, until: float | None
    ) -> dict[Labels, list[Sample]]:
        matchers = [f"__name__={_promql_string(f'{metric}_{FIELD}')}", f"{DEVICE_TAG}={_promql_string(device_id)}"]
        matchers += [f"{_tag_key(k)}={_promql_string(v)}" for k, v in sorted(labels.items())]
        params: dict[str, str] = {"match[]": "{" + ",".join(matchers) + "}"}
        if since is not None:
            params["start"] = f"{since:.3f}"
        if until is not None:
            params["end"] = f"{until:.3f}"
        resp = self._http.post("/api/v1/export", data=params)
        resp.raise_for_status()
        out: dict[Labels, list[Sample]] = {}
        for line in resp.text.splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            tags = row["metric"]
            key = tuple(sorted((_label_key(k), v) for k, v in tags.items() if k not in ("__name__", DEVICE_TAG, "db")))
            samples = [Sample(ts / 1000.0, float(v)) for ts, v in zip(row["timestamps"], row["values"], strict=True)]
            out.setdefault(key, []).extend(samples)
        return {k: sorted(v, key=lambda s: s.ts) for k, v in out.items()}

    def _history_flux(
        self, device_id: str, metric: str, labels: dict[str, str], since: float | None, until: float | None
    ) -> dict[Labels, list[Sample]]:
        start = f"time(v: {int((since or 0) * 1e9)})"
        stop = f"time(v: {int(until * 1e9) + 1})" if until is not None else "now()"
        preds = [
            f"r._measurement == {_flux_string(metric)}",
            f"r._field == {_flux_string(FIELD)}",
            f"r.{DEVICE_TAG} == {_flux_string(device_id)}",
        ]
        preds += [f"r[{_flux_string(_tag_key(k))}] == {_flux_string(v)}" for k, v in sorted(labels.items())]
        query = (
            f"from(bucket: {_flux_string(self.bucket)}) |> range(start: {start}, stop: {stop}) "
            f"|> filter(fn: (r) => {' and '.join(preds)})"
        )
        out: dict[Labels, list[Sample]] = {}
        skip = {"result", "table", "_start", "_stop", "_time", "_value", "_field", "_measurement", DEVICE_TAG}
        for table in self.client.query_api().query(query, org=self.org):
            for rec in table.records:
                key = tuple(sorted((_label_key(k), str(v)) for k, v in rec.values.items() if k not in skip))
                out.setdefault(key, []).append(Sample(rec.get_time().timestamp(), float(rec.get_value())))
        return {k: sorted(v, key=lambda s: s.ts) for k, v in out.items()}


def sink_from_config(cfg: InfluxConfig, **kwargs: object) -> InfluxSink:
    token = cfg.token or os.environ.get(TOKEN_ENV, "")
    return InfluxSink(cfg.url, token, cfg.org, cfg.bucket, **kwargs)  # type: ignore[arg-type]


def make_timeseries_sink(config: StorageConfig) -> TimeSeriesSink | None:
    """The extra time-series sink the storage config asks for; ``None`` for the embedded SQLite default.

    Call ``close()`` on the returned sink at shutdown so queued points are flushed.
    """
    if config.backend != "influxdb":
        return None
    if config.influxdb is None:
        raise ConfigError("storage.influxdb: required when storage.backend is influxdb (url, token, org, bucket)")
    return sink_from_config(config.influxdb)
