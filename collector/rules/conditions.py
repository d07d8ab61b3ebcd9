"""Conditions over one device's latest readings (plus a little history), pure.

Each condition yields, per alert identity, a ``Hit``: does it hold, and on
which readings. An identity with no ``Hit`` means "no data": the evaluator
then leaves the alert as it was, because absent data is not "resolved" (a
printer whose poll failed reports only ``up=0``; its toner is not refilled).

History is kept per series (metric + labels) only for metrics that some
rule needs it for (``polls``, ``was``, ``rate``, ``delta``), and only as
much as the rules need: a few samples or a time window.
"""

from __future__ import annotations

import math
import operator
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from collector.rates import Sample, rate_series
from collector.rules.model import Condition, Delta, Flag, Op, Rate, Rule, State, Threshold, _Series
from collector.series import Labels, Reading

SeriesKey = tuple[str, Labels]  # (metric, labels)

OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}
PER_SECONDS = {"second": 1.0, "minute": 60.0, "hour": 3600.0, "day": 86400.0}


@dataclass
class SeriesHistory:
    """Previous samples of one series (oldest first) and when watched text values were last seen."""

    samples: deque[tuple[float, float | str]] = field(default_factory=deque)
    seen: dict[str, float] = field(default_factory=dict)
    updated: float = 0.0


@dataclass(frozen=True)
class Needs:
    """How much history one metric needs, summed over all rules."""

    samples: int = 0  # previous samples to keep
    window: float = 0.0  # seconds of samples to keep
    seen: frozenset[str] = frozenset()  # text values whose sighting is remembered (``was``)

    def __or__(self, other: Needs) -> Needs:
        return Needs(max(self.samples, other.samples), max(self.window, other.window), self.seen | other.seen)


def history_needs(rules: Iterable[Rule]) -> dict[str, Needs]:
    needs: dict[str, Needs] = {}
    for rule in rules:
        for cond in (rule.condition, rule.clear):
            for leaf in cond.leaves() if cond is not None else []:
                spec = leaf.spec
                n: Needs | None = None
                if isinstance(spec, Threshold | State) and spec.polls > 1:
                    n = Needs(samples=spec.polls - 1)
                if isinstance(spec, State) and spec.was:
                    n = (n or Needs()) | Needs(seen=frozenset(spec.was))
                if isinstance(spec, Rate):
                    n = Needs(samples=1, window=spec.window or 0.0)
                if isinstance(spec, Delta):
                    n = Needs(samples=1)
                if n is not None and spec.metric is not None:
                    needs[spec.metric] = needs.get(spec.metric, Needs()) | n
    return needs


@dataclass
class Snapshot:
    """One device at one evaluation: current readings by metric, and history before now.

    Built once per poll and shared by every rule: readings are indexed by metric here, and each
    ``where``/``where_not`` selection is computed once per snapshot however many rules ask for it.
    """

    now: float
    by_metric: dict[str, list[Reading]]
    history: dict[SeriesKey, SeriesHistory]
    _selections: dict[int, list[Reading]] = field(default_factory=dict, repr=False)  # by id(spec), this poll only
    _label_dicts: dict[str, list[dict[str, str]]] = field(default_factory=dict, repr=False)  # parallel to by_metric

    @classmethod
    def of(cls, readings: Iterable[Reading], now: float, history: dict[SeriesKey, SeriesHistory]) -> Snapshot:
        by_metric: dict[str, list[Reading]] = {}
        for r in readings:
            by_metric.setdefault(r.metric, []).append(r)
        return cls(now, by_metric, history)

    def previous(self, r: Reading) -> deque[tuple[float, float | str]]:
        h = self.history.get((r.metric, r.labels))
        return h.samples if h is not None else deque()


@dataclass
class Hit:
    holds: bool
    labels: dict[str, str]  # all labels of the series behind it (template context)
    value: float | str | None
    values: dict[str, float | str]


def identity_key(labels: Labels, identity: list[str] | None) -> Labels:
    if identity is None:
        return labels
    return tuple((k, v) for k, v in labels if k in identity)


