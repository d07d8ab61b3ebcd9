"""Days until a supply runs out, from the page counter rather than the clock.

Why pages: a cartridge empties by printing, not by time passing. A line
through level-vs-time (Prometheus ``predict_linear``, Zabbix ``timeleft``)
mixes two things that change independently: how many pages a percent lasts
(coverage: this cartridge, this office) and how many pages the office prints
(weekdays, holidays, bursts). Here they are estimated apart:

1. the current cartridge's life starts at its last replacement
   (``replacement.detect_lives``);
2. pages per percent: from the page counter at the moments the reported
   level stepped down (a step boundary is an exact level, so coarse 10%
   reporting loses timing, not accuracy), shrunk towards a prior (the same
   device's previous cartridge, or a per-model yield learned across the
   fleet) in proportion to how much of this cartridge we have seen;
3. level now: the last step boundary minus the pages printed since, and
   where a fresh unit's start is seen, the reporting convention (truncate /
   round / ceil to the step) is inferred from how long it stayed at 100;
4. page demand: the device's weekday x hour profile over its whole history
   (all cartridges, ``demand.learn_demand``), rolled forward over the
   calendar until the remaining pages are printed.

The low-high range combines the uncertainty of pages per percent, of the
level and of demand (week-to-week spread shrinking with the horizon, plus a
drift term that does not). Decision logic only: ``now`` is passed in.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from collector.forecast.demand import Demand, default_demand, learn_demand
from collector.forecast.model import (
    Calendar,
    CartridgeLife,
    Confidence,
    Forecast,
    Prior,
    Reason,
    Sample,
    SupplyKind,
)
from collector.forecast.replacement import (
    detect_lives,
    level_step,
    remaining_levels,
    remaining_state,
)

DAY = 86400.0


@dataclass(frozen=True, slots=True)
class Params:
    z: float = 1.5  # half-width of the range in standard deviations (tuned on bench seed 1 for >= 80% coverage)
    drift: float = 0.07  # relative demand change we cannot see coming, per sqrt(week) of horizon
    own_prior_cv: float = 0.15  # how well the previous cartridge predicts this one's pages per percent
    obs_floor: float = 0.04  # relative error of this cartridge's pages per percent however much we have seen
    future_mix: float = 0.12  # the coming weeks' job mix (coverage) differs from the past's by this much
    obs_scale: float = 0.35  # ... plus this / sqrt(percent seen)
    low_state_level: float = 15.0  # where "low" usually starts (percent), for state-only devices
    demand_weeks: int = 8
    half_life_days: float = 21.0
    min_history_days: float = 3.0
    horizon_days: int = 1100


@dataclass(frozen=True, slots=True)
class _Transition:
    pages: float  # counter when the level stepped down (midpoint of the two polls)
    new: float  # level reported after the step
    old: float  # level reported before


@dataclass(frozen=True)
class Series:
    """One supply's history as arrays (what a storage query returns), oldest first.

    ``level`` is the reported percent (NaN where none), ``pages`` the raw page
    counter (NaN where none), ``states`` / ``cartridges`` optional per sample.
    """

    t: np.ndarray
    level: np.ndarray
    pages: np.ndarray
    states: Sequence[str] | None = None
    cartridges: Sequence[str | None] | None = None

    @classmethod
    def from_samples(cls, samples: Sequence[Sample]) -> Series:
        hist = sorted(samples, key=lambda s: s.ts)
        nan = float("nan")
        return cls(
            t=np.array([s.ts for s in hist], dtype=float),
            level=np.array([nan if s.level is None else s.level for s in hist], dtype=float),
            pages=np.array([nan if s.pages is None else s.pages for s in hist], dtype=float),
            states=[s.state for s in hist],
            cartridges=[s.cartridge for s in hist],
        )


def forecast(
    samples: Sequence[Sample],
    now: float,
    *,
    kind: SupplyKind = SupplyKind.consumed,
    prior: Prior | None = None,
    calendar: Calendar | None = None,
    params: Params | None = None,
) -> Forecast:
    """Forecast the unit installed at ``now`` from the supply's whole reported history."""
    hist = [s for s in samples if s.ts <= now]
    return forecast_series(Series.from_samples(hist), now, kind=kind, prior=prior, calendar=calendar, params=params)


