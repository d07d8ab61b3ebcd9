"""An agent that stops delivering is a fault of its own: one incident, not silence.

When an agent dies, its devices are marked unreachable once each (the collector's stale check), but a
single synthetic poll never satisfies the "unreachable for 3 polls" rules, and it should not: 200
printers at a branch did not all fail, the one agent watching them did. So the collector watches its
agents' batches and raises ``agent_silent`` on the pseudo-device ``agent:<agent_id>`` once an agent has
sent nothing for ``stale_after``; it resolves when a batch arrives again. The alert goes through the
incident layer like any rule's (SLA, escalation, notifications, audit, several collectors sharing one
incident database open it once).

Pure: batches seen and the clock are passed in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from collector.alerts import AlertEvent, AlertState, Severity
from collector.incidents.model import DeviceInfo

RULE = "agent_silent"
SEVERITY: Severity = "P2"
PREFIX = "agent:"


def agent_device_id(agent_id: str) -> str:
    return PREFIX + agent_id


def common_labels(device_labels: Iterable[Mapping[str, str]]) -> dict[str, str]:
    """Labels every device of the agent shares (its site, department, tier): the agent's incident gets them,
    so site filters, SLA tiers and routes apply to it as to the devices it watches."""
    shared: dict[str, str] | None = None
    for labels in device_labels:
        if shared is None:
            shared = dict(labels)
        else:
            shared = {k: v for k, v in shared.items() if labels.get(k) == v}
    return shared or {}


def agent_info(agent_id: str, device_labels: Iterable[Mapping[str, str]]) -> DeviceInfo:
    return DeviceInfo(device_id=agent_device_id(agent_id), labels=common_labels(device_labels), kind="agent")


class AgentWatch:
    """Last batch per agent, and which agents are currently reported silent."""

    def __init__(self, silent_after: float) -> None:
        self.silent_after = silent_after
        self.last_batch: dict[str, float] = {}
        self.silent: dict[str, float] = {}  # agent -> when its silence began (its last batch)

    def dump(self) -> dict[str, float]:
        """Which agents are reported silent (and since when): kept across collector restarts, so a retired
        agent's incident is not opened again after every restart and a returning agent still resolves it."""
        return dict(self.silent)

    def restore(self, silent: dict[str, float]) -> None:
        self.silent.update({str(k): float(v) for k, v in silent.items()})

    def seen(self, agent_id: str, at: float) -> None:
        if at > self.last_batch.get(agent_id, float("-inf")):
            self.last_batch[agent_id] = at

    def check(self, now: float) -> list[AlertEvent]:
        """Transitions since the last check: ``firing`` for an agent silent too long, ``resolved`` when back."""
        events = []
        for agent_id, last in sorted(self.last_batch.items()):
            quiet = now - last
            if quiet > self.silent_after and agent_id not in self.silent:
                self.silent[agent_id] = last
                events.append(self._event(agent_id, AlertState.firing, now, last, quiet))
            elif quiet <= self.silent_after and agent_id in self.silent:
                began = self.silent.pop(agent_id)
                events.append(self._event(agent_id, AlertState.resolved, now, began, quiet))
        return events

    def _event(self, agent_id: str, state: AlertState, now: float, since: float, quiet: float) -> AlertEvent:
        minutes = max(1, round(quiet / 60))
        return AlertEvent(
            state=state,
            rule=RULE,
            device_id=agent_device_id(agent_id),
            labels=(),
            severity=SEVERITY,
            at=now,
            since=since,
            annotations={
                "summary": f"agent {agent_id}: no data for {minutes} min",
                "description": f"The collector has received no batch from agent {agent_id} for {quiet:.0f}s"
                f" (stale_after {self.silent_after:.0f}s): the devices it polls are not monitored meanwhile.",
                "runbook": "Check the agent's host and service (systemctl status fleetwatch-agent), its network path"
                " to the collector (outbound TCP 8471) and, with CURVE, that its public key is still allowed.",
            },
            values={"silent_s": round(quiet, 1)},
            suppresses_device=True,
        )
