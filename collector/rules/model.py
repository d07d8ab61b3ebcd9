"""The rule schema: what a rule file may say, checked by pydantic at load time.

Rules are data (``rules/*.yaml`` and a user directory), in the spirit of
Prometheus alerting rules: a condition over the latest readings, ``for``,
``keep_firing_for`` or a ``clear`` condition (hysteresis), labels and
templated annotations. Conditions are structured YAML rather than an
expression language so that every mistake has a field path
(``condition.threshold.op``) and the rule author needs no parser in their head.

Everything a rule can get wrong is rejected here, so the evaluator never
meets a half-valid rule.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from jinja2 import TemplateSyntaxError
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from collector.alerts import Severity
from collector.rules.templates import ENV

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_UNIT_S = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def parse_duration(v: object) -> float:
    """``"90s"``, ``"5m"``, ``"1h30m"``, ``"7d"`` or a number of seconds -> seconds."""
    if isinstance(v, bool):
        raise ValueError("a duration is a number of seconds or text like 5m, 1h30m, 7d")
    if isinstance(v, int | float):
        seconds = float(v)
    elif isinstance(v, str):
        text = v.strip()
        pos, seconds = 0, 0.0
        for m in _DURATION.finditer(text):
            if m.start() != pos:
                break
            seconds += float(m.group(1)) * _UNIT_S[m.group(2)]
            pos = m.end()
        if not text or pos != len(text):
            raise ValueError(f"{v!r} is not a duration (use e.g. 30s, 5m, 1h30m, 7d)")
    else:
        raise ValueError("a duration is a number of seconds or text like 5m, 1h30m, 7d")
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    return seconds


Duration = Annotated[float, BeforeValidator(parse_duration)]


def _one_or_many(v: object) -> object:
    if isinstance(v, str | int | float) and not isinstance(v, bool):
        return [str(v)]
    if isinstance(v, list):
        return [str(x) for x in v]
    return v


#: A label value or a list of accepted values (YAML scalars become text).
OneOrMany = Annotated[list[str], BeforeValidator(_one_or_many)]

Op = Literal["<", "<=", ">", ">=", "==", "!="]


class _Strict(BaseModel):
    # A misspelt key (``keep_firng_for``) must be an error, not a silently ignored default.
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class _Series(_Strict):
    """Which readings a condition looks at: a metric and label matchers.

    ``metric`` may be left out in a ``clear`` condition: it is taken from the
    rule's main condition (so hysteresis is one line, ``above: 15``).
    """

    metric: str | None = None
    where: dict[str, OneOrMany] = Field(default_factory=dict)  # label must be present and one of the values
    where_not: dict[str, OneOrMany] = Field(default_factory=dict)  # label absent or none of the values


class _Compare(_Series):
    op: Op
    value: float | None = None
    value_metric: str | None = None  # compare with another reading with the same labels (forecast hook)

    @model_validator(mode="after")
    def _one_rhs(self) -> _Compare:
        if (self.value is None) == (self.value_metric is None):
            raise ValueError("give exactly one of value (a number) or value_metric (a metric name)")
        return self


class Threshold(_Compare):
    """``metric op value``: supply percent, temperature, disk use, ``up == 0`` ...

    ``polls: N`` requires the comparison to hold on the last N samples of the
    series in a row (``up == 0`` three polls running = unreachable).
    """

    polls: int = Field(1, ge=1, le=1000)

    @model_validator(mode="after")
    def _polls_need_constant(self) -> Threshold:
        if self.polls > 1 and self.value_metric is not None:
            raise ValueError("polls > 1 needs a constant value, not value_metric")
        return self


class State(_Series):
    """A text reading equals one of ``value`` (``tray_state == empty``).

    ``was``: and the same series has been seen with one of these values
    before (an interface that is down now but was up once; an unused port
    that was never up stays quiet).
    """

    value: OneOrMany
    was: OneOrMany | None = None
    polls: int = Field(1, ge=1, le=1000)


class Flag(_Strict):
    """A printer error flag (``printer_error{flag=...} == 1``) or alert (``printer_alert{code=...}``) present.

    One result per device: it holds when any listed flag or alert code is
    present, and is known false whenever the device reported its printer
    status at all (so a jam clears when the alert row goes away).
    """

    flags: OneOrMany = Field(default_factory=list)
    alert_codes: OneOrMany = Field(default_factory=list)

    @model_validator(mode="after")
    def _something(self) -> Flag:
        if not self.flags and not self.alert_codes:
            raise ValueError("give flags and/or alert_codes")
        return self


class Rate(_Series):
    """Per-time increase of a counter (``if_in_errors`` per minute), resets excluded.

    Without ``window`` the rate is over the previous poll; with ``window`` it
    is the average over the samples within it.
    """

    op: Op
    value: float
    per: Literal["second", "minute", "hour", "day"] = "second"
    window: Duration | None = None


class Delta(_Series):
    """Change since the previous sample: ``uptime_seconds`` ``< 0`` is a reboot, a counter ``<= 0`` is stuck."""

    op: Op
    value: float = 0.0


class Condition(_Strict):
    """Exactly one kind of condition, or ``any``/``all`` of several (joined on the alert identity)."""

    threshold: Threshold | None = None
    state: State | None = None
    flag: Flag | None = None
    rate: Rate | None = None
    delta: Delta | None = None
    any: list[Condition] | None = Field(None, min_length=1)
    all: list[Condition] | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _exactly_one(self) -> Condition:
        given = [k for k in type(self).model_fields if getattr(self, k) is not None]
        if len(given) != 1:
            kinds = ", ".join(type(self).model_fields)
            raise ValueError(f"give exactly one of {kinds} (got {', '.join(given) or 'none'})")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in type(self).model_fields if getattr(self, k) is not None)

    @property
    def spec(self) -> Any:
        return getattr(self, self.kind)

    def leaves(self) -> list[Condition]:
        if self.any is not None or self.all is not None:
            return [leaf for c in (self.any or self.all or []) for leaf in c.leaves()]
        return [self]


class DeviceMatch(_Strict):
    """Which devices a rule applies to. Every given field must match; vendor/model ignore case."""

    kind: OneOrMany | None = None
    vendor: OneOrMany | None = None
    model: OneOrMany | None = None
    labels: dict[str, OneOrMany] = Field(default_factory=dict)

    def matches(self, device: dict[str, Any]) -> bool:
        def one(field: str, accepted: list[str] | None, *, fold: bool) -> bool:
            if accepted is None:
                return True
            have = device.get(field)
            if have is None:
                return False
            have = str(getattr(have, "value", have))
            if fold:
                return have.casefold() in {a.casefold() for a in accepted}
            return have in accepted

        if not (
            one("kind", self.kind, fold=False)
            and one("vendor", self.vendor, fold=True)
            and one("model", self.model, fold=True)
        ):
            return False
        dev_labels = device.get("labels") or {}
        return all(k in dev_labels and str(dev_labels[k]) in v for k, v in self.labels.items())


def _check_template(v: str) -> str:
    try:
        ENV.parse(v)
    except TemplateSyntaxError as exc:
        raise ValueError(f"template error line {exc.lineno}: {exc.message}") from exc
    return v


Template = Annotated[str, BeforeValidator(lambda v: _check_template(v) if isinstance(v, str) else v)]


class Rule(_Strict):
    """One alerting rule. ``alert`` is its name, unique across all loaded files."""

    alert: str
    enabled: bool = True
    match: DeviceMatch = Field(default_factory=DeviceMatch)
    condition: Condition
    clear: Condition | None = None  # hysteresis: once firing, resolve only when this holds
    for_: Duration = Field(0.0, alias="for")
    keep_firing_for: Duration = 0.0
    identity: OneOrMany | None = None  # labels that make one alert; default: all labels of the series
    severity: Severity
    resolve: Literal["auto", "manual"] = "auto"
    incident_type: Literal["fault", "supply", "supply_order", "inspection"] = "fault"  # as AlertEvent
    suppresses_device: bool = False
    labels: dict[str, str] = Field(default_factory=dict)  # static labels added to the alert
    annotations: dict[str, Template] = Field(default_factory=dict)  # summary, description, runbook ...

    @field_validator("alert")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError(f"{v!r}: rule names are snake_case ASCII (a-z, 0-9, _), starting with a letter")
        return v

    @field_validator("labels", mode="before")
    @classmethod
    def _labels_text(cls, v: object) -> object:
        if isinstance(v, dict):
            return {k: str(x) for k, x in v.items()}
        return v

    @model_validator(mode="after")
    def _metrics_present(self) -> Rule:
        main = self.condition.leaves()
        for leaf in main:
            if leaf.kind != "flag" and leaf.spec.metric is None:
                raise ValueError(f"condition: {leaf.kind} needs a metric")
        if self.clear is not None:
            inheritable = [leaf.spec for leaf in main if leaf.kind != "flag"]
            for leaf in self.clear.leaves():
                if leaf.kind != "flag" and leaf.spec.metric is None and len(inheritable) != 1:
                    raise ValueError(
                        f"clear: {leaf.kind} has no metric and the main condition has no single one to inherit"
                    )
            if len(inheritable) == 1:
                # Frozen model: the filled-in clear condition replaces the written one once, here.
                object.__setattr__(self, "clear", _inherit(self.clear, inheritable[0]))
        return self

    @property
    def auto_resolve(self) -> bool:
        return self.resolve == "auto"


def _inherit(cond: Condition, main: _Series) -> Condition:
    """A ``clear`` leaf without a metric looks at the main condition's series (same where/where_not)."""
    if cond.any is not None:
        return cond.model_copy(update={"any": [_inherit(c, main) for c in cond.any]})
    if cond.all is not None:
        return cond.model_copy(update={"all": [_inherit(c, main) for c in cond.all]})
    spec = cond.spec
    if cond.kind == "flag" or spec.metric is not None:
        return cond
    filled = spec.model_copy(
        update={"metric": main.metric, "where": spec.where or main.where, "where_not": spec.where_not or main.where_not}
    )
    return cond.model_copy(update={cond.kind: filled})


Condition.model_rebuild()