def continuous_counter(pages: np.ndarray) -> np.ndarray | None:
    """Vectorised ``replacement.continuous_pages``: resets count as no pages; None without any counter."""
    valid = np.isfinite(pages) & (pages >= 0)
    if not valid.any():
        return None
    pv = pages[valid]
    d = np.diff(pv)
    d[d < 0] = 0.0
    cum = np.full(len(pages), np.nan)
    cum[valid] = np.concatenate([[0.0], np.cumsum(d)])
    idx = np.where(valid, np.arange(len(pages)), 0)
    np.maximum.accumulate(idx, out=idx)
    out = cum[idx]
    out[: int(np.argmax(valid))] = 0.0
    return out


def forecast_series(
    series: Series,
    now: float,
    *,
    kind: SupplyKind = SupplyKind.consumed,
    prior: Prior | None = None,
    calendar: Calendar | None = None,
    params: Params | None = None,
) -> Forecast:
    """``forecast`` on arrays; samples after ``now`` are ignored. ``Forecast.lives`` holds the cartridge lives."""
    lives: list[CartridgeLife] = []
    f = _forecast_series(series, now, kind, prior, calendar, params, lives)
    return replace(f, lives=tuple(lives)) if lives else f


def _forecast_series(
    series: Series,
    now: float,
    kind: SupplyKind,
    prior: Prior | None,
    calendar: Calendar | None,
    params: Params | None,
    lives_out: list[CartridgeLife],
) -> Forecast:
    p = params or Params()
    cal = calendar or Calendar()
    n_all = int(np.searchsorted(series.t, now, side="right"))
    if n_all < 2:
        return Forecast(now, None, None, None, Confidence.poor, (Reason.too_little_history,))
    t = series.t[:n_all]
    states = list(series.states[:n_all]) if series.states is not None else ["ok"] * n_all
    carts = list(series.cartridges[:n_all]) if series.cartridges is not None else [None] * n_all

    reasons: list[Reason] = []
    cum = continuous_counter(series.pages[:n_all])
    if cum is not None:
        demand = learn_demand(t, cum, now, cal, weeks=p.demand_weeks, half_life_days=p.half_life_days)
    else:
        # No page counter: measure consumption in expected office activity instead of pages.
        reasons.append(Reason.no_page_counter)
        demand = default_demand(cal, 100.0)
        cum = demand.cumulative(t)

    # Only the samples where something changes (and their neighbours) matter from here on.
    lv = series.level[:n_all]
    key = [(None if not math.isfinite(x) else float(x), st, c) for x, st, c in zip(lv, states, carts, strict=True)]
    keep = [i for i in range(n_all) if i in (0, n_all - 1) or key[i] != key[i - 1] or key[i] != key[i + 1]]
    hist = [Sample(float(t[i]), key[i][0], float(cum[i]), states[i], carts[i]) for i in keep]
    ccum = np.array([s.pages for s in hist])

    lives = detect_lives(hist, kind)
    lives_out.extend(lives)
    life = lives[-1]
    rem = remaining_levels(hist, kind)
    step = level_step(rem)
    if step >= 10:
        reasons.append(Reason.coarse_steps)
    seg = range(life.start_index, len(hist))
    installed = life.installed_at is not None
    p_install = float(ccum[life.start_index])
    p_now = float(cum[-1])
    seen_days = (now - hist[life.start_index].ts) / DAY
    if (t[-1] - t[0]) / DAY < p.min_history_days:
        reasons.append(Reason.too_little_history)

    own_prior = _previous_life_prior(lives[:-1], p)
    prior_eff = _combine_priors(own_prior, prior)

    numeric = [i for i in seg if rem[i] is not None]
    state_now = remaining_state(hist[-1].state, kind)
    if not numeric:
        return _from_states(hist, seg, ccum, now, state_now, installed, p_install, prior_eff, demand, reasons, p)

    trans = _transitions(numeric, rem, ccum, step)
    r_now = float(rem[numeric[-1]])  # type: ignore[arg-type]

    # Pages per percent: this cartridge's own, shrunk towards the prior.
    ppp_obs, rel_obs = None, None
    if len(trans) >= 2:
        span = trans[0].new - trans[-1].new
        dp = trans[-1].pages - trans[0].pages
        if span > 0 and dp > 0:
            ppp_obs = dp / span
            rel_obs = p.obs_floor + p.obs_scale / math.sqrt(span)
    ppp, rel = _shrink(ppp_obs, rel_obs, prior_eff)
    if ppp is None and trans and p_now > p_install:
        # One step only and nothing to lean on: pages since install over percent used, roughly.
        used = (100.0 if installed else (life.start_level or r_now)) - (trans[-1].new + step / 2)
        if used > 0:
            ppp, rel = (trans[-1].pages - p_install) / used, 0.6
    if ppp_obs is None:
        reasons.append(Reason.prior_only if ppp is not None else Reason.too_little_history)
    if ppp is None or ppp <= 0:
        if p_now - p_install <= 0 and seen_days >= p.min_history_days:
            reasons.append(Reason.no_consumption)
        return Forecast(
            now, None, None, None, Confidence.poor, _uniq(reasons), level_now=r_now, installed_at=life.installed_at
        )

    # Level now.
    d, sd_d = step / 2.0, step / math.sqrt(12.0)
    if installed and life.start_level is not None and life.start_level >= 99.5 and trans and step > 1:
        t0 = trans[0]
        if t0.old >= 99.5:
            b1 = 100.0 - (t0.pages - p_install) / ppp
            sd_b1 = (t0.pages - p_install) / ppp * rel
            if sd_b1 < sd_d:
                d, sd_d = min(max(b1 - t0.new, 0.0), step), max(sd_b1, 0.5)
    if trans:
        last = trans[-1]
        since = (p_now - last.pages) / ppp
        level = last.new + d - since
        sd_level = math.hypot(sd_d, since * rel)
    elif installed and (life.start_level or 0) >= 99.5:
        since = (p_now - p_install) / ppp
        level = 100.0 - since
        sd_level = math.hypot(step / 4, since * rel)
    else:
        level, sd_level = r_now, step / math.sqrt(3.0)
    level = min(max(level, r_now - step, 0.0), r_now + step)

    if r_now <= 0 and state_now == "empty":
        level = 0.0
    return _finish(now, level, sd_level, ppp, rel, demand, reasons, life, p, step)


