"""The collector process: receive batches, store them, evaluate rules, run incidents.

One asyncio loop owns the ZeroMQ ROUTER socket and the SQLite writer.
Order per batch: decode -> store durably (one transaction) -> acknowledge ->
evaluate rules on the new readings. Acknowledging before rule evaluation
keeps agents unblocked; the readings are already safe on disk.

Stages after storage are plug-ins (``PollObserver``) so the rules engine,
incident manager, forecaster and web side attach without this module
knowing their internals.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Protocol

import zmq
import zmq.asyncio

from agent.wire import FRAME_MAGIC, Ack, AckStatus, Batch, Device, DevicePoll, ProbeError, encode_ack
from collector.agent_watch import AgentWatch
from collector.config import CollectorConfig
from collector.ingest import IngestStats, Rejection, decode_frames
from collector.series import Reading, flatten
from collector.storage.sqlite import SqliteStorage

log = logging.getLogger("fleetwatch.collector")


class PollObserver(Protocol):
    """A stage that sees every stored poll (rules, forecasting, live web updates)."""

    def observe(self, polls: list[DevicePoll], readings: list[list[Reading]], now: float) -> None: ...

    def tick(self, now: float) -> None: ...


class CollectorService:
    def __init__(
        self,
        config: CollectorConfig,
        *,
        clock: Callable[[], float] = time.time,
        ctx: zmq.asyncio.Context | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.ctx = ctx or zmq.asyncio.Context.instance()
        self.state_dir = config.resolved_state_dir()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.storage = SqliteStorage(config.db_path(), overrides=config.devices)
        # At scale, time series also go to InfluxDB; SQLite stays the store an acknowledgement relies on.
        from collector.storage.influx import make_timeseries_sink

        self.sink = make_timeseries_sink(config.storage)
        self.stats = IngestStats()
        self.observers: list[PollObserver] = []
        self.started_at = clock()
        self._stale_reported: set[str] = set()
        # Silence is counted from this start at the earliest: after a collector outage every agent's last
        # batch is old, and that is not the agents' fault (their spools are about to deliver).
        self.agents = AgentWatch(config.stale_after)
        for agent_id, last in self.storage.agent_last_batches().items():
            self.agents.seen(agent_id, max(last, self.started_at))
        self.ready = asyncio.Event()

    # -- ingest ---------------------------------------------------------------------------------

    def handle(self, frames: list[bytes]) -> bytes | None:
        """Process one message (without the ROUTER identity); returns the ack payload or None."""
        self.stats.batches_received += 1
        result = decode_frames(frames, self.config.max_message_bytes)
        if isinstance(result, Rejection):
            self.stats.batches_rejected += 1
            self.stats.rejected_by_reason[result.reason] += 1
            log.warning("rejected message (%s): %s", result.reason, result.detail)
            if result.batch_id is None:
                return None
            return encode_ack(Ack(batch_id=result.batch_id, status=AckStatus.rejected, error=result.detail))
        return self._store(result)

    def _store(self, batch: Batch) -> bytes:
        now = self.clock()
        self.agents.seen(batch.agent_id, now)  # a duplicate proves the agent alive as well
        readings = [flatten(p) for p in batch.polls]
        stored = self.storage.store_batch(
            batch.batch_id,
            batch.agent_id,
            batch.polls,
            readings,
            now,
            dropped_before=batch.dropped_before,
            events=batch.events,
        )
        if batch.dropped_before:
            self.stats.agent_dropped_batches[batch.agent_id] = batch.dropped_before
        if not stored:
            self.stats.batches_duplicate += 1
            return encode_ack(Ack(batch_id=batch.batch_id, status=AckStatus.duplicate))
        self.stats.batches_stored += 1
        if self.sink is not None:
            for p, r in zip(batch.polls, readings, strict=True):
                self.sink.write_samples(p.device_id, p.ts, r)
        self.stats.polls_stored += len(batch.polls)
        self.stats.readings_stored += sum(len(r) for r in readings)
        for p in batch.polls:
            self._stale_reported.discard(p.device_id)
        if batch.polls:
            self._observe(batch.polls, readings, now)
        return encode_ack(Ack(batch_id=batch.batch_id, status=AckStatus.stored))

    def _observe(self, polls: list[DevicePoll], readings: list[list[Reading]], now: float) -> None:
        started = time.perf_counter()
        for obs in self.observers:
            try:
                obs.observe(polls, readings, now)
            except Exception:
                log.exception("%s failed on %d poll(s)", type(obs).__name__, len(polls))
        self.stats.rule_eval_seconds_total += time.perf_counter() - started
        self.stats.rule_evals += 1

    # -- periodic work --------------------------------------------------------------------------

    def check_stale(self, now: float) -> list[DevicePoll]:
        """Devices no agent reported for ``stale_after``: an unreachable poll each, once.

        Absent data is not "fixed": if the agent behind a printer dies, the
        printer must read as unreachable rather than keep its last state.
        """
        synthetic = []
        for dev in self.storage.devices():
            if dev.device_id in self._stale_reported or now - dev.last_seen < self.config.stale_after:
                continue
            self._stale_reported.add(dev.device_id)
            poll = DevicePoll(
                device_id=dev.device_id,
                ts=now,
                reachable=False,
                labels=dev.labels,
                parent=dev.parent,
                device=Device(address=dev.address or "", port=dev.port or 161),
                errors=[
                    ProbeError(probe="collector", message=f"no data from any agent for {now - dev.last_seen:.0f}s")
                ],
            )
            synthetic.append(poll)
        if synthetic:
            readings = [flatten(p) for p in synthetic]
            for p, r in zip(synthetic, readings, strict=True):
                self.storage.write_samples(p.device_id, p.ts, r)
            # The inventory (devices list, wall tiles) says so too, not only the `up` series.
            self.storage.mark_unreachable([p.device_id for p in synthetic])
            self._observe(synthetic, readings, now)
        return synthetic

    def tick(self, now: float) -> None:
        self.check_stale(now)
        if self.config.curve.enabled:
            from collector.security import CountingAuthenticator, reload_allowed

            reload_allowed(self.config.curve, self.ctx)  # key rotation without a restart
            self.stats.agents_refused = CountingAuthenticator.refused
        self.storage.save_stats(self.stats.flat(), now)
        for obs in self.observers:
            try:
                obs.tick(now)
            except Exception:
                log.exception("%s tick failed", type(obs).__name__)

    # -- sockets --------------------------------------------------------------------------------

    def _bind(self) -> zmq.asyncio.Socket:
        sock = self.ctx.socket(zmq.ROUTER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.MAXMSGSIZE, self.config.max_message_bytes + 4096)
        sock.setsockopt(zmq.ROUTER_MANDATORY, 0)
        if self.config.curve.enabled:
            from collector.security import configure_curve_server

            configure_curve_server(sock, self.config.curve, self.ctx)
        sock.bind(self.config.listen)
        return sock

    async def _serve_zmq(self, sock: zmq.asyncio.Socket, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if not await sock.poll(200, zmq.POLLIN):
                continue
            frames = await sock.recv_multipart()
            identity, body = frames[0], frames[1:]
            try:
                reply = self.handle(body)
            except Exception:
                log.exception("failed to store a batch; not acknowledged")
                continue
            if reply is not None:
                with contextlib.suppress(zmq.ZMQError):
                    await sock.send_multipart([identity, FRAME_MAGIC, reply])

    async def _periodic(self, stop: asyncio.Event) -> None:
        last_prune = 0.0
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.config.rule_interval)
            now = self.clock()
            self.tick(now)
            if now - last_prune > 3600:
                last_prune = now
                removed = await asyncio.to_thread(self.storage.prune, now, self.config.storage.retention_days * 86400.0)
                if removed:
                    log.info("retention: removed %d old samples", removed)

    async def run(self, stop: asyncio.Event, extra: list[Callable[[asyncio.Event], object]] | None = None) -> None:
        sock = self._bind()
        log.info("collector listening on %s, state in %s", self.config.listen, self.state_dir)
        if not self.config.curve.enabled:
            log.warning(
                "agents connect over plain TCP (no CURVE) on %s: use only on a trusted network", self.config.listen
            )
        tasks = [
            asyncio.create_task(self._serve_zmq(sock, stop), name="zmq"),
            asyncio.create_task(self._periodic(stop), name="periodic"),
        ]
        for start in extra or []:
            tasks.append(asyncio.ensure_future(start(stop)))  # type: ignore[arg-type]
        self.ready.set()
        try:
            await stop.wait()
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            sock.close(0)
            if self.config.curve.enabled:
                from collector.security import stop as stop_auth

                stop_auth(self.ctx)
            self.storage.save_stats(self.stats.flat(), self.clock())
            self.storage.close()
            if self.sink is not None:
                self.sink.close()  # type: ignore[attr-defined]
