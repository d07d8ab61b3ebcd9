"""The seam between the rules engine and the incident manager.

The rules engine (``collector.rules``) is a pure state machine per
(rule, device, labels): inactive -> pending -> firing -> resolved. Each
change it makes is an ``AlertEvent``; the incident manager
(``collector.incidents``) turns events into incidents, applies suppression
(maintenance windows, parent/device-down inhibition), SLA clocks,
escalation and notifications. Neither side reads the other's internals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

Severity = Literal["P1", "P2", "P3", "P4"]
SEVERITIES: tuple[Severity, ...] = ("P1", "P2", "P3", "P4")


class AlertState(StrEnum):
    inactive = "inactive"
    pending = "pending"  # condition holds, ``for`` not yet elapsed
    firing = "firing"
    resolved = "resolved"  # condition cleared (after keep_firing_for / clear condition)


@dataclass(frozen=True)
class AlertEvent:
    state: AlertState  # the state entered: pending, firing or resolved
    rule: str  # rule name (unique across loaded rule files)
    device_id: str
    labels: tuple[tuple[str, str], ...]  # identity labels of the alert beyond device (e.g. supply="1.1")
    severity: Severity
    at: float  # evaluation time (Unix seconds) at which the state was entered
    since: float  # when the condition first held (start of the fault)
    annotations: dict[str, str] = field(default_factory=dict)  # summary, description, runbook
    values: dict[str, float | str] = field(default_factory=dict)  # readings behind it (the symptom)
    auto_resolve: bool = True  # False: the incident waits for a person to resolve it
    incident_type: str = "fault"  # fault | supply | supply_order | inspection
    suppresses_device: bool = False  # an "unreachable"-type rule: inhibits the device's other rules

    @property
    def fingerprint(self) -> str:
        """Identity of the alert: one open incident per fingerprint."""
        lab = ",".join(f"{k}={v}" for k, v in self.labels)
        return f"{self.device_id}|{self.rule}|{lab}"
