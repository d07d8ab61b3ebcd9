"""Forecaster on synthetic series whose true empty time is known exactly."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, date, datetime

import pytest

from collector.forecast.forecaster import forecast
from collector.forecast.model import Calendar, Confidence, Prior, Reason, Sample, SupplyKind

HOUR = 3600.0
DAY = 86400.0
T0 = datetime(2024, 3, 4, tzinfo=UTC).timestamp()  # a Monday


def office(ts: float, per_day: float, weekends: bool = False, holidays: frozenset[date] = frozenset()) -> float:
    """Pages printed in the hour starting at ts: 09:00-17:00, Mon-Fri unless ``weekends``."""
    d = datetime.fromtimestamp(ts, UTC)
    if (d.weekday() >= 5 and not weekends) or d.date() in holidays:
        return 0.0
    return per_day / 8.0 if 9 <= d.hour < 17 else 0.0


def trace(
    hours: int,
    *,
    per_day: float = 200.0,
    ppp: float = 40.0,
    start_level: float = 100.0,
    step: float = 1.0,
    weekends: bool = False,
    holidays: frozenset[date] = frozenset(),
    counter0: float = 10_000.0,
    reset_at: int | None = None,
    receptacle: bool = False,
) -> tuple[list[Sample], float]:
    """Hourly samples for ``hours`` hours and the true time the level reaches 0 (continuing the same pattern)."""
    out: list[Sample] = []
    level, pages, shown_pages = start_level, 0.0, counter0
    ts = T0
    for h in range(hours):
        if reset_at is not None and h == reset_at:
            shown_pages = 3.0  # firmware update restarted the counter
        rep = math.floor(level / step) * step
        out.append(Sample(ts, 100.0 - rep if receptacle else rep, shown_pages))
        p = office(ts, per_day, weekends, holidays)
        level -= p / ppp
        pages += p
        shown_pages += p
        ts += HOUR
    assert level > 0, "test trace ran the cartridge dry before the cut-off"
    while level > 0:
        p = office(ts, per_day, weekends, holidays)
        if p and level - p / ppp <= 1e-9:
            return out, ts + level / (p / ppp) * HOUR
        level -= p / ppp
        ts += HOUR
    return out, ts


def days_err(f, samples: list[Sample], truth: float) -> float:  # type: ignore[no-untyped-def]
    assert f.days_to_empty is not None, f
    return abs(f.now + f.days_to_empty * DAY - truth) / DAY


def test_constant_rate_every_day() -> None:
    samples, truth = trace(24 * 21, per_day=200, ppp=60, weekends=True)
    now = samples[-1].ts
    f = forecast(samples, now)
    assert days_err(f, samples, truth) < 0.5
    assert f.low is not None
    assert f.high is not None
    assert f.now + f.low * DAY <= truth <= f.now + f.high * DAY
    assert f.confidence is Confidence.good
    assert f.pages_per_percent == pytest.approx(60, rel=0.03)


def test_weekday_profile_skips_the_weekend() -> None:
    """Cut-off on a Friday evening: the weekend prints nothing, so the date moves by two days."""
    samples, truth = trace(24 * 7 * 4 + 24 * 4 + 20, per_day=200, ppp=60)  # Friday 20:00
    now = samples[-1].ts
    assert datetime.fromtimestamp(now, UTC).weekday() == 4
    f = forecast(samples, now)
    assert days_err(f, samples, truth) < 0.3
    # a pure clock rate (pages per calendar day) would miss the weekend entirely
    assert f.pages_per_day is not None
    assert f.pages_per_day < 200


def test_holiday_in_the_calendar_moves_the_date() -> None:
    hol = frozenset({date(2024, 4, 8)})  # the Monday after the cut-off
    samples, truth = trace(24 * 7 * 4 + 24 * 4 + 20, per_day=300, ppp=80, holidays=hol)
    now = samples[-1].ts
    with_cal = forecast(samples, now, calendar=Calendar(holidays=hol))
    without = forecast(samples, now)
    assert days_err(with_cal, samples, truth) < 0.3
    assert with_cal.days_to_empty is not None
    assert without.days_to_empty is not None
    assert with_cal.days_to_empty > without.days_to_empty + 0.5


def test_coarse_ten_percent_steps() -> None:
    samples, truth = trace(24 * 7 * 5, per_day=150, ppp=50, step=10)
    now = samples[-1].ts
    f = forecast(samples, now)
    assert Reason.coarse_steps in f.reasons
    assert f.confidence is not Confidence.good
    assert days_err(f, samples, truth) < 2.5  # half a step of level is unknowable: about 2 days here
    assert f.now + f.low * DAY <= truth <= f.now + f.high * DAY  # type: ignore[operator]


def test_replacement_in_the_middle_starts_a_new_segment() -> None:
    old, _ = trace(24 * 7 * 3, per_day=300, ppp=80, start_level=60)
    assert old[-1].level is not None
    assert old[-1].level < 10
    new, truth_new = trace(24 * 7 * 3, per_day=300, ppp=80)
    shift = old[-1].ts + HOUR - new[0].ts
    counter_shift = old[-1].pages - new[0].pages  # type: ignore[operator]
    samples = old + [Sample(s.ts + shift, s.level, s.pages + counter_shift) for s in new]  # type: ignore[operator]
    truth = truth_new + shift
    now = samples[-1].ts
    f = forecast(samples, now)
    assert f.installed_at == new[0].ts + shift
    assert days_err(f, samples, truth) < 0.5


def test_right_after_a_replacement_uses_the_previous_cartridge() -> None:
    """Two hours into a new unit there is no own rate yet: the previous cartridge's pages per percent is the prior."""
    old, _ = trace(24 * 7 * 4, per_day=300, ppp=100, start_level=95)
    new, truth_new = trace(3, per_day=300, ppp=100)
    shift = old[-1].ts + HOUR - new[0].ts
    cs = old[-1].pages - new[0].pages  # type: ignore[operator]
    samples = old + [Sample(s.ts + shift, s.level, s.pages + cs) for s in new]  # type: ignore[operator]
    f = forecast(samples, samples[-1].ts)
    assert Reason.prior_only in f.reasons
    assert days_err(f, samples, truth_new + shift) < 2.0


