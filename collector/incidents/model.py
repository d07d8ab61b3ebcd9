"""What an incident is: the record a maintenance contract is judged on.

Times are aware UTC datetimes in the model and ISO 8601 ``...Z`` text in the
database and in JSON, so a row read in the SQLite shell is readable and
``incidents list --json`` is a stable contract.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from collector.alerts import Severity


class State(StrEnum):
    open = "open"
    acknowledged = "acknowledged"
    in_progress = "in_progress"
    resolved = "resolved"
    closed = "closed"


ACTIVE_STATES = (State.open, State.acknowledged, State.in_progress)


class TransitionError(ValueError):
    """A lifecycle action that is not allowed from the incident's current state."""


@dataclass(frozen=True)
class DeviceInfo:
    """Inventory data the collector knows about a device; copied into the incident at open time.

    ``parent`` is the device it is reached through (a switch, a print server):
    when the parent is down, the devices behind it do not open incidents.
    """

    device_id: str
    labels: dict[str, str] = field(default_factory=dict)
    parent: str | None = None
    vendor: str | None = None
    model: str | None = None
    serial: str | None = None
    location: str | None = None
    kind: str | None = None

    def inventory(self) -> dict[str, Any]:
        return {
            "vendor": self.vendor,
            "model": self.model,
            "serial": self.serial,
            "location": self.location,
            "kind": self.kind,
            "parent": self.parent,
            "labels": dict(self.labels),
        }


def utc(now: float | datetime) -> datetime:
    """Unix seconds (as in ``AlertEvent.at``) or a datetime -> aware UTC datetime, whole seconds."""
    if isinstance(now, datetime):
        dt = now if now.tzinfo else now.replace(tzinfo=UTC)
        return dt.astimezone(UTC).replace(microsecond=0)
    return datetime.fromtimestamp(round(now), UTC)


def iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(s: str | None) -> datetime | None:
    if s is None:
        return None
    return datetime.fromisoformat(s.replace("Z", "+00:00")).astimezone(UTC)


class Note(BaseModel):
    model_config = ConfigDict(extra="forbid")
    at: datetime
    by: str
    text: str


class Escalation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    step: str
    at: datetime
    notify: list[str] = Field(default_factory=list)


class Incident(BaseModel):
    """One incident. Field names are the column names and the JSON keys (never renamed)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    number: int = 0  # assigned by the store on insert; human friendly, increasing, never reused
    fingerprint: str
    device: str
    inventory: dict[str, Any] = Field(default_factory=dict)  # vendor, model, serial, location, labels ...
    rule: str
    alert_labels: dict[str, str] = Field(default_factory=dict)
    severity: Severity
    tier: str
    type: str = "fault"  # fault | supply | supply_order | inspection
    state: State = State.open
    summary: str = ""
    symptom: str = ""  # the rule's description at the time
    readings: dict[str, float | str] = Field(default_factory=dict)  # the values behind the alert
    runbook: str | None = None
    fault_since: datetime | None = None
    opened_at: datetime
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    closed_at: datetime | None = None
    closed_by: str | None = None
    response_due: datetime
    resolve_due: datetime
    response_met: bool | None = None
    resolve_met: bool | None = None
    assignee: str | None = None
    notes: list[Note] = Field(default_factory=list)
    cause: str | None = None
    action: str | None = None
    result: str | None = None
    auto_resolve: bool = True
    alert_firing: bool = True  # the alert behind it is still firing
    occurrences: int = 1
    last_occurrence_at: datetime | None = None
    repeat_count: int = 0
    escalations: list[Escalation] = Field(default_factory=list)
    updated_at: datetime
    audit_seq: int = 0  # the audit entry that wrote this version of the row

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    def to_row(self) -> dict[str, Any]:
        """JSON-safe dict (ISO times): the row as stored, hashed by the audit log and shown by ``--json``."""
        return self.model_dump(mode="json")

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Incident:
        return cls.model_validate(row)

    def contract(self) -> dict[str, Any]:
        """The ``incidents list --json`` object (a documented contract)."""
        return {
            "number": self.number,
            "device": self.device,
            "rule": self.rule,
            "severity": self.severity,
            "state": self.state.value,
            "tier": self.tier,
            "type": self.type,
            "summary": self.summary,
            "opened_at": iso(self.opened_at),
            "acknowledged_at": iso(self.acknowledged_at),
            "resolved_at": iso(self.resolved_at),
            "closed_at": iso(self.closed_at),
            "response_due": iso(self.response_due),
            "resolve_due": iso(self.resolve_due),
            "response_met": self.response_met,
            "resolve_met": self.resolve_met,
            "assignee": self.assignee,
            "occurrences": self.occurrences,
            "repeat_count": self.repeat_count,
        }
