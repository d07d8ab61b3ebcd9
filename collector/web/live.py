"""Live wall updates: one computed wall state, pushed to every open wall as server-sent events.

``LiveHub`` is a ``PollObserver``: appended to ``CollectorService.observers``
it refreshes as soon as a batch is stored. It does not rely on that alone:
incidents are also changed by the CLI (another process), by API actions and
by the passage of time (maintenance windows start, SLA deadlines pass), so it
polls SQLite's ``PRAGMA data_version`` (a counter that moves when another
connection commits; costs nothing) and recomputes only when it moved, plus a
full recompute every ``resync_interval``.

Every (re)connection starts with a full ``snapshot`` event, so a wall that
lost the collector for a while (restart, network) redraws from scratch when
EventSource reconnects; afterwards only ``update`` diffs are sent. Each wall
keeps the last state it was sent, so a slow wall skips intermediate states
instead of queueing them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from agent.wire import DevicePoll
from collector.incidents import db as incident_db
from collector.series import Reading
from collector.web import data, wall
from collector.web.wall import WallFilter, WallState

log = logging.getLogger("fleetwatch.web")


def sse(event: str, payload: dict[str, Any], event_id: int | None = None) -> str:
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {body}\n\n"


#: How long a one-off read waits for a refresh before settling for the last state.
FRESH_TIMEOUT = 5.0


class _Subscriber:
    def __init__(self, flt: WallFilter) -> None:
        self.filter = flt
        self.changed = asyncio.Event()
        self.last: WallState | None = None


class LiveHub:
    def __init__(
        self,
        db_path: Path | str | None = None,
        *,
        clock: Callable[[], float] = time.time,
        poll_interval: float = 1.0,
        resync_interval: float = 30.0,
        availability_interval: float = 60.0,
        heartbeat: float = 15.0,
        retry_ms: int = 1000,
        forecasts: data.ForecastSource | None = None,
    ) -> None:
        self.db_path = Path(db_path) if db_path is not None else None
        self.clock = clock
        self.poll_interval = poll_interval
        self.resync_interval = resync_interval
        self.availability_interval = availability_interval
        self.heartbeat = heartbeat
        self.retry_ms = retry_ms
        self.forecasts = forecasts
        self.state: WallState | None = None
        self.version = 0
        self.refreshes = 0
        self.last_refresh_seconds = 0.0
        self._subs: set[_Subscriber] = set()
        self._wake = asyncio.Event()
        self._ready = asyncio.Event()
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._conn: sqlite3.Connection | None = None
        self._wanted: list[asyncio.Future[WallState]] = []
        self._avail: dict[str, float] = {}
        self._avail_at = float("-inf")
        self._avail_day = 0.0

    # -- PollObserver ----------------------------------------------------------------------------------------

    def observe(self, polls: list[DevicePoll], readings: list[list[Reading]], now: float) -> None:
        self.poke()

    def tick(self, now: float) -> None:
        self.poke()

    def poke(self) -> None:
        """Ask for a refresh now (safe from any thread)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._wake.set()
        else:
            loop.call_soon_threadsafe(self._wake.set)

    # -- refresh loop ----------------------------------------------------------------------------------------

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    async def ready(self) -> WallState:
        await self._ready.wait()
        assert self.state is not None
        return self.state

    async def fresh(self) -> WallState:
        """The state as of now: with no wall connected the hub stays idle, so a one-off read asks for a refresh."""
        if self._subs and self.state is not None:
            return self.state
        fut: asyncio.Future[WallState] = asyncio.get_running_loop().create_future()
        self._wanted.append(fut)
        self.poke()
        try:
            return await asyncio.wait_for(asyncio.shield(fut), FRESH_TIMEOUT)
        except TimeoutError:
            return await self.ready()

    async def run(self) -> None:
        """Refresh until ``close()``; started by the web app's lifespan."""
        if self.db_path is None:
            raise RuntimeError("LiveHub has no database path")
        self._loop = asyncio.get_running_loop()
        self._conn = data.open_read(self.db_path)
        last_version: int | None = None
        last_full = float("-inf")
        try:
            while not self._closed:
                now = self.clock()
                try:
                    version = await asyncio.to_thread(self._data_version)
                    # Nobody watching: stay idle (a 2,000-device refresh costs ~0.1 s of CPU) until asked.
                    watched = bool(self._subs or self._wanted)
                    due = version != last_version or now - last_full >= self.resync_interval
                    if self.state is None or self._wanted or (watched and due):
                        last_version, last_full = version, now
                        started = time.perf_counter()
                        new = await asyncio.to_thread(self.compute, now)
                        self.last_refresh_seconds = time.perf_counter() - started
                        self._publish(new)
                except incident_db.DATABASE_ERRORS:  # SQLite busy, or a shared PostgreSQL that is down
                    log.exception("wall refresh failed; retrying")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_interval)
                self._wake.clear()
        finally:
            self._conn.close()
            self._conn = None

    def _data_version(self) -> int:
        assert self._conn is not None
        return int(self._conn.execute("PRAGMA data_version").fetchone()[0])

    def compute(self, now: float) -> WallState:
        conn = self._conn
        assert conn is not None
        devices = data.wall_devices(conn)
        incidents = data.wall_incidents(conn)
        maint = data.in_maintenance(conn, [(d.device_id, d.labels) for d in devices], now)
        day = data.local_midnight(now)
        if now - self._avail_at >= self.availability_interval or day != self._avail_day:
            self._avail = data.availability_since(conn, day)
            self._avail_at, self._avail_day = now, day
        forecasts = None
        if self.forecasts is not None:
            try:
                forecasts = self.forecasts(conn, now)
            except Exception:
                log.exception("forecast source failed; wall shows supplies without days to empty")
        return wall.build(devices, incidents, maint, now, forecasts=forecasts, availability=self._avail)

    def _publish(self, new: WallState) -> None:
        self.state = new
        self.version += 1
        self.refreshes += 1
        self._ready.set()
        wanted, self._wanted = self._wanted, []
        for fut in wanted:
            if not fut.done():
                fut.set_result(new)
        for sub in self._subs:
            sub.changed.set()

    def close(self) -> None:
        """End every stream (so the HTTP server can stop) and the refresh loop."""
        self._closed = True
        for sub in self._subs:
            sub.changed.set()
        self.poke()
        self._wake.set()

    # -- streams ---------------------------------------------------------------------------------------------

    async def stream(self, flt: WallFilter) -> AsyncIterator[str]:
        sub = _Subscriber(flt)
        yield f"retry: {self.retry_ms}\n\n"
        # Fresh before subscribing: an idle hub's last state may be old. Anything committed after this
        # refresh moves data_version, so the next refresh reaches this subscriber as an update.
        state = await self.fresh()
        self._subs.add(sub)
        try:
            yield sse("snapshot", {**wall.snapshot(state, flt), "now": self.clock()}, self.version)
            sub.last = state
            while not self._closed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(sub.changed.wait(), self.heartbeat)
                if self._closed:
                    break
                if not sub.changed.is_set():
                    yield f": ping {self.clock():.0f}\n\n"
                    continue
                sub.changed.clear()
                state = self.state
                assert state is not None
                assert sub.last is not None
                msg = wall.update(sub.last, state, flt)
                sub.last = state
                if msg is not None:
                    yield sse("update", {**msg, "now": self.clock()}, self.version)
        finally:
            self._subs.discard(sub)