def _finish(
    now: float,
    level: float,
    sd_level: float,
    ppp: float,
    rel: float,
    demand: Demand,
    reasons: list[Reason],
    life: CartridgeLife,
    p: Params,
    step: float,
) -> Forecast:
    remaining = max(level, 0.0) * ppp
    base = {
        "level_now": level,
        "pages_per_percent": ppp,
        "pages_remaining": remaining,
        "installed_at": life.installed_at,
    }
    ppd = demand.pages_per_day
    if remaining <= 0:
        reasons.append(Reason.already_empty)
        return Forecast(now, 0.0, 0.0, 0.0, Confidence.good, _uniq(reasons), pages_per_day=ppd, **base)
    if ppd <= 0:
        reasons.append(Reason.no_consumption)
        return Forecast(now, None, None, None, Confidence.poor, _uniq(reasons), pages_per_day=ppd, **base)
    secs = demand.time_to_consume(now, remaining, p.horizon_days)
    if secs is None:
        reasons.append(Reason.beyond_horizon)
        return Forecast(now, None, None, None, Confidence.poor, _uniq(reasons), pages_per_day=ppd, **base)
    days = secs / DAY
    rel_level = sd_level / max(level, 0.5)
    # Day-to-day noise averages out over the working days ahead; drift (demand walking away from
    # what we learned) grows with the horizon.
    work_days = max(days * 5.0 / 7.0, 1.0)
    rel_demand = math.sqrt(demand.daily_cv**2 / work_days + p.drift**2 * max(days / 7.0, 1.0))
    sigma = math.sqrt(rel**2 + p.future_mix**2 + rel_level**2 + rel_demand**2)
    lo = demand.time_to_consume(now, remaining * math.exp(-p.z * sigma), p.horizon_days)
    hi = demand.time_to_consume(now, remaining * math.exp(p.z * sigma), p.horizon_days)
    low = max(0.0, (lo / DAY if lo is not None else days) - 0.25)
    high = (hi / DAY if hi is not None else float(p.horizon_days)) + 0.25

    width = (high - low) / max(days, 1.0)
    if width > 0.8:
        reasons.append(Reason.wide_range)
    conf = Confidence.good
    if any(r in reasons for r in (Reason.coarse_steps, Reason.prior_only, Reason.no_page_counter)) or width > 0.8:
        conf = Confidence.fair
    if any(r in reasons for r in (Reason.too_little_history, Reason.coarse_states)) or width > 1.5:
        conf = Confidence.poor
    details = {"sigma": sigma, "rel_ppp": rel, "rel_level": rel_level, "rel_demand": rel_demand, "step": step}
    return Forecast(now, days, low, high, conf, _uniq(reasons), pages_per_day=ppd, details=details, **base)


