#!/usr/bin/env python3
"""Forecast bench: fleetwatch's forecaster vs least-squares baselines on a simulated fleet.

    .venv/bin/python bench/forecast/run.py [--seed 0] [--devices 40] [--every 3]

For every supply and every cut-off (every ``--every`` days, at a random hour)
where the installed unit runs out within 1..90 days, each method gets the
last 180 days of reported samples up to the cut-off and answers "days to
empty". Error = |answer - truth| in days; a method that answers "never"
(line not going down) or nothing is scored as 365 days, every answer is
clipped to [0, 365]. Baselines are tried at several windows; the best
window (lowest MAE) is reported for each. Deterministic for a given seed.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]

import sim  # noqa: E402

from collector.forecast.baselines import delta_days_left, least_squares_days_left  # noqa: E402
from collector.forecast.forecaster import Series, forecast_series  # noqa: E402
from collector.forecast.model import Calendar, Prior, Sample, SupplyKind  # noqa: E402
from collector.forecast.replacement import detect_lives  # noqa: E402

DAY = 86400.0
CAP = 365.0
HISTORY_DAYS = 180
MAX_TRUTH_DAYS = 90
WINDOWS = (1, 3, 7, 14, 28, 56)


def fleet_lives(supplies: list[sim.SupplyTruth]) -> dict[tuple[str, str], list[tuple[str, float, float]]]:
    """(model, slot) -> [(device, removed_at, pages per percent)] from each supply's reported history."""
    out: dict[tuple[str, str], list[tuple[str, float, float]]] = defaultdict(list)
    for s in supplies:
        samples = [Sample(float(t), float(lv), float(p)) for t, lv, p in zip(s.t, s.level, s.pages, strict=True)]
        for life in detect_lives(samples, SupplyKind(s.kind)):
            ppp = life.pages_per_percent
            # only lives seen from install to removal; removed_at is when the swap became visible
            if ppp and life.installed_at is not None and life.removed_at is not None:
                out[(s.model, s.slot)].append((s.device, life.removed_at, ppp))
    return out


