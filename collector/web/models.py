"""Request and response bodies of the HTTP API.

Polls, supplies and incidents are the shared models themselves
(``agent.wire``, ``collector.incidents.model``), so the API shows the same
field names as ``fleetwatch poll --json`` and ``incidents list --json``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agent.wire import DevicePoll
from collector.incidents.model import Incident
from collector.web.auth import Role


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AgentSummary(BaseModel):
    agent_id: str
    last_batch_at: float = Field(description="Unix time of its last stored batch")
    batches_last_hour: int
    polls_last_hour: int
    dropped_batches: int = Field(description="batches its spool dropped when full (its counter, as last reported)")
    devices: int
    devices_unreachable: int
    silent_s: float = Field(description="seconds since its last batch")
    silent: bool = Field(description="no batch for longer than the collector's stale_after")


class DeviceSummary(BaseModel):
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
    status: str = Field(description="ok | unreachable | maintenance | P1..P4 (worst open incident)")
    open_incidents: int = 0


class InventoryEvent(BaseModel):
    ts: float
    kind: str
    detail: dict[str, Any]


class DeviceDetail(DeviceSummary):
    latest: DevicePoll | None = Field(description="the latest poll: supplies, trays, counters, states ...")
    forecasts: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="supply index -> forecast (days_to_empty ...), when forecasting runs"
    )
    incidents: list[Incident] = Field(default_factory=list, description="open incidents of this device")
    events: list[InventoryEvent] = Field(default_factory=list, description="new device, reboots, identity changes")


class Series(BaseModel):
    labels: dict[str, str]
    points: list[tuple[float, float]] = Field(description="[unix seconds, value] pairs, oldest first")


class History(BaseModel):
    device_id: str
    metric: str
    since: float
    until: float
    step: float | None
    series: list[Series]


class TimelineEntry(BaseModel):
    seq: int
    at: str
    actor: str
    action: str
    data: dict[str, Any]


class IncidentDetail(BaseModel):
    incident: Incident
    timeline: list[TimelineEntry]


class AssignIn(_In):
    assignee: str = Field(min_length=1)


class NoteIn(_In):
    text: str = Field(min_length=1)


class ResolveIn(_In):
    cause: str = Field(min_length=1)
    action: str = Field(min_length=1)
    result: str | None = None


class ReopenIn(_In):
    reason: str = ""


class WindowIn(_In):
    scope: Literal["device", "label", "site"]
    match: str = Field(min_length=1)
    starts_at: datetime
    ends_at: datetime | None = None
    rrule: str | None = None
    duration: timedelta | None = None
    timezone: str = "UTC"
    reason: str = ""


class WindowOut(BaseModel):
    id: int
    scope: str
    match: str
    starts_at: datetime
    ends_at: datetime | None
    rrule: str | None
    duration: timedelta | None
    timezone: str
    reason: str
    created_by: str
    created_at: datetime | None
    active: bool
    description: str


class TokenIn(_In):
    role: Role
    name: str = Field(min_length=1, max_length=80)


class TokenOut(BaseModel):
    id: str
    name: str
    role: Role
    created_at: float
    last_used_at: float | None
    revoked_at: float | None


class TokenCreated(TokenOut):
    token: str = Field(description="shown once; only its hash is stored")
