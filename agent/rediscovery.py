"""Scheduled rediscovery: sweep the configured ranges again and again, report what changed.

A device found now and not in the previous sweep (nor a configured target,
which is polled anyway) is ``discovered``; one in the previous sweep and not
found now is ``vanished``. The last sweep is kept on disk (next to the spool),
so an agent restart neither reports every unconfigured device as discovered
again nor forgets one that vanished while the agent was down.

The comparison (``diff``) is pure and takes ``now``; the loop does the I/O.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from agent.config import Discovery
from agent.discover import expand, sweep
from agent.wire import Device, InventoryEvent

log = logging.getLogger("fleetwatch.agent.discovery")

Key = tuple[str, int]

_SWEEP = TypeAdapter(list[tuple[str, int, Device]])


def load_sweep(path: Path) -> dict[Key, Device]:
    """The sweep saved by ``save_sweep``; a missing or unreadable file is an empty sweep, never a crash."""
    try:
        rows = _SWEEP.validate_json(path.read_bytes())
    except FileNotFoundError:
        return {}
    except (OSError, ValidationError) as exc:
        log.warning("discovery: ignoring unreadable %s (%s); the next sweep starts from scratch", path, exc)
        return {}
    return {(address, port): device for address, port, device in rows}


def save_sweep(path: Path, sweep_result: dict[Key, Device]) -> None:
    """Written to a temporary file and renamed, so a crash mid-write leaves the previous sweep intact."""
    rows = [(a, p, d.model_dump(mode="json")) for (a, p), d in sorted(sweep_result.items())]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(rows))
    os.replace(tmp, path)


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
    """Owns the previous sweep's result between sweeps (and across restarts when given a ``state_path``)."""

    def __init__(self, config: Discovery, configured: Iterable[Key], state_path: Path | None = None) -> None:
        self.config = config
        self.addresses = expand(config.ranges)
        self.credentials = config.credentials()
        self.configured = set(configured)
        self.state_path = state_path
        self.previous: dict[Key, Device] = load_sweep(state_path) if state_path else {}
        self.sweeps = 0

    async def sweep_once(self, now: float) -> list[InventoryEvent]:
        result = await sweep(self.addresses, self.credentials, port=self.config.port, timeout=self.config.timeout)
        current = {(f.address, f.port): f.device for f in result.found}
        events = diff(self.previous, current, self.configured, now)
        self.previous = current
        self.sweeps += 1
        if self.state_path is not None:
            try:
                save_sweep(self.state_path, current)
            except OSError as exc:  # a full disk must not stop discovery; the next restart re-reports
                log.warning("discovery: cannot save %s: %s", self.state_path, exc)
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
