"""Types shared by the forecaster, replacement detection, the bench and the CLI.

A forecast works on what a device reports and nothing else: a timestamp, the
supply level (percent, or only a coarse state) and the page counter. Levels
are normalised to *remaining* percent so toner running down and a waste toner
box filling up are the same problem (remaining = 100 - fill).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum


class SupplyKind(StrEnum):
    consumed = "consumed"  # toner, ink, drum, fuser, maintenance kit: level runs down
    receptacle = "receptacle"  # waste toner container: level (fill) runs up


class Confidence(StrEnum):
    good = "good"
    fair = "fair"
    poor = "poor"


class Reason(StrEnum):
    """Why a forecast is less than good. Values are part of the JSON contract."""

    too_little_history = "too_little_history"
    no_consumption = "no_consumption"
    coarse_steps = "coarse_steps"  # levels come in steps of 10% or more
    coarse_states = "coarse_states"  # only ok/low/empty (or -3 "some remaining"): no numeric level
    no_page_counter = "no_page_counter"  # clock-only estimate
    prior_only = "prior_only"  # pages per percent from the fleet / previous cartridge, not this one
    wide_range = "wide_range"
    beyond_horizon = "beyond_horizon"
    already_empty = "already_empty"


#: States that mean "no honest number": the forecaster uses them as coarse information only.
COARSE_STATES = frozenset({"full", "low", "near_empty", "empty", "some_remaining"})


@dataclass(frozen=True, slots=True)
class Sample:
    """One poll of one supply as the device reported it.

    ``level`` is the reported percent (fill percent for receptacles), ``None``
    when the device gave no number (state only, -2, -3). ``pages`` is the raw
    page counter, ``None`` when not reported. ``cartridge`` is a serial or
    part number when the device reports one: a change means a new unit.
    """

    ts: float
    level: float | None
    pages: float | None = None
    state: str = "ok"
    cartridge: str | None = None


@dataclass(frozen=True, slots=True)
class Calendar:
    """When the office works. Local dates come from ``utc_offset_s`` (fixed offset, good enough for days)."""

    holidays: frozenset[date] = frozenset()
    utc_offset_s: int = 0

    def local_day(self, ts: float) -> int:
        """Days since 1970-01-01 in local time."""
        return math.floor((ts + self.utc_offset_s) / 86400)

    def day_start(self, day: int) -> float:
        return day * 86400.0 - self.utc_offset_s


@dataclass(frozen=True, slots=True)
class Prior:
    """Pages per percent expected for this unit before it has shown its own.

    ``cv`` is the relative spread of that expectation: small for the same
    device's previous cartridge, larger for a fleet-wide per-model yield.
    """

    pages_per_percent: float
    cv: float = 0.25
    source: str = "fleet"


@dataclass(frozen=True, slots=True)
class CartridgeLife:
    """One unit from installation to removal (or to now, when still installed)."""

    start_index: int
    end_index: int  # inclusive
    installed_at: float | None  # None: installed before the history starts
    removed_at: float | None  # None: still installed
    start_level: float | None  # remaining percent
    end_level: float | None
    pages_printed: float | None
    swapped_early: bool = False  # removed while above the waste threshold
    cause: str | None = None  # what closed it: level_jump, cartridge_change, state_reset

    @property
    def consumed_percent(self) -> float | None:
        if self.start_level is None or self.end_level is None:
            return None
        return self.start_level - self.end_level

    @property
    def pages_per_percent(self) -> float | None:
        used = self.consumed_percent
        if used is None or self.pages_printed is None or used < 20:
            return None
        return self.pages_printed / used


@dataclass(frozen=True, slots=True)
class Forecast:
    now: float
    days_to_empty: float | None
    low: float | None  # days, early end of the range
    high: float | None  # days, late end of the range
    confidence: Confidence
    reasons: tuple[Reason, ...] = ()
    level_now: float | None = None  # estimated remaining percent
    pages_per_percent: float | None = None
    pages_remaining: float | None = None
    pages_per_day: float | None = None  # expected average over the coming week
    installed_at: float | None = None
    details: dict[str, float] = field(default_factory=dict)
    #: The cartridge lives the forecaster split the history into, oldest first (the last one is installed now).
    #: Indices refer to the forecaster's compressed history; a life's start is confirmed when its
    #: ``end_index > start_index`` (a later reading agrees). Not part of the JSON contract.
    lives: tuple[CartridgeLife, ...] = ()

    @property
    def empty_at(self) -> float | None:
        return None if self.days_to_empty is None else self.now + self.days_to_empty * 86400.0

    def to_json(self) -> dict[str, object]:
        """The shape ``fleetwatch forecast series --json`` prints (a user-facing contract)."""

        def iso(days: float | None) -> str | None:
            if days is None:
                return None
            return datetime.fromtimestamp(self.now + days * 86400.0, UTC).isoformat(timespec="seconds")

        def rnd(x: float | None, n: int = 2) -> float | None:
            return None if x is None else round(x, n)

        out: dict[str, object] = {
            "days_to_empty": rnd(self.days_to_empty),
            "empty_at": iso(self.days_to_empty),
            "low": rnd(self.low),
            "high": rnd(self.high),
            "low_at": iso(self.low),
            "high_at": iso(self.high),
            "confidence": self.confidence.value,
        }
        if self.reasons:
            out["reason"] = ", ".join(r.value for r in self.reasons)
        out["level_now"] = rnd(self.level_now, 1)
        out["pages_per_percent"] = rnd(self.pages_per_percent, 1)
        out["pages_remaining"] = None if self.pages_remaining is None else round(self.pages_remaining)
        out["pages_per_day"] = rnd(self.pages_per_day, 1)
        return out
