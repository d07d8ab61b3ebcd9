"""Cartridge lives: where one unit ends and the next begins.

A replacement shows as the remaining level jumping up (a waste toner box
emptied is the same thing once fill is turned into remaining), as a new
serial / part number, or, on devices that only report states, as low/empty
going back to ok. The traps, all seen on real fleets:

- levels wobble by a point (HP LaserJet 400-series toner moves 57 -> 58 -> 57
  between polls) and coarse devices wobble by a whole step (10% on Kyocera
  FS-series): the jump must exceed both ``min_jump`` and 1.5 steps;
- a single bad read (0 or 100 for one poll while a door is open) must not
  move the reference level, so the reference is the lowest *confirmed* level
  (one that agrees with the previous reading within the jump threshold);
- the page counter can restart after a firmware update: a decrease is a
  reset, the pages of that one interval are unknown and counted as none,
  never as a huge negative or positive number (same rule as ``collector.rates``).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from collector.forecast.model import COARSE_STATES, CartridgeLife, Sample, SupplyKind

_LOW_STATES = frozenset({"low", "near_empty", "empty"})
_FRESH_STATES = frozenset({"ok", "full"})


def remaining_levels(samples: Sequence[Sample], kind: SupplyKind) -> list[float | None]:
    """Remaining percent per sample (``100 - fill`` for receptacles); ``None`` without a number."""
    out: list[float | None] = []
    for s in samples:
        if s.level is None or s.level < 0 or s.state in COARSE_STATES:
            out.append(None)
        else:
            lvl = min(float(s.level), 100.0)
            out.append(100.0 - lvl if kind is SupplyKind.receptacle else lvl)
    return out


def remaining_state(state: str, kind: SupplyKind) -> str:
    """States in "remaining" terms: a full receptacle is an empty supply."""
    if kind is SupplyKind.receptacle and state == "full":
        return "empty"
    return state


def continuous_pages(samples: Sequence[Sample]) -> list[float | None]:
    """Page counter made monotonic across resets; ``None`` before the first counter reading."""
    out: list[float | None] = []
    total: float | None = None
    prev: float | None = None
    for s in samples:
        p = s.pages
        if p is not None and p >= 0:
            if prev is None:
                total = 0.0 if total is None else total
            elif p >= prev:
                total = (total or 0.0) + (p - prev)
            # else: counter went back (firmware update, NVRAM reset): that interval is unknown -> 0
            prev = p
        out.append(total)
    return out


def level_step(levels: Sequence[float | None]) -> float:
    """The reporting step: 1 for integer percent, 10 for devices that report 100/90/80..."""
    vals = {round(v, 3) for v in levels if v is not None}
    if len(vals) < 3:
        return 1.0
    for step in (50.0, 25.0, 20.0, 10.0, 5.0):
        if all(abs(v / step - round(v / step)) < 1e-6 for v in vals):
            return step
    return 1.0


def detect_lives(
    samples: Sequence[Sample],
    kind: SupplyKind = SupplyKind.consumed,
    *,
    min_jump: float = 10.0,
    big_jump: float = 30.0,
    waste_threshold: float = 10.0,
) -> list[CartridgeLife]:
    """Split a supply's history into cartridge lives, oldest first (never empty for a non-empty input).

    An upward jump must be confirmed by the following reading; only a jump
    of ``big_jump`` or more is believed on the last reading alone, so a
    forecast right after a swap already uses the new unit.
    """
    n = len(samples)
    if n == 0:
        return []
    rem = remaining_levels(samples, kind)
    pages = continuous_pages(samples)
    thr = max(min_jump, 1.5 * level_step(rem))
    numeric_idx = [i for i, v in enumerate(rem) if v is not None]
    next_numeric: list[int | None] = [None] * n
    nxt: int | None = None
    for i in range(n - 1, -1, -1):
        next_numeric[i] = nxt
        if rem[i] is not None:
            nxt = i

    starts: list[tuple[int, str | None]] = [(0, None)]
    ref: float | None = None  # lowest confirmed remaining level of the current life
    prev_level: float | None = None
    last_id: str | None = None
    prev_state: str | None = None
    for i, s in enumerate(samples):
        cause: str | None = None
        lvl = rem[i]
        state = remaining_state(s.state, kind)
        if s.cartridge and last_id and s.cartridge != last_id:
            cause = "cartridge_change"
        elif lvl is not None and ref is not None and lvl - ref >= thr:
            j = next_numeric[i]
            nl = rem[j] if j is not None else None
            if (nl is not None and nl - ref >= thr) or (nl is None and lvl - ref >= big_jump):
                cause = "level_jump"
        elif (
            not numeric_idx
            and prev_state in _LOW_STATES
            and state in _FRESH_STATES
            and (i + 1 >= n or remaining_state(samples[i + 1].state, kind) in _FRESH_STATES)
        ):
            cause = "state_reset"
        if cause and i > starts[-1][0]:
            starts.append((i, cause))
            ref = None
            prev_level = None
        if s.cartridge:
            last_id = s.cartridge
        prev_state = state
        if lvl is not None:
            if prev_level is not None and abs(lvl - prev_level) < thr:
                ref = lvl if ref is None else min(ref, lvl)
            prev_level = lvl

    lives: list[CartridgeLife] = []
    for k, (start, _) in enumerate(starts):
        closing = starts[k + 1] if k + 1 < len(starts) else None
        end = closing[0] - 1 if closing else n - 1
        levels = [v for v in rem[start : end + 1] if v is not None]
        start_level = levels[0] if levels else None
        end_level = _settled_min(levels, thr) if levels else None
        p_end = pages[closing[0]] if closing else pages[end]
        p_start = pages[start]
        printed = None if p_end is None or p_start is None else p_end - p_start
        lives.append(
            CartridgeLife(
                start_index=start,
                end_index=end,
                installed_at=samples[start].ts if k > 0 else None,
                removed_at=samples[closing[0]].ts if closing else None,
                start_level=start_level,
                end_level=end_level,
                pages_printed=printed,
                swapped_early=bool(closing and end_level is not None and end_level > waste_threshold),
                cause=closing[1] if closing else None,
            )
        )
    return lives


def _settled_min(levels: Sequence[float], thr: float) -> float:
    """Lowest level that agrees with its predecessor (a lone bad read does not count)."""
    best = levels[0]
    for a, b in itertools.pairwise(levels):
        if abs(b - a) < thr:
            best = min(best, b)
    return best
