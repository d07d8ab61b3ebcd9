"""Stages that run after a batch is stored: rules -> incidents.

Kept out of ``service.py`` so the service only knows the ``PollObserver``
shape. The rules engine's state is saved to the state directory on every
tick and loaded at start, so a collector restart neither forgets a pending
``for`` clock nor re-fires alerts that are already open.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from agent.wire import DevicePoll
from collector import agent_watch
from collector.agent_watch import AgentWatch
from collector.alerts import AlertEvent, AlertState
from collector.incidents.manager import IncidentService
from collector.incidents.model import DeviceInfo
from collector.rules import RuleEngine, device_info, load_rules
from collector.series import Reading

log = logging.getLogger("fleetwatch.collector.rules")


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


class RulesStage:
    """Evaluates every stored poll against the loaded rules and hands changes to incidents."""

    def __init__(
        self,
        rule_dirs: list[Path],
        state_file: Path,
        incidents: IncidentService | None,
        overrides: dict[str, Any] | None = None,
        dependency_wait: float = 180.0,
        agents: AgentWatch | None = None,
        agent_device_labels: Callable[[str], list[dict[str, str]]] | None = None,
    ) -> None:
        rules, errors = load_rules(rule_dirs)
        self.errors = errors
        for err in errors:
            # A broken rule file is reported and skipped; the valid rules still run.
            log.error("rule error: %s", err)
        self.state_file = state_file
        self.engine = self._load_engine(rules)
        self.incidents = incidents
        self.overrides = overrides or {}
        self.devices: dict[str, dict[str, Any]] = {}  # last good device info (match on kind/vendor/model)
        self.inventory: dict[str, DeviceInfo] = {}
        self.events_total = 0
        self.dependency_wait = dependency_wait
        self.reachable: dict[str, bool] = {}
        # Device-down alerts held while their parent also fails but is not declared down yet.
        self.waiting: dict[str, tuple[AlertEvent, float]] = {}
        self.rules_loaded = len(rules)
        self.agents = agents
        self.agent_device_labels = agent_device_labels or (lambda _agent: [])
        self.agents_file = state_file.with_name("agent_watch.json")
        if agents is not None and self.agents_file.exists():
            try:
                agents.restore(json.loads(self.agents_file.read_text(encoding="utf-8")))
            except (ValueError, TypeError, AttributeError) as exc:
                log.error("ignoring unreadable %s: %s", self.agents_file, exc)
        log.info("loaded %d rule(s) from %s (%d error(s))", len(rules), ", ".join(map(str, rule_dirs)), len(errors))

    def _load_engine(self, rules: list[Any]) -> RuleEngine:
        if self.state_file.exists():
            try:
                state = json.loads(self.state_file.read_text(encoding="utf-8"))
                engine = RuleEngine.load_state(rules, state)
                log.info("resumed %d alert(s) from %s", len(engine.alerts()), self.state_file)
                return engine
            except (ValueError, KeyError, TypeError) as exc:
                log.error("ignoring unreadable rule state %s: %s", self.state_file, exc)
        return RuleEngine(rules)

    def _device_info(self, poll: DevicePoll) -> DeviceInfo:
        override = self.overrides.get(poll.device_id)
        labels = {**poll.labels, **(getattr(override, "labels", None) or {})}
        parent = getattr(override, "parent", None) or poll.parent
        prev = self.inventory.get(poll.device_id)
        d = poll.device
        if not poll.reachable and prev is not None:
            # An unreachable poll carries no identity: keep what the device last said about itself.
            info = replace(prev, labels=labels, parent=parent)
        else:
            info = DeviceInfo(
                device_id=poll.device_id,
                labels=labels,
                parent=parent,
                vendor=d.vendor,
                model=d.model,
                serial=d.serial,
                location=d.sys_location,
                kind=d.kind.value,
            )
        self.inventory[poll.device_id] = info
        return info

    def observe(self, polls: list[DevicePoll], readings: list[list[Reading]], now: float) -> None:
        events: list[AlertEvent] = []
        for poll, poll_readings in zip(polls, readings, strict=True):
            info = self._device_info(poll)
            self.reachable[poll.device_id] = poll.reachable
            if poll.reachable or poll.device_id not in self.devices:
                dev = device_info(poll)
                dev["labels"] = info.labels
                if not poll.reachable and info.kind:
                    dev["kind"] = info.kind
                self.devices[poll.device_id] = dev
            events.extend(self.engine.evaluate(poll.device_id, poll_readings, self.devices[poll.device_id], now))
        self._hand_over(self._hold_for_parents(events, now) + self._release_waiting(now), now)

    def _parent_failing(self, device_id: str) -> bool:
        info = self.inventory.get(device_id)
        return bool(info and info.parent and self.reachable.get(info.parent) is False)

    def _parent_down(self, device_id: str) -> bool:
        info = self.inventory.get(device_id)
        parent = info.parent if info else None
        return any(
            a.device_id == parent and a.suppresses_device and a.state == AlertState.firing for a in self.engine.alerts()
        )

    def _hold_for_parents(self, events: list[AlertEvent], now: float) -> list[AlertEvent]:
        """A switch dies: its printers may count their failed polls faster than it does.

        Their device-down alerts wait (up to ``dependency_wait``) while the parent
        is failing too, so the incident layer sees the parent down first and
        suppresses them instead of opening one incident per printer.
        """
        ready = []
        for e in events:
            if e.state == AlertState.firing and e.suppresses_device and self._parent_failing(e.device_id):
                self.waiting[e.fingerprint] = (e, now + self.dependency_wait)
                continue
            if e.state == AlertState.resolved and self.waiting.pop(e.fingerprint, None) is not None:
                continue  # came back before anything was opened
            ready.append(e)
        return ready

    def _release_waiting(self, now: float) -> list[AlertEvent]:
        released = []
        for fp, (event, deadline) in list(self.waiting.items()):
            if self._parent_down(event.device_id) or not self._parent_failing(event.device_id) or now >= deadline:
                del self.waiting[fp]
                released.append(event)
        return released

    def _hand_over(self, events: list[AlertEvent], now: float) -> None:
        changes = [e for e in events if e.state in (AlertState.firing, AlertState.resolved)]
        for e in changes:
            log.info("%s %s on %s %s", e.state.value, e.rule, e.device_id, dict(e.labels))
        self.events_total += len(changes)
        if self.incidents is not None and events:
            self.incidents.handle(events, self.inventory, now)

    def tick(self, now: float) -> None:
        released = self._release_waiting(now)
        if released:
            self._hand_over(released, now)
        if self.agents is not None:
            silent = self.agents.check(now)
            for ev in silent:
                agent_id = ev.device_id.removeprefix(agent_watch.PREFIX)
                self.inventory[ev.device_id] = agent_watch.agent_info(agent_id, self.agent_device_labels(agent_id))
            if silent:
                self._hand_over(silent, now)
                _atomic_write(self.agents_file, json.dumps(self.agents.dump()))
        if self.incidents is not None:
            self.incidents.tick(now)
        _atomic_write(self.state_file, json.dumps(self.engine.dump_state()))
