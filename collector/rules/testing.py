"""Rule unit tests as data, in the spirit of ``promtool test rules``.

A test file names rule files, then per test: devices, input series in
expanding notation sampled every ``interval``, and the alerts expected to be
firing at given evaluation times::

    rule_files: [../printers.yaml]
    tests:
      - name: black toner runs low
        interval: 1m
        devices:
          p1: {kind: printer, vendor: HP}
        input_series:
          'supply_percent{device="p1",supply="1.1",color="black",type="toner"}': "15 12 9 8 8"
        alert_rule_test:
          - eval_time: 4m
            alertname: toner_low
            exp_alerts:
              - exp_labels: {device: p1, supply: "1.1"}
                exp_annotations: {summary: "p1: black toner at 8%"}

Expanding notation: ``15 12 9`` (one value per interval), ``a+bxn`` /
``a-bxn`` (a, a+b, ... n+1 values), ``axn`` (a repeated n+1 times), ``_``
(no sample: the series is absent that poll), ``_xn`` (n absent polls); any
other word is a text value (``up up down``, ``downx3`` = four times).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from collector.rules.evaluator import RuleEngine
from collector.rules.loader import load_rules
from collector.rules.model import Duration
from collector.series import Reading, labels_of

_SERIES = re.compile(r"^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:\{(.*)\})?\s*$")
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)')
_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_EXPAND = re.compile(rf"^({_NUM})(?:([+-])({_NUM}))?x(\d+)$")
_PLAIN = re.compile(rf"^{_NUM}$")
_WORD_REPEAT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*?)x(\d+)$")


def parse_series(text: str) -> tuple[str, dict[str, str]]:
    """``metric{a="1",b="x"}`` -> (metric, labels)."""
    m = _SERIES.match(text)
    if m is None:
        raise ValueError(f'{text!r} is not a series (metric{{label="value",...}})')
    labels: dict[str, str] = {}
    body = (m.group(2) or "").strip()
    pos = 0
    while pos < len(body):
        lm = _LABEL.match(body, pos)
        if lm is None:
            raise ValueError(f"{text!r}: cannot read labels from {body[pos:]!r}")
        labels[lm.group(1)] = re.sub(r"\\(.)", r"\1", lm.group(2))
        pos = lm.end()
    return m.group(1), labels


def expand_values(text: str) -> list[float | str | None]:
    """Expanding notation -> one value (or ``None``: absent) per interval."""
    out: list[float | str | None] = []
    for tok in str(text).split():
        if tok == "_":
            out.append(None)
        elif (m := re.fullmatch(r"_x(\d+)", tok)) is not None:
            out.extend([None] * int(m.group(1)))
        elif (m := _EXPAND.match(tok)) is not None:
            start, sign, step, n = float(m.group(1)), m.group(2), m.group(3), int(m.group(4))
            inc = 0.0 if sign is None else (float(step) if sign == "+" else -float(step))
            out.extend(start + i * inc for i in range(n + 1))
        elif _PLAIN.match(tok):
            out.append(float(tok))
        elif (m := _WORD_REPEAT.match(tok)) is not None:
            out.extend([m.group(1)] * (int(m.group(2)) + 1))
        else:
            out.append(tok)
    return out


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ExpAlert(_Strict):
    exp_labels: dict[str, str] = Field(default_factory=dict)
    exp_annotations: dict[str, str] = Field(default_factory=dict)  # only the keys given are compared

    @field_validator("exp_labels", mode="before")
    @classmethod
    def _text(cls, v: object) -> object:
        return {k: str(x) for k, x in v.items()} if isinstance(v, dict) else v


class AlertTest(_Strict):
    eval_time: Duration
    alertname: str
    exp_alerts: list[ExpAlert] = Field(default_factory=list)  # firing alerts; empty: none may fire


class RuleTest(_Strict):
    name: str = ""
    interval: Duration = 60.0
    devices: dict[str, dict[str, Any]] = Field(default_factory=dict)
    input_series: dict[str, str] = Field(default_factory=dict)
    alert_rule_test: list[AlertTest] = Field(default_factory=list)

    @field_validator("input_series", mode="before")
    @classmethod
    def _series(cls, v: object) -> object:
        # Accept promtool's list form too: [{series: ..., values: ...}].
        if isinstance(v, list):
            return {str(i.get("series")): str(i.get("values", "")) for i in v if isinstance(i, dict)}
        if isinstance(v, dict):
            return {k: str(x) for k, x in v.items()}
        return v


class RuleTestFile(_Strict):
    rule_files: list[str]
    tests: list[RuleTest]


@dataclass(frozen=True)
class Failure:
    file: str
    test: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: test {self.test!r}: {self.message}"


def run_file(path: str | os.PathLike[str]) -> tuple[int, list[Failure]]:
    """Run one test file: (number of checks run, failures)."""
    name = str(path)
    try:
        spec = RuleTestFile.model_validate(yaml.safe_load(Path(path).read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        return 0, [Failure(name, "-", f"cannot read test file: {exc}")]
    base = Path(path).parent
    rules, errors = load_rules(base / f for f in spec.rule_files)
    if errors:
        return 0, [Failure(name, "-", f"rule file error: {e}") for e in errors]
    checks, failures = 0, []
    for i, test in enumerate(spec.tests):
        label = test.name or f"#{i + 1}"
        try:
            n, msgs = run_test(RuleEngine(rules), test)
        except ValueError as exc:
            n, msgs = 0, [str(exc)]
        checks += n
        failures.extend(Failure(name, label, m) for m in msgs)
    return checks, failures


def run_test(engine: RuleEngine, test: RuleTest) -> tuple[int, list[str]]:
    series: list[tuple[str, str, dict[str, str], list[float | str | None]]] = []
    for text, values in test.input_series.items():
        metric, labels = parse_series(text)
        device = labels.pop("device", None)
        if device is None:
            raise ValueError(f"series {text!r} has no device label")
        if device not in test.devices:
            raise ValueError(f"series {text!r}: device {device!r} is not declared under devices")
        series.append((device, metric, labels, expand_values(values)))
    devices = sorted({d for d, *_ in series} | set(test.devices))
    checks = sorted(test.alert_rule_test, key=lambda c: c.eval_time)
    end = max((c.eval_time for c in checks), default=0.0)
    failures: list[str] = []
    n_checks = 0
    step = 0
    pending = list(checks)
    while True:
        now = step * test.interval
        if now > end + 1e-9:
            break
        for dev in devices:
            readings = [
                Reading(metric, labels_of(**labels), vals[step])  # type: ignore[arg-type]
                for d, metric, labels, vals in series
                if d == dev and step < len(vals) and vals[step] is not None
            ]
            engine.evaluate(dev, readings, test.devices.get(dev, {}), now)
        next_now = (step + 1) * test.interval
        while pending and pending[0].eval_time < next_now - 1e-9:
            n_checks += 1
            failures.extend(_check(engine, pending.pop(0)))
        step += 1
    return n_checks, failures


def _check(engine: RuleEngine, check: AlertTest) -> list[str]:
    if check.alertname not in engine.rules:
        return [f"eval_time {_fmt(check.eval_time)}: no loaded rule named {check.alertname!r}"]
    got = [
        a
        for a in engine.alerts()
        if a.rule == check.alertname and a.state == "firing"  # AlertState is a StrEnum
    ]
    got_labels = sorted(_labelset(a.device_id, a.labels) for a in got)
    want_labels = sorted(tuple(sorted(e.exp_labels.items())) for e in check.exp_alerts)
    where = f"eval_time {_fmt(check.eval_time)}, alertname {check.alertname}"
    if got_labels != want_labels:
        return [f"{where}: expected firing {_show(want_labels)}, got {_show(got_labels)}"]
    out = []
    by_labels = {_labelset(a.device_id, a.labels): a for a in got}
    for e in check.exp_alerts:
        a = by_labels[tuple(sorted(e.exp_labels.items()))]
        for k, want in e.exp_annotations.items():
            have = a.annotations.get(k)
            if have != want:
                out.append(f"{where} {dict(e.exp_labels)}: annotation {k}: expected {want!r}, got {have!r}")
    return out


def _labelset(device_id: str, labels: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted({"device": device_id, **dict(labels)}.items()))


def _show(sets: list[tuple[tuple[str, str], ...]]) -> str:
    if not sets:
        return "none"
    return "; ".join("{" + ", ".join(f"{k}={v}" for k, v in s) + "}" for s in sets)


def _fmt(seconds: float) -> str:
    return f"{seconds / 60:g}m" if seconds % 60 == 0 else f"{seconds:g}s"
