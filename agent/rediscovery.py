"""Scheduled rediscovery: sweep the configured ranges again and again, report what changed.

A device found now and not in the previous sweep (nor a configured target,
which is polled anyway) is ``discovered``; one in the previous sweep and not
found now is ``vanished``. The first sweep of a run compares with nothing, so
every unconfigured device is reported once per agent start: the collector
keeps the history, the agent keeps no state on disk for this.

The comparison (``diff``) is pure and takes ``now``; the loop does the I/O.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable

from agent.config import Discovery
from agent.discover import expand, sweep
from agent.wire import Device, InventoryEvent

log = logging.getLogger("fleetwatch.agent.discovery")

Key = tuple[str, int]


def _event(kind: str, key: Key, device: Device, now: float) -> InventoryEvent:
    return InventoryEvent(
        event=kind,  # type: ignore[arg-type]
        address=key[0],
        port=key[1],
        sys_name=device.sys_name,
        sys_object_id=device.sys_object_id,
        vendor=device.vendor,
        model=device.model,
        kind=device.kind,
        ts=now,
    )


def diff(
    previous: dict[Key, Device], current: dict[Key, Device], configured: Iterable[Key], now: float
) -> list[InventoryEvent]:
    """Events between two sweeps; configured targets never produce one (their polls say it all)."""
    known = set(configured)
    events = [_event("discovered", k, d, now) for k, d in current.items() if k not in previous and k not in known]
    events += [_event("vanished", k, d, now) for k, d in previous.items() if k not in current and k not in known]
    return events


class Rediscovery:
    """Owns the previous sweep's result between sweeps."""

    def __init__(self, config: Discovery, configured: Iterable[Key]) -> None:
        self.config = config
        self.addresses = expand(config.ranges)
        self.credentials = config.credentials()
        self.configured = set(configured)
        self.previous: dict[Key, Device] = {}
        self.sweeps = 0

    async def sweep_once(self, now: float) -> list[InventoryEvent]:
        result = await sweep(self.addresses, self.credentials, port=self.config.port, timeout=self.config.timeout)
        current = {(f.address, f.port): f.device for f in result.found}
        events = diff(self.previous, current, self.configured, now)
        self.previous = current
        self.sweeps += 1
        for address, problem in result.problems.items():
            log.info("discovery: %s: %s", address, problem)
        return events

    async def run(self, emit: Callable[[list[InventoryEvent]], Awaitable[None]], stop: asyncio.Event) -> None:
        """First sweep at once, then every ``every`` seconds from the start of the previous one."""
        while not stop.is_set():
            started = time.monotonic()
            try:
                events = await self.sweep_once(time.time())
            except Exception:  # a failed sweep must not stop the agent's polling
                log.exception("discovery sweep failed")
                events = []
            if events:
                log.info("discovery: %s", ", ".join(f"{e.event} {e.address}:{e.port}" for e in events))
                await emit(events)
            delay = max(0.0, self.config.every - (time.monotonic() - started))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