def evaluate(cond: Condition, snap: Snapshot, identity: list[str] | None) -> dict[Labels, Hit]:
    """Hits of ``cond`` grouped by identity: an identity holds when any of its series holds."""
    if cond.any is not None:
        groups = [evaluate(c, snap, identity) for c in cond.any]
        out: dict[Labels, Hit] = {}
        for g in groups:
            for key, hit in g.items():
                if key not in out or (hit.holds and not out[key].holds):
                    out[key] = hit
        return out
    if cond.all is not None:
        groups = [evaluate(c, snap, identity) for c in cond.all]
        out = {}
        for key in {k for g in groups for k in g}:
            parts = [g.get(key) for g in groups]
            present = [p for p in parts if p is not None]
            holds = all(p is not None and p.holds for p in parts)
            values: dict[str, float | str] = {}
            for p in present:
                values.update(p.values)
            out[key] = Hit(holds, present[0].labels, present[0].value, values)
        return out
    return _group(_leaf(cond, snap), identity)


def _group(hits: Iterable[tuple[Labels, Hit]], identity: list[str] | None) -> dict[Labels, Hit]:
    out: dict[Labels, Hit] = {}
    for labels, hit in hits:
        key = identity_key(labels, identity)
        if key not in out or (hit.holds and not out[key].holds):
            out[key] = hit
    return out


def _leaf(cond: Condition, snap: Snapshot) -> list[tuple[Labels, Hit]]:
    # Attribute tests, not ``cond.spec``: that property scans the model's fields twice, per rule per poll.
    if cond.threshold is not None:
        return _threshold(cond.threshold, snap)
    if cond.state is not None:
        return _state(cond.state, snap)
    if cond.flag is not None:
        return _flag(cond.flag, snap)
    if cond.rate is not None:
        return _rate(cond.rate, snap)
    if cond.delta is not None:
        return _delta(cond.delta, snap)
    raise TypeError(f"unknown condition {cond.kind}")  # pragma: no cover - the model admits no other kind


def _selected(spec: _Series, snap: Snapshot) -> list[Reading]:
    readings = snap.by_metric.get(spec.metric or "", [])
    if not readings or (not spec.where and not spec.where_not):
        return readings
    out = snap._selections.get(id(spec))  # the snapshot lives for one poll: spec ids are stable meanwhile
    if out is not None:
        return out
    dicts = snap._label_dicts.get(spec.metric or "")
    if dicts is None:
        dicts = snap._label_dicts[spec.metric or ""] = [dict(r.labels) for r in readings]
    where, where_not = list(spec.where.items()), list(spec.where_not.items())
    out = []
    for r, lab in zip(readings, dicts, strict=True):
        # Plain loops, not all()/any() generators: this runs for every reading of every rule's metric.
        # Label values are text, so ``get(k) is None`` means the label is absent.
        for k, accepted in where:
            have = lab.get(k)
            if have is None or have not in accepted:
                break
        else:
            for k, refused in where_not:
                if lab.get(k) in refused:
                    break
            else:
                out.append(r)
    snap._selections[id(spec)] = out
    return out


def _num(v: float | str) -> float | None:
    return None if isinstance(v, str) else v


def _text(v: float | str) -> str:
    if isinstance(v, str):
        return v
    return str(int(v)) if math.isfinite(v) and v == int(v) else str(v)


def _last(samples: deque[tuple[float, float | str]], n: int) -> list[float | str] | None:
    """The last ``n`` previous values, or ``None`` when fewer are known."""
    if n <= 0:
        return []
    if len(samples) < n:
        return None
    return [v for _, v in list(samples)[-n:]]


def _threshold(spec: Threshold, snap: Snapshot) -> list[tuple[Labels, Hit]]:
    cmp = OPS[spec.op]
    rhs_by_labels: dict[Labels, float] = {}
    if spec.value_metric is not None:
        rhs_by_labels = {r.labels: r.value for r in snap.by_metric.get(spec.value_metric, []) if r.is_numeric}  # type: ignore[misc]
    out = []
    for r in _selected(spec, snap):
        v = _num(r.value)
        if v is None:
            continue
        rhs = spec.value if spec.value_metric is None else rhs_by_labels.get(r.labels)
        if rhs is None:
            continue  # the other side is not known (yet): no data, not "false"
        holds = cmp(v, rhs)
        values: dict[str, float | str] = {r.metric: v}
        if spec.value_metric is not None:
            values[spec.value_metric] = rhs
        if holds and spec.polls > 1:
            before = _last(snap.previous(r), spec.polls - 1)
            holds = before is not None and all(_num(b) is not None and cmp(b, rhs) for b in before)
        out.append((r.labels, Hit(holds, dict(r.labels), v, values)))
    return out