def _transitions(numeric: list[int], rem: list[float | None], cum: np.ndarray, step: float) -> list[_Transition]:
    """Downward steps of the settled level: a reading counts when the next one does not contradict it."""
    out: list[_Transition] = []
    cur: float | None = None
    prev_i: int | None = None
    for k, i in enumerate(numeric):
        lvl = rem[i]
        assert lvl is not None
        nxt = rem[numeric[k + 1]] if k + 1 < len(numeric) else None
        if nxt is not None and nxt > lvl + 0.5 * step:
            prev_i = i
            continue  # a wobble or a lone bad read
        if cur is not None and lvl < cur:
            before = cum[prev_i] if prev_i is not None else cum[i]
            out.append(_Transition(float(before + cum[i]) / 2.0, lvl, cur))
        if cur is None or lvl < cur:
            cur = lvl
        prev_i = i
    return out


def _shrink(ppp_obs: float | None, rel_obs: float | None, prior: Prior | None) -> tuple[float | None, float]:
    """Precision-weighted mean in log space of the cartridge's own estimate and the prior."""
    if ppp_obs is None and prior is None:
        return None, 1.0
    if prior is None:
        return ppp_obs, rel_obs or 1.0
    if ppp_obs is None or rel_obs is None:
        return prior.pages_per_percent, prior.cv
    w_o, w_p = 1.0 / rel_obs**2, 1.0 / prior.cv**2
    log_mean = (w_o * math.log(ppp_obs) + w_p * math.log(prior.pages_per_percent)) / (w_o + w_p)
    return math.exp(log_mean), 1.0 / math.sqrt(w_o + w_p)


def _previous_life_prior(lives: Sequence[CartridgeLife], p: Params) -> Prior | None:
    for life in reversed(lives):
        ppp = life.pages_per_percent
        if ppp is not None and ppp > 0:
            return Prior(ppp, p.own_prior_cv, "previous")
    return None


def _combine_priors(own: Prior | None, fleet: Prior | None) -> Prior | None:
    if own is None or fleet is None:
        return own or fleet
    w_o, w_f = 1.0 / own.cv**2, 1.0 / fleet.cv**2
    m = (w_o * math.log(own.pages_per_percent) + w_f * math.log(fleet.pages_per_percent)) / (w_o + w_f)
    return Prior(math.exp(m), 1.0 / math.sqrt(w_o + w_f), "previous+fleet")


def _from_states(
    hist: Sequence[Sample],
    seg: range,
    cum: np.ndarray,
    now: float,
    state_now: str,
    installed: bool,
    p_install: float,
    prior: Prior | None,
    demand: Demand,
    reasons: list[Reason],
    p: Params,
) -> Forecast:
    """Devices that say only ok/low/empty (or -3 "some remaining"): pages against the expected yield."""
    reasons.append(Reason.coarse_states)
    if state_now == "empty":
        reasons.append(Reason.already_empty)
        return Forecast(now, 0.0, 0.0, 0.0, Confidence.fair, _uniq(reasons), level_now=0.0)
    if prior is None:
        return Forecast(now, None, None, None, Confidence.poor, _uniq(reasons))
    ppp = prior.pages_per_percent
    low_at = next((i for i in seg if hist[i].state in ("low", "near_empty")), None)
    if low_at is not None:
        level = p.low_state_level - (cum[-1] - cum[low_at]) / ppp
        sd = p.low_state_level / 2
    elif installed:
        level = 100.0 - (cum[-1] - p_install) / ppp
        sd = 10.0
    else:
        return Forecast(now, None, None, None, Confidence.poor, _uniq(reasons))
    life = CartridgeLife(seg.start, seg.stop - 1, hist[seg.start].ts if installed else None, None, None, None, None)
    f = _finish(now, max(level, 0.5), sd, ppp, prior.cv, demand, reasons, life, p, 100.0)
    return replace(f, confidence=Confidence.poor)


def _uniq(reasons: list[Reason]) -> tuple[Reason, ...]:
    return tuple(dict.fromkeys(reasons))
