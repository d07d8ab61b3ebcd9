"""What the collector needs from a storage backend.

SQLite (``sqlite.SqliteStorage``) implements all of it and is the embedded
default. A scale-out backend (InfluxDB) implements the time-series half
(``write_samples``, ``history``) while inventory, latest state and incidents
stay in the relational store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from agent.wire import DevicePoll, InventoryEvent
from collector.series import Reading


@dataclass(frozen=True)
class DeviceRow:
    device_id: str
    agent_id: str | None
    address: str | None
    port: int | None
    kind: str | None
    vendor: str | None
    model: str | None
    serial: str | None
    sys_name: str | None
    location: str | None
    labels: dict[str, str]
    parent: str | None
    first_seen: float
    last_seen: float
    last_reachable: float | None
    reachable: bool


@dataclass(frozen=True)
class Sample:
    ts: float
    value: float


class TimeSeriesSink(Protocol):
    def write_samples(self, device_id: str, ts: float, readings: list[Reading]) -> int: ...

    def history(
        self,
        device_id: str,
        metric: str,
        labels: dict[str, str] | None = None,
        since: float | None = None,
        until: float | None = None,
        step: float | None = None,
    ) -> dict[tuple[tuple[str, str], ...], list[Sample]]: ...


class Storage(TimeSeriesSink, Protocol):
    def store_batch(
        self,
        batch_id: str,
        agent_id: str,
        polls: list[DevicePoll],
        readings: list[list[Reading]],
        now: float,
        dropped_before: int = 0,
        events: list[InventoryEvent] | None = None,
    ) -> bool:
        """Durably store a batch; False when this batch id was stored before (duplicate)."""
        ...

    def devices(self) -> list[DeviceRow]: ...

    def mark_unreachable(self, device_ids: list[str]) -> None:
        """Devices no agent reports any more read as unreachable in the inventory."""
        ...

    def agent_last_batches(self) -> dict[str, float]:
        """When each agent's newest stored batch arrived (within retention)."""
        ...

    def latest(self, device_id: str) -> DevicePoll | None: ...

    def prune(self, now: float, retention_s: float) -> int: ...

    def save_stats(self, stats: Mapping[str, float], now: float) -> None: ...