def test_no_consumption() -> None:
    samples = [Sample(T0 + h * HOUR, 80.0, 5000.0) for h in range(24 * 10)]
    f = forecast(samples, samples[-1].ts)
    assert f.days_to_empty is None
    assert f.confidence is Confidence.poor
    assert Reason.no_consumption in f.reasons


def test_counter_reset_after_firmware_update() -> None:
    samples, truth = trace(24 * 7 * 4, per_day=250, ppp=70, reset_at=24 * 7 * 2 + 3)
    assert any(b.pages < a.pages for a, b in itertools.pairwise(samples))  # type: ignore[operator]
    f = forecast(samples, samples[-1].ts)
    assert days_err(f, samples, truth) < 0.5
    assert f.pages_per_percent == pytest.approx(70, rel=0.05)


def test_waste_toner_receptacle_fills_up() -> None:
    samples, truth = trace(24 * 7 * 4, per_day=250, ppp=80, receptacle=True, start_level=90)
    f = forecast(samples, samples[-1].ts, kind=SupplyKind.receptacle)
    assert days_err(f, samples, truth) < 0.5


def test_too_little_history() -> None:
    f = forecast([Sample(T0, 50.0, 10.0)], T0)
    assert f.days_to_empty is None
    assert f.reasons == (Reason.too_little_history,)


def test_states_only_with_a_yield_prior() -> None:
    """Brother-style ok/low/empty only: pages since the low warning against the expected yield."""
    lvl, _ = trace(24 * 7 * 3, per_day=100, ppp=60, start_level=30)
    samples = [Sample(s.ts, None, s.pages, "low" if (s.level or 0) < 15 else "ok") for s in lvl]
    f = forecast(samples, samples[-1].ts, prior=Prior(60.0, 0.2))
    assert Reason.coarse_states in f.reasons
    assert f.confidence is Confidence.poor
    assert f.days_to_empty is not None
    assert f.low is not None
    assert f.high is not None
    assert f.low < f.days_to_empty < f.high


@pytest.mark.parametrize(
    ("state", "days"),
    [pytest.param("empty", 0.0, id="state-empty"), pytest.param("some_remaining", None, id="minus3-no-prior")],
)
def test_coarse_state_without_numbers(state: str, days: float | None) -> None:
    samples = [Sample(T0 + h * HOUR, None, 100.0 + h, state) for h in range(48)]
    f = forecast(samples, samples[-1].ts)
    assert f.days_to_empty == days
    assert Reason.coarse_states in f.reasons


def test_json_shape() -> None:
    samples, _ = trace(24 * 14, per_day=200, ppp=60, weekends=True)
    out = forecast(samples, samples[-1].ts).to_json()
    assert {"days_to_empty", "empty_at", "low", "high", "confidence"} <= set(out)
    assert isinstance(out["empty_at"], str)
    assert out["empty_at"].endswith("+00:00")
