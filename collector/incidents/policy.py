"""SLA, escalation and notification policy: the YAML the operator edits.

Validated once at start (pydantic) so a typo in a tier, a channel name or a
duration is a clear error naming the field, not a silent default at 3 a.m.
The shipped defaults live in ``deploy/sla.yaml``; that file is the
documentation of every option.
"""

from __future__ import annotations

import re
from datetime import date, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator

from collector.alerts import SEVERITIES, Severity
from collector.paths import deploy_dir

_DURATION = re.compile(r"^\s*(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?\s*$")
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALWAYS = "24x7"


class PolicyError(ValueError):
    """The policy file is missing, unreadable or invalid (message names the field)."""


def parse_duration(value: Any) -> Any:
    """Accept compact durations ("90s", "5m", "1h30m", "2d") beside pydantic's own forms.

    Operators write "4h", not "PT4H"; plain numbers are seconds.
    """
    if isinstance(value, str):
        m = _DURATION.match(value)
        if m and any(m.groups()):
            d, h, mi, s = (int(g) if g else 0 for g in m.groups())
            return timedelta(days=d, hours=h, minutes=mi, seconds=s)
    return value


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def known_timezone(name: str) -> str:
    """``name`` if it is an IANA zone this host knows; ValueError otherwise (a typo must not mean UTC)."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown timezone {name!r}") from exc
    return name


def quoted_time(v: Any, example: str) -> Any:
    """Refuse an int where a time of day belongs: YAML 1.1 reads an unquoted ``08:00`` as the number 480."""
    if isinstance(v, int):
        raise ValueError(f'write times as quoted "HH:MM" (unquoted {example} is a number in YAML)')
    return v


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BusinessHours(_Strict):
    """Working time of a support desk: the SLA clock only runs inside it."""

    timezone: str = "UTC"
    weekdays: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4])  # Monday = 0
    start: time = time(8, 0)
    end: time = time(18, 0)
    holidays: list[date] = Field(default_factory=list)

    @field_validator("weekdays", mode="before")
    @classmethod
    def _weekday_names(cls, v: Any) -> Any:
        if isinstance(v, list):
            names = [d.lower()[:3] if isinstance(d, str) else d for d in v]
            return [_WEEKDAYS.index(d) if d in _WEEKDAYS else d for d in names]
        return v

    @field_validator("start", "end", mode="before")
    @classmethod
    def _quoted_time(cls, v: Any) -> Any:
        return quoted_time(v, "08:00")

    @field_validator("weekdays")
    @classmethod
    def _weekday_range(cls, v: list[int]) -> list[int]:
        if not v or any(not 0 <= d <= 6 for d in v):
            raise ValueError("weekdays must be a non-empty list of mon..sun (or 0..6, Monday = 0)")
        return sorted(set(v))

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        return known_timezone(v)

    @model_validator(mode="after")
    def _start_before_end(self) -> BusinessHours:
        if self.start >= self.end:
            raise ValueError(f"start {self.start} must be before end {self.end}")
        return self


class Target(_Strict):
    respond: Duration  # acknowledge within
    resolve: Duration  # resolve within

    @model_validator(mode="after")
    def _positive(self) -> Target:
        if self.respond <= timedelta(0) or self.resolve <= timedelta(0):
            raise ValueError("respond and resolve must be positive durations")
        return self


class TierPolicy(_Strict):
    hours: str = ALWAYS  # "24x7" or the name of an entry in ``calendars``
    targets: dict[Severity, Target]

    @field_validator("targets")
    @classmethod
    def _all_severities(cls, v: dict[str, Target]) -> dict[str, Target]:
        missing = [s for s in SEVERITIES if s not in v]
        if missing:
            raise ValueError(f"targets missing for {', '.join(missing)}")
        return v


class EscalationStep(_Strict):
    """One rung of the ladder; fires at most once per incident.

    Either ``after`` (wall-clock time since the incident opened, e.g. page the
    on-call lead 5 minutes after a P1 opened) or ``deadline`` + ``at`` (a
    fraction of the SLA deadline measured on the tier's clock: 0.8 = warning,
    1.0 = breach). The step no longer applies once the incident reached
    ``until`` (default: acknowledged for ``after`` and response steps,
    resolved for resolve steps).
    """

    name: str
    severities: list[Severity] = Field(default_factory=lambda: list(SEVERITIES))
    tiers: list[str] | None = None  # None = every tier
    after: Duration | None = None
    deadline: Literal["response", "resolve"] | None = None
    at: float | None = Field(default=None, gt=0, le=10)
    until: Literal["acknowledged", "resolved"] | None = None
    notify: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_trigger(self) -> EscalationStep:
        if (self.after is None) == (self.deadline is None):
            raise ValueError(f"step {self.name!r}: give either 'after' or 'deadline' (+ 'at')")
        if self.deadline is not None and self.at is None:
            raise ValueError(f"step {self.name!r}: 'deadline' needs 'at' (fraction, 1.0 = breach)")
        return self

    @property
    def stop_when(self) -> Literal["acknowledged", "resolved"]:
        if self.until:
            return self.until
        return "resolved" if self.deadline == "resolve" else "acknowledged"


class WebhookChannel(_Strict):
    type: Literal["webhook"]
    url: str
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: Duration = timedelta(seconds=10)


class EmailChannel(_Strict):
    type: Literal["email"]
    host: str = "127.0.0.1"
    port: int = 25
    sender: str = "fleetwatch@localhost"
    to: list[str]
    starttls: bool = False
    username: str | None = None
    password_env: str | None = None  # name of the environment variable holding the password
    timeout: Duration = timedelta(seconds=10)


Channel = Annotated[WebhookChannel | EmailChannel, Field(discriminator="type")]
NotifyEvent = Literal["open", "reopen", "acknowledge", "escalate", "resolve"]


class Route(_Strict):
    """Which channels hear about which lifecycle events (escalations go to the step's ``notify``)."""

    events: list[NotifyEvent]
    channels: list[str]
    severities: list[Severity] = Field(default_factory=lambda: list(SEVERITIES))
    tiers: list[str] | None = None


class Retry(_Strict):
    """Backoff between delivery attempts: first, doubling, capped. Nothing is dropped on a 5xx/timeout."""

    first: Duration = timedelta(seconds=10)
    cap: Duration = timedelta(hours=1)


class Notify(_Strict):
    channels: dict[str, Channel] = Field(default_factory=dict)
    routes: list[Route] = Field(default_factory=list)
    retry: Retry = Retry()


class Policy(_Strict):
    default_tier: str = "standard"
    reopen_window: Duration = timedelta(hours=1)  # a fault back within this reopens the incident
    calendars: dict[str, BusinessHours] = Field(default_factory=dict)
    tiers: dict[str, TierPolicy]
    escalation: list[EscalationStep] = Field(default_factory=list)
    notify: Notify = Notify()

    @model_validator(mode="after")
    def _references(self) -> Policy:
        if self.default_tier not in self.tiers:
            raise ValueError(f"default_tier {self.default_tier!r} is not one of tiers {sorted(self.tiers)}")
        for name, tier in self.tiers.items():
            if tier.hours != ALWAYS and tier.hours not in self.calendars:
                raise ValueError(f"tier {name!r}: hours {tier.hours!r} is neither '24x7' nor a calendar")
        names = [s.name for s in self.escalation]
        if len(names) != len(set(names)):
            raise ValueError("escalation step names must be unique (they record which steps fired)")
        wanted = [(f"escalation step {s.name!r}", c) for s in self.escalation for c in s.notify]
        wanted += [("route", c) for r in self.notify.routes for c in r.channels]
        for where, c in wanted:
            if c not in self.notify.channels:
                raise ValueError(f"{where}: unknown channel {c!r} (known: {sorted(self.notify.channels)})")
        return self

    def tier_for(self, labels: dict[str, str]) -> str:
        """The device's ``tier`` label, or the default tier when absent or unknown."""
        tier = labels.get("tier", "")
        return tier if tier in self.tiers else self.default_tier


def load_policy(path: str | Path | None = None) -> Policy:
    """Load and validate a policy file (default: the shipped ``deploy/sla.yaml``)."""
    p = Path(path) if path else default_policy_path()
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PolicyError(f"{p}: cannot read: {exc}") from exc
    except yaml.YAMLError as exc:
        raise PolicyError(f"{p}: not valid YAML: {exc}") from exc
    try:
        return Policy.model_validate(raw or {})
    except ValidationError as exc:
        raise PolicyError(f"{p}: invalid policy:\n{exc}") from exc


def default_policy_path() -> Path:
    return deploy_dir() / "sla.yaml"
