"""The agent process: schedule every target, poll concurrently, hand polls to the sender.

Each target has its own loop, so one slow or dead device only ever delays
itself; a semaphore caps how many devices are polled at once (UDP receive
buffers overflow with hundreds of requests in flight). All targets share one
SNMP engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from agent.config import AgentConfig, ResolvedTarget
from agent.poller import TargetState, poll_target
from agent.probes import local_host
from agent.rediscovery import Rediscovery
from agent.snmp import SnmpSession, new_engine
from agent.spool import Spool
from agent.transport import Sender
from agent.wire import DevicePoll, InventoryEvent

log = logging.getLogger("fleetwatch.agent")


class AgentRunner:
    def __init__(self, config: AgentConfig) -> None:
        self.config = config
        self.targets = config.resolved_targets()
        self.engine = new_engine()
        # One sender and one spool per collector: a collector that is down only grows its own spool.
        self.senders = [
            Sender(config.agent_id, link, Spool(config.spool_dir_for(i), link.spool_max_batches))
            for i, link in enumerate(config.links())
        ]
        self.in_flight = asyncio.Semaphore(config.max_in_flight)
        self.polls_done = 0
        self.rediscovery = (
            Rediscovery(
                config.discovery, [(t.address, t.port) for t in self.targets], config.spool_dir / "discovery.json"
            )
            if config.discovery
            else None
        )

    async def _target_loop(self, target: ResolvedTarget, offset: float, stop: asyncio.Event) -> None:
        session = SnmpSession(
            self.engine, target.address, target.port, target.credentials, timeout=target.timeout, retries=target.retries
        )
        state = TargetState()
        last_problem: str | None = ""  # "" = not polled yet, None = last poll clean
        next_at = time.monotonic() + offset
        while not stop.is_set():
            delay = next_at - time.monotonic()
            if delay > 0:
                try:
                    await asyncio.wait_for(stop.wait(), delay)
                    return
                except TimeoutError:
                    pass
            next_at += target.interval
            async with self.in_flight:
                poll = await poll_target(
                    session,
                    target.device_id,
                    state,
                    identity_every=target.identity_every,
                    labels=target.labels,
                    parent=target.parent,
                )
            self.polls_done += 1
            last_problem = _log_change(target.device_id, poll, last_problem)
            await self._submit(poll)
            if next_at < time.monotonic():  # overran its interval: skip, do not pile up
                next_at = time.monotonic() + target.interval

    async def _local_loop(self, stop: asyncio.Event) -> None:
        lh = self.config.local_host
        device_id = lh.name or local_host.default_name()
        labels = {**self.config.labels, **lh.labels}
        while not stop.is_set():
            poll = await asyncio.to_thread(local_host.collect, device_id, lh.services, labels)
            await self._submit(poll)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), lh.interval)

    async def _submit(self, poll: DevicePoll) -> None:
        for sender in self.senders:
            await sender.submit(poll)

    async def _submit_events(self, events: list[InventoryEvent]) -> None:
        for sender in self.senders:
            await sender.submit_events(events)

    async def run(self, stop: asyncio.Event) -> None:
        n = max(1, len(self.targets))
        tasks = [
            asyncio.create_task(
                self._target_loop(t, offset=start_offset(i, n, t.interval), stop=stop), name=f"poll:{t.device_id}"
            )
            for i, t in enumerate(self.targets)
        ]
        if self.config.local_host.enabled:
            tasks.append(asyncio.create_task(self._local_loop(stop), name="local_host"))
        if self.rediscovery is not None:
            tasks.append(asyncio.create_task(self.rediscovery.run(self._submit_events, stop), name="discovery"))
        senders = [asyncio.create_task(s.run(stop), name=f"sender:{s.link.endpoint}") for s in self.senders]
        log.info(
            "agent %s polling %d target(s), pushing to %s",
            self.config.agent_id,
            len(self.targets),
            ", ".join(s.link.endpoint for s in self.senders),
        )
        try:
            await stop.wait()
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.gather(*senders)
            for s in self.senders:
                s.spool.close()


#: First polls are started at most this fast: a first poll (detection + identity) costs about twice a steady
#: one, and 2,000 of them released within 2 s queue behind ``max_in_flight`` for most of a minute (bench/fleet).
FIRST_POLLS_PER_SECOND = 50.0


def start_offset(index: int, count: int, interval: float) -> float:
    """When target ``index`` of ``count`` is first polled, in seconds after start.

    Small fleets all start within 2 s (the first readings appear at once); large ones are spread at
    ``FIRST_POLLS_PER_SECOND``, never over more than one interval, so later cycles stay evenly spread too.
    """
    spread = min(interval, max(2.0, count / FIRST_POLLS_PER_SECOND))
    return spread * index / max(1, count)


def _log_change(device_id: str, poll: DevicePoll, last: str | None) -> str | None:
    """Log a device's errors when they change, not on every poll: a dead printer is one line, not one a minute.

    The errors still travel with every poll (the collector and rules see them); this only keeps the agent's
    log readable. Returns what to compare the next poll with.
    """
    problem = "; ".join(f"{e.probe}: {e.message}" for e in poll.errors) or None
    if problem == last:
        return last
    if problem is None:
        if last:
            log.info("%s: polled cleanly again", device_id)
    elif not poll.reachable:
        log.warning("%s: unreachable: %s", device_id, problem)
    else:
        log.info("%s: %s", device_id, problem)
    return problem