def _state(spec: State, snap: Snapshot) -> list[tuple[Labels, Hit]]:
    out = []
    for r in _selected(spec, snap):
        text = _text(r.value)
        holds = text in spec.value
        if holds and spec.was:
            h = snap.history.get((r.metric, r.labels))
            holds = h is not None and any(w in h.seen for w in spec.was)
        if holds and spec.polls > 1:
            before = _last(snap.previous(r), spec.polls - 1)
            holds = before is not None and all(_text(b) in spec.value for b in before)
        out.append((r.labels, Hit(holds, dict(r.labels), text, {r.metric: text})))
    return out


def _flag(spec: Flag, snap: Snapshot) -> list[tuple[Labels, Hit]]:
    errors = snap.by_metric.get("printer_error", [])
    alerts = snap.by_metric.get("printer_alert", [])
    if not errors and not alerts and "printer_alerts" not in snap.by_metric:
        return []  # no printer status this poll: unknown, not cleared
    flags = sorted({f for r in errors if r.value == 1 and (f := r.label("flag")) in spec.flags})
    found = [r for r in alerts if r.label("code") in spec.alert_codes]
    codes = sorted({r.label("code") or "" for r in found})
    descriptions = sorted({d for r in found if (d := r.label("description"))})
    values: dict[str, float | str] = {}
    if flags:
        values["flags"] = ", ".join(flags)
    if codes:
        values["alert_codes"] = ", ".join(codes)
    if descriptions:
        values["alert_description"] = "; ".join(descriptions)
    holds = bool(flags or codes)
    value = ", ".join(flags + [c for c in codes if c not in flags])
    labels: dict[str, str] = {}
    if descriptions:
        labels["alert_description"] = descriptions[0]
    return [((), Hit(holds, labels, value, values))]


def _rate(spec: Rate, snap: Snapshot) -> list[tuple[Labels, Hit]]:
    cmp = OPS[spec.op]
    out = []
    for r in _selected(spec, snap):
        v = _num(r.value)
        if v is None:
            continue
        prev = [(t, p) for t, p in snap.previous(r) if not isinstance(p, str)]
        if spec.window:
            inside = [(t, p) for t, p in prev if t >= snap.now - spec.window]
            prev = inside or prev[-1:]  # polls sparser than the window: rate over the last interval
        else:
            prev = prev[-1:]
        samples = [Sample(t, p) for t, p in prev] + [Sample(snap.now, v)]  # type: ignore[arg-type]
        rates = rate_series(samples, None)
        known = [(a.ts, b) for a, b in zip(samples, rates[1:], strict=False) if b.per_second is not None]
        if not known:
            continue  # first sample, or a counter reset: no rate this time (not "zero")
        span = sum(b.ts - t0 for t0, b in known)
        inc = sum((b.per_second or 0.0) * (b.ts - t0) for t0, b in known)
        if span <= 0:
            continue
        per = inc / span * PER_SECONDS[spec.per]
        out.append((r.labels, Hit(cmp(per, spec.value), dict(r.labels), per, {f"{r.metric}_per_{spec.per}": per})))
    return out


def _delta(spec: Delta, snap: Snapshot) -> list[tuple[Labels, Hit]]:
    cmp = OPS[spec.op]
    out = []
    for r in _selected(spec, snap):
        v = _num(r.value)
        prev = [p for _, p in snap.previous(r) if not isinstance(p, str)]
        if v is None or not prev:
            continue
        d = v - prev[-1]
        values: dict[str, float | str] = {r.metric: v, f"{r.metric}_previous": prev[-1], "delta": d}
        out.append((r.labels, Hit(cmp(d, spec.value), dict(r.labels), v, values)))
    return out


def remember(
    history: dict[SeriesKey, SeriesHistory], readings: Iterable[Reading], needs: dict[str, Needs], now: float
) -> None:
    """Append this evaluation's readings to the history of the metrics that need it, trimmed to need."""
    for r in readings:
        n = needs.get(r.metric)
        if n is None:
            continue
        h = history.setdefault((r.metric, r.labels), SeriesHistory())
        h.updated = now
        if n.samples or n.window:
            h.samples.append((now, r.value))
            while len(h.samples) > max(n.samples, 1) and (
                not n.window or h.samples[0][0] < now - n.window or len(h.samples) > 10_000
            ):
                h.samples.popleft()
        if n.seen and (text := _text(r.value)) in n.seen:
            h.seen[text] = now


__all__ = ["Hit", "Needs", "Op", "SeriesHistory", "Snapshot", "evaluate", "history_needs", "remember"]