def fleet_prior(lives: list[tuple[str, float, float]], device: str, now: float) -> Prior | None:
    """Per-model yield learned from other devices' finished cartridges, known at ``now``."""
    vals = [ppp for dev, removed, ppp in lives if dev != device and removed <= now - 2 * 3600]
    if len(vals) < 3:
        return None
    med = statistics.median(vals)
    mad = statistics.median(abs(v - med) for v in vals) * 1.4826
    return Prior(med, max(0.1, mad / med), "fleet")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--devices", type=int, default=40)
    ap.add_argument("--every", type=float, default=3.0, help="days between cut-offs")
    args = ap.parse_args()
    started = time.perf_counter()

    supplies, holidays = sim.simulate(args.seed, args.devices)
    calendar = Calendar(holidays=holidays)
    lives = fleet_lives(supplies)
    rng = np.random.default_rng(args.seed + 1)

    errors: dict[str, list[float]] = defaultdict(list)
    answered: dict[str, int] = defaultdict(int)
    finite: dict[str, list[bool]] = defaultdict(list)
    inside = 0
    widths: list[float] = []
    by_reporting: dict[str, list[float]] = defaultdict(list)
    cases = 0
    t_start = sim.START.toordinal() - 719163
    for s in supplies:
        kind = SupplyKind(s.kind)
        target = 100.0 if kind is SupplyKind.receptacle else 0.0
        day = 45.0
        while day < sim.DAYS - 1:
            now = (t_start + day) * DAY + float(rng.uniform(0, DAY))
            day += args.every
            installed = [c for c in s.cartridges if c[0] <= now]
            if not installed:
                continue
            nxt = [c for c in s.cartridges if c[0] > now]
            empty_t = installed[-1][1]
            truth = (empty_t - now) / DAY
            if not (0 < truth <= MAX_TRUTH_DAYS) or (nxt and nxt[0][0] <= now):
                continue
            lo_i = int(np.searchsorted(s.t, now - HISTORY_DAYS * DAY))
            hi_i = int(np.searchsorted(s.t, now, side="right"))
            t, lv, pg = s.t[lo_i:hi_i], s.level[lo_i:hi_i], s.pages[lo_i:hi_i]
            if len(t) < 2:
                continue
            cases += 1
            prior = fleet_prior(lives.get((s.model, s.slot), []), s.device, now)
            f = forecast_series(Series(t, lv, pg), now, kind=kind, prior=prior, calendar=calendar)
            pred = f.days_to_empty
            err = _err(pred, truth)
            errors["fleetwatch"].append(err)
            by_reporting[s.reporting].append(err)
            answered["fleetwatch"] += pred is not None
            if f.low is not None and f.high is not None:
                inside += f.low <= truth <= f.high
                widths.append(f.high - f.low)
            since = f.installed_at
            for w in WINDOWS:
                for name, fn, clip in (
                    ("predict_linear/timeleft", least_squares_days_left, None),
                    ("delta", delta_days_left, None),
                    ("predict_linear since replacement", least_squares_days_left, since),
                ):
                    p = fn(t, lv, now, w * DAY, target=target, since=clip)
                    errors[f"{name} [{w}d]"].append(_err(p, truth))
                    answered[f"{name} [{w}d]"] += p is not None
                    finite[f"{name} [{w}d]"].append(p is not None)

    elapsed = time.perf_counter() - started
    mae = {k: float(np.mean(v)) for k, v in errors.items()}
    ours = mae.pop("fleetwatch")
    best: dict[str, tuple[str, float]] = {}
    for k, v in mae.items():
        family = k.rsplit(" [", 1)[0]
        if family not in best or v < best[family][1]:
            best[family] = (k, v)
    print(f"seed={args.seed} devices={args.devices} supplies={len(supplies)} cut-offs every {args.every} d")
    print(f"cases: {cases} (unit installed at the cut-off runs out in 1..{MAX_TRUTH_DAYS} days)")
    print()
    print(f"{'method (best window)':45s} {'MAE days':>9s} {'median':>7s} {'answered':>9s} {'ratio':>7s}")
    print(f"{'fleetwatch':45s} {ours:9.2f} {np.median(errors['fleetwatch']):7.2f} "
          f"{answered['fleetwatch'] / cases:9.1%} {'1.00':>7s}")  # fmt: skip
    for _family, (k, v) in sorted(best.items(), key=lambda kv: kv[1][1]):
        print(f"{k:45s} {v:9.2f} {np.median(errors[k]):7.2f} {answered[k] / cases:9.1%} {v / ours:7.2f}")
    print()
    print("Only the cases where the baseline gave a finite answer (no 365-day cap involved), same cases for both:")
    for _family, (k, _v) in sorted(best.items(), key=lambda kv: kv[1][1]):
        ok = [i for i, flag in enumerate(finite[k]) if flag]
        b = float(np.mean([errors[k][i] for i in ok]))
        o = float(np.mean([errors["fleetwatch"][i] for i in ok]))
        print(f"  {k:43s} baseline {b:6.2f}  fleetwatch {o:6.2f}  ratio {o / b:.3f}  (n={len(ok)})")
    best_baseline = min(v for _, v in best.values())
    print()
    print("all windows:", ", ".join(f"{k}={v:.1f}" for k, v in sorted(mae.items())))
    per = ", ".join(f"{k}={np.mean(v):.2f} (n={len(v)})" for k, v in sorted(by_reporting.items()))
    print(f"fleetwatch MAE by level reporting: {per}")
    print()
    print(f"fleetwatch MAE / best baseline MAE = {ours / best_baseline:.3f} (target <= 0.25)")
    print(f"low-high range holds the true empty date: {inside / cases:.1%} (target >= 80%), "
          f"median width {np.median(widths):.1f} days")  # fmt: skip
    print(f"elapsed {elapsed:.1f} s")


def _err(pred: float | None, truth: float) -> float:
    p = CAP if pred is None or not math.isfinite(pred) else min(max(pred, 0.0), CAP)
    return abs(p - truth)


if __name__ == "__main__":
    main()
