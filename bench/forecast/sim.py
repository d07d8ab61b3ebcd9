"""A simulated printer fleet: what devices would report, and the truth behind it.

The truth (true remaining toner, the moment each cartridge runs dry) stays
in ``SupplyTruth``; the forecaster and the baselines only ever receive
``reported`` arrays: timestamp, level as the device rounds it, and the page
counter (with its resets and missing polls).

What makes it realistic, and hard for a straight line:
- offices print Mon-Fri in office hours; public holidays (in the calendar
  given to the forecaster) and unannounced closures (not in it);
- day-to-day noise, month-end bursts, a slow random walk of demand and the
  occasional step change (a team moves in or out);
- coverage noise per hour and a drifting job mix (AR(1), two-week time constant);
  cartridges of one model differ by a few percent in yield;
- levels reported as integer percent (truncated) or in 10% steps with a
  per-device rounding convention (floor / round / ceil);
- replacements: after running dry (with a delay of hours to days), or early
  (someone swaps at 10-40% left); page counter reset by a firmware update;
  missing polls and whole days offline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

HOUR = 3600.0
DAY = 86400.0
START = date(2024, 1, 1)
DAYS = 400

#: Public holidays the office does not work (a user configures these; the forecaster gets them).
HOLIDAYS = frozenset(
    {
        date(2024, 1, 1), date(2024, 3, 29), date(2024, 4, 1), date(2024, 5, 1), date(2024, 5, 9),
        date(2024, 5, 20), date(2024, 10, 3), date(2024, 12, 24), date(2024, 12, 25), date(2024, 12, 26),
        date(2024, 12, 31), date(2025, 1, 1),
    }
)  # fmt: skip

#: model -> list of (supply slot, kind, pages per percent at nominal coverage)
MODELS: dict[str, list[tuple[str, str, float]]] = {
    "mono_small": [("black", "consumed", 30.0), ("drum", "consumed", 120.0)],
    "mono_big": [("black", "consumed", 110.0), ("waste", "receptacle", 400.0)],
    "color_mfp": [("black", "consumed", 70.0), ("cyan", "consumed", 45.0), ("magenta", "consumed", 45.0)],
    "color_small": [("black", "consumed", 25.0), ("yellow", "consumed", 20.0)],
}


@dataclass
class SupplyTruth:
    device: str
    model: str
    slot: str
    kind: str
    t: np.ndarray  # poll times (reported)
    level: np.ndarray  # reported percent (fill for receptacles), NaN when the poll is missing
    pages: np.ndarray  # reported page counter, NaN when missing
    # truth: per cartridge (install time, would-be empty time), the empty time continues past an early swap
    cartridges: list[tuple[float, float]] = field(default_factory=list)
    reporting: str = "integer"


def _hour_profile(rng: np.random.Generator) -> np.ndarray:
    h = np.zeros(24)
    start = int(rng.integers(7, 10))
    h[start : start + 10] = 1.0
    h[12] *= 0.5  # lunch
    h[start] *= 0.6
    return h / h.sum()


def simulate(seed: int = 0, n_devices: int = 40) -> tuple[list[SupplyTruth], frozenset[date]]:
    rng = np.random.default_rng(seed)
    t0 = (START - date(1970, 1, 1)).days * DAY
    n_hours = DAYS * 24
    hours_t = t0 + np.arange(n_hours) * HOUR
    day_idx = np.arange(DAYS)
    dates = [START + timedelta(days=int(d)) for d in day_idx]
    weekday = np.array([d.weekday() for d in dates])
    holiday = np.array([d in HOLIDAYS for d in dates])
    out: list[SupplyTruth] = []
    models = list(MODELS)
    for dev in range(n_devices):
        model = models[dev % len(models)]
        base = float(np.exp(rng.normal(math.log(220), 0.6)))
        wk_shape = np.array([1.0, 1.05, 1.05, 1.0, 0.8, 0.04, 0.01]) * rng.uniform(0.85, 1.15, 7)
        # demand level: weekly random walk + maybe one step change
        walk = np.exp(np.cumsum(rng.normal(0, 0.06, DAYS // 7 + 2)))
        level_mult = walk[day_idx // 7]
        if rng.random() < 0.35:
            at = int(rng.integers(60, DAYS - 30))
            level_mult = level_mult * np.where(day_idx >= at, rng.choice([0.55, 1.6]), 1.0)
        closure = np.zeros(DAYS, dtype=bool)  # unannounced: summer week(s), not in the calendar
        c0 = int(rng.integers(180, 240))
        closure[c0 : c0 + int(rng.integers(5, 15))] = True
        burst = np.ones(DAYS)
        month_end = np.array([(d + timedelta(days=3)).month != d.month for d in dates])
        burst[month_end] = rng.uniform(1.5, 3.0)
        expected = base * wk_shape[weekday] * level_mult * burst
        expected[holiday] *= 0.02
        expected[closure] *= rng.uniform(0.05, 0.3)
        daily = rng.gamma(6.0, expected / 6.0)
        hp = _hour_profile(rng)
        pages_h = rng.poisson((daily[:, None] * hp[None, :]).ravel()).astype(float)

        # polls: hourly, some missing, a few days offline
        present = rng.random(n_hours) > 0.03
        for _ in range(int(rng.integers(0, 4))):
            s = int(rng.integers(0, n_hours - 72))
            present[s : s + int(rng.integers(12, 72))] = False
        counter = np.cumsum(pages_h) + float(rng.integers(1000, 90000))
        if rng.random() < 0.3:  # firmware update resets the counter
            r = int(rng.integers(100 * 24, n_hours - 24))
            counter[r:] = counter[r:] - counter[r] + float(rng.integers(0, 50))
        reporting = "integer" if rng.random() < 0.6 else str(rng.choice(["step_floor", "step_round", "step_ceil"]))
        coverage_dev = float(np.exp(rng.normal(0, 0.25)))

        for slot, kind, ppp_nominal in MODELS[model]:
            ppp_dev = ppp_nominal / coverage_dev if kind == "consumed" else ppp_nominal
            cov_h = np.exp(rng.normal(0, 0.5, n_hours) - 0.125)  # per-hour job coverage noise, mean 1
            # the job mix drifts: log coverage is AR(1), stationary sd 0.15, time constant two weeks
            phi = math.exp(-1.0 / (14 * 24))
            shocks = rng.normal(0, 0.15 * math.sqrt(1 - phi**2), n_hours)
            mix = np.empty(n_hours)
            acc = float(rng.normal(0, 0.15))
            for i in range(n_hours):
                acc = phi * acc + shocks[i]
                mix[i] = acc
            use = pages_h * cov_h * np.exp(mix)  # "nominal pages" of toner consumed per hour
            level_true = np.zeros(n_hours)
            carts: list[tuple[float, float]] = []
            h = 0
            remaining = float(rng.uniform(20, 100))  # the cartridge in place when monitoring starts
            install_t = t0 - DAY * 30  # before history
            while h < n_hours:
                ppp_cart = ppp_dev * rng.normal(1.0, 0.04) * float(np.exp(rng.normal(0, 0.08)))
                used = np.cumsum(use[h:]) / ppp_cart
                rem = remaining - used
                dry = int(np.searchsorted(-rem, 0.0))  # first hour with rem <= 0
                empty_t = hours_t[h + dry] if h + dry < n_hours else math.inf
                early = rng.random() < 0.15
                swap_level = float(rng.uniform(10, 40)) if early else 0.0
                swap = int(np.searchsorted(-rem, -swap_level)) if early else dry
                if not early:
                    swap += int(rng.integers(2, 72))  # noticed and replaced hours to days later
                swap = max(swap, 1)
                end = min(h + swap, n_hours)
                level_true[h:end] = np.maximum(rem[: end - h], 0.0)
                carts.append((install_t, empty_t))
                h = end
                install_t = hours_t[h] if h < n_hours else math.inf
                remaining = 100.0
            if kind == "receptacle":
                shown = 100.0 - level_true
                rep = np.floor(shown) if reporting == "integer" else np.floor(shown / 10) * 10
            elif reporting == "integer":
                rep = np.floor(level_true)
            elif reporting == "step_floor":
                rep = np.floor(level_true / 10) * 10
            elif reporting == "step_round":
                rep = np.round(level_true / 10) * 10
            else:
                rep = np.ceil(level_true / 10) * 10
            if reporting == "integer":  # HP-style one-point wobble near a boundary
                wob = (rng.random(n_hours) < 0.01) & (level_true - np.floor(level_true) > 0.8)
                rep = np.where(wob, rep + 1, rep)
            out.append(
                SupplyTruth(
                    device=f"dev{dev:02d}",
                    model=model,
                    slot=slot,
                    kind=kind,
                    t=hours_t[present],
                    level=rep[present],
                    pages=counter[present],
                    cartridges=carts,
                    reporting=reporting,
                )
            )
    return out, HOLIDAYS
