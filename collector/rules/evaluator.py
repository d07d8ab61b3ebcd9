"""The rule engine: a pure state machine per alert, driven one device poll at a time.

Per identity (rule, device, identity labels) an alert goes
inactive -> pending -> firing -> resolved, as in Prometheus:

- the condition holds: pending (``since`` = now); once it has held for
  ``for``, firing (straight to firing when ``for`` is 0);
- a pending alert whose condition fails goes back to inactive (an
  ``inactive`` event says so, so a displayed pending alert can go away);
- a firing alert resolves when its condition fails, or, when the rule has a
  ``clear`` condition, only when that holds (hysteresis), and in both cases
  only after ``keep_firing_for`` of being clear;
- an identity with no data this poll keeps its state: a printer whose poll
  failed has only ``up=0``, and its toner alerts stay as they were.

``evaluate`` returns only changes, so a firing alert is reported once; its
current values are in ``alerts()``. Time is the caller's ``now``. The engine
keeps no I/O; ``dump_state``/``load_state`` carry it across restarts.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from agent.wire import DevicePoll
from collector.alerts import AlertEvent, AlertState
from collector.rules import conditions
from collector.rules.conditions import Hit, SeriesHistory, SeriesKey, Snapshot
from collector.rules.model import Rule
from collector.rules.templates import render, template_value
from collector.series import Labels, Reading

log = logging.getLogger(__name__)

STATE_VERSION = 1
#: A series unseen this long is forgotten (its rate/``was`` history with it).
HISTORY_TTL_S = 30 * 86400.0


@dataclass
class _Active:
    rule: str
    device_id: str
    key: Labels
    state: AlertState
    since: float  # condition first held
    at: float  # current state entered
    cleared_since: float | None = None  # firing, but clear since then (keep_firing_for running)
    values: dict[str, float | str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


def device_info(poll: DevicePoll) -> dict[str, Any]:
    """What ``evaluate`` needs to know about a device (rule ``match`` and templates), from a poll.

    A failed poll may carry less identity than a good one; callers that keep
    the last good poll's info for unreachable devices keep matching stable.
    """
    info: dict[str, Any] = poll.device.model_dump(mode="json", exclude_none=True)
    info["labels"] = dict(poll.labels)
    if poll.parent is not None:
        info["parent"] = poll.parent
    return info


class RuleEngine:
    def __init__(self, rules: Iterable[Rule], *, history_ttl: float = HISTORY_TTL_S) -> None:
        self.rules: dict[str, Rule] = {}
        for r in rules:
            if r.alert in self.rules:
                raise ValueError(f"duplicate rule name {r.alert!r}")
            if r.enabled:
                self.rules[r.alert] = r
        self._needs = conditions.history_needs(self.rules.values())
        # Which rules apply depends only on kind/vendor/model/labels: decided once per such combination, not
        # once per rule and poll.
        self._applicable: dict[tuple[Any, ...], list[Rule]] = {}
        self._history_ttl = history_ttl
        self._active: dict[str, dict[tuple[str, Labels], _Active]] = {}
        self._history: dict[str, dict[SeriesKey, SeriesHistory]] = {}
        #: Alerts from a saved state whose rule no longer exists: left to the incident manager, listed here.
        self.dropped: list[AlertEvent] = []

    # -- evaluation ---------------------------------------------------------

    def evaluate(
        self, device_id: str, readings: Iterable[Reading], device: dict[str, Any], now: float
    ) -> list[AlertEvent]:
        readings = list(readings)
        history = self._history.setdefault(device_id, {})
        snap = Snapshot.of(readings, now, history)
        active = self._active.setdefault(device_id, {})
        events: list[AlertEvent] = []
        for rule in self._rules_for(device):
            try:
                hits = conditions.evaluate(rule.condition, snap, rule.identity)
                clears = conditions.evaluate(rule.clear, snap, rule.identity) if rule.clear is not None else None
            except Exception:  # one rule meeting odd data must not stop the device's other rules
                log.exception(
                    "rule %s on device %s: evaluation failed, alerts left as they were", rule.alert, device_id
                )
                continue
            keys = set(hits)
            if active:
                keys.update(k for (name, k) in active if name == rule.alert)
            for key in sorted(keys):
                ev = self._step(rule, device_id, device, key, hits.get(key), clears, active, now)
                if ev is not None:
                    events.append(ev)
        conditions.remember(history, readings, self._needs, now)
        self._forget_old(history, now)
        if not active:
            del self._active[device_id]
        return events

    def _rules_for(self, device: dict[str, Any]) -> list[Rule]:
        labels = device.get("labels") or {}
        try:
            key = (device.get("kind"), device.get("vendor"), device.get("model"), tuple(sorted(labels.items())))
            hash(key)
        except TypeError:  # odd values (lists) in a hand-made device dict: decide without the cache
            return [r for r in self.rules.values() if self._matches(r, device)]
        rules = self._applicable.get(key)
        if rules is None:
            if len(self._applicable) > 10_000:
                self._applicable.clear()
            rules = self._applicable[key] = [r for r in self.rules.values() if self._matches(r, device)]
        return rules

    @staticmethod
    def _matches(rule: Rule, device: dict[str, Any]) -> bool:
        try:
            return rule.match.matches(device)
        except Exception:  # one rule meeting odd data must not stop the device's other rules
            log.exception("rule %s: device match failed, rule skipped", rule.alert)
            return False

    def _step(
        self,
        rule: Rule,
        device_id: str,
        device: dict[str, Any],
        key: Labels,
        hit: Hit | None,
        clears: dict[Labels, Hit] | None,
        active: dict[tuple[str, Labels], _Active],
        now: float,
    ) -> AlertEvent | None:
        a = active.get((rule.alert, key))
        holds = hit is not None and hit.holds
        if a is None:
            if not holds:
                return None
            assert hit is not None
            state = AlertState.firing if rule.for_ <= 0 else AlertState.pending
            a = _Active(rule.alert, device_id, key, state, since=now, at=now)
            self._refresh(a, rule, device_id, device, hit)
            active[(rule.alert, key)] = a
            return self._event(a, rule)

        if a.state == AlertState.pending:
            if hit is None:
                return None  # no data: stays pending
            if not holds:
                del active[(rule.alert, key)]
                return self._event(a, rule, state=AlertState.inactive, at=now)
            self._refresh(a, rule, device_id, device, hit)
            if now - a.since >= rule.for_:
                a.state, a.at = AlertState.firing, now
                return self._event(a, rule)
            return None

        # firing
        if holds:
            assert hit is not None
            a.cleared_since = None
            self._refresh(a, rule, device_id, device, hit)
            return None
        if clears is None:
            clear_hit = hit  # condition known false
        else:
            clear_hit = c if (c := clears.get(key)) is not None and c.holds else None
        if clear_hit is None:
            if clears is not None and (hit is not None or key in clears):
                a.cleared_since = None  # in the hysteresis band: not clear, still firing
            return None  # no data, or not clear yet
        if a.cleared_since is None:
            a.cleared_since = now
        if now - a.cleared_since < rule.keep_firing_for:
            return None
        del active[(rule.alert, key)]
        a.values = dict(clear_hit.values)
        return self._event(a, rule, state=AlertState.resolved, at=now)

    def _refresh(self, a: _Active, rule: Rule, device_id: str, device: dict[str, Any], hit: Hit) -> None:
        a.values = dict(hit.values)
        ctx: dict[str, Any] = {
            "vendor": device.get("vendor"),
            "model": device.get("model"),
            "device_kind": str(getattr(k, "value", k)) if (k := device.get("kind")) is not None else None,
            **hit.labels,
            "device": device_id,
            "device_info": device,
            "device_labels": device.get("labels") or {},
            "labels": hit.labels,
            "rule": rule.alert,
            "severity": rule.severity,
            "value": None if hit.value is None else template_value(hit.value),
            "values": {k: template_value(v) for k, v in hit.values.items()},
        }
        a.annotations = {k: render(v, ctx) for k, v in rule.annotations.items()}

    def _event(self, a: _Active, rule: Rule, *, state: AlertState | None = None, at: float | None = None) -> AlertEvent:
        return AlertEvent(
            state=state or a.state,
            rule=a.rule,
            device_id=a.device_id,
            labels=tuple(sorted({**dict(a.key), **rule.labels}.items())),
            severity=rule.severity,
            at=a.at if at is None else at,
            since=a.since,
            annotations=dict(a.annotations),
            values=dict(a.values),
            auto_resolve=rule.auto_resolve,
            incident_type=rule.incident_type,
            suppresses_device=rule.suppresses_device,
        )

    def _forget_old(self, history: dict[SeriesKey, SeriesHistory], now: float) -> None:
        for k in [k for k, h in history.items() if now - h.updated > self._history_ttl]:
            del history[k]

    # -- views --------------------------------------------------------------

    def alerts(self) -> list[AlertEvent]:
        """Current pending and firing alerts, as events in their current state with their latest values."""
        return [
            self._event(a, self.rules[a.rule])
            for dev in sorted(self._active)
            for _, a in sorted(self._active[dev].items())
        ]

    # -- persistence --------------------------------------------------------

    def dump_state(self) -> dict[str, Any]:
        """JSON-ready state: active alerts and the per-series history the rules need."""
        return {
            "version": STATE_VERSION,
            "alerts": [
                {
                    "rule": a.rule,
                    "device_id": a.device_id,
                    "key": [list(p) for p in a.key],
                    "state": a.state.value,
                    "since": a.since,
                    "at": a.at,
                    "cleared_since": a.cleared_since,
                    "values": a.values,
                    "annotations": a.annotations,
                }
                for dev in sorted(self._active)
                for _, a in sorted(self._active[dev].items())
            ],
            "history": {
                dev: [
                    {
                        "metric": metric,
                        "labels": [list(p) for p in labels],
                        "samples": [list(s) for s in h.samples],
                        "seen": h.seen,
                        "updated": h.updated,
                    }
                    for (metric, labels), h in sorted(series.items())
                ]
                for dev, series in sorted(self._history.items())
            },
        }

    @classmethod
    def load_state(cls, rules: Iterable[Rule], state: dict[str, Any], **kw: Any) -> RuleEngine:
        """An engine with ``rules`` that continues from ``state`` (as made by ``dump_state``).

        Alerts of rules that are gone or disabled are not resumed; they are
        listed in ``engine.dropped`` (their incidents are the incident
        manager's to close). Raises ``ValueError`` on a state it cannot read.
        """
        engine = cls(rules, **kw)
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"rule engine state version {state.get('version')!r}, expected {STATE_VERSION}")
        for d in state.get("alerts", []):
            key: Labels = tuple((str(k), str(v)) for k, v in d["key"])
            a = _Active(
                rule=d["rule"],
                device_id=d["device_id"],
                key=key,
                state=AlertState(d["state"]),
                since=float(d["since"]),
                at=float(d["at"]),
                cleared_since=d.get("cleared_since"),
                values=dict(d.get("values", {})),
                annotations=dict(d.get("annotations", {})),
            )
            rule = engine.rules.get(a.rule)
            if rule is None:
                engine.dropped.append(
                    AlertEvent(a.state, a.rule, a.device_id, key, "P4", a.at, a.since, a.annotations, a.values)
                )
                log.warning("alert %s|%s|%s: rule no longer loaded, not resumed", a.device_id, a.rule, key)
                continue
            engine._active.setdefault(a.device_id, {})[(a.rule, key)] = a
        for dev, series in state.get("history", {}).items():
            hist = engine._history.setdefault(dev, {})
            for s in series:
                labels: Labels = tuple((str(k), str(v)) for k, v in s["labels"])
                hist[(s["metric"], labels)] = SeriesHistory(
                    samples=deque((float(t), v) for t, v in s["samples"]),
                    seen={str(k): float(v) for k, v in s.get("seen", {}).items()},
                    updated=float(s.get("updated", 0.0)),
                )
        return engine
