"""Per-second rates from SNMP counters, without ever inventing traffic.

Counters (ifHCInOctets, ifInErrors ...) only ever go up, until they wrap at
2**32 / 2**64 or the device reboots and starts again at zero. A naive
``(cur - prev) / dt`` turns a reboot into a huge negative (or, "fixed" with
modulo arithmetic, a huge positive) spike that trips every traffic rule. The
rules here:

- a decrease is a *wrap* only when the wrapped increment is plausible: below
  half the counter range and, when the caller knows a ceiling (interface
  speed), not faster than that ceiling;
- otherwise it is a *reset* (reboot, counter cleared, agent restarted) and
  the rate for that interval is unknown, never zero or negative;
- sysUpTime going down is a reset whatever the counter did;
- a missing sample does not break the series: the next rate is taken over
  the gap from the last good sample, unless the gap is longer than
  ``max_gap_s`` (then unknown: an average over hours hides the peak).

Everything is pure: samples in, rates out; time comes with the samples.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Unknown(StrEnum):
    """Why an interval has no rate."""

    first = "first"  # nothing to compare with yet
    missing = "missing"  # this sample has no value
    reset = "reset"  # counter or uptime went back: device rebooted / counter cleared
    gap = "gap"  # last good sample too old
    clock = "clock"  # time did not advance


@dataclass(frozen=True, slots=True)
class Sample:
    ts: float  # Unix seconds, when the counter was read
    value: int | None  # raw counter; None when the poll did not get it
    uptime_s: float | None = None  # device sysUpTime at the same poll, when known


@dataclass(frozen=True, slots=True)
class Rate:
    ts: float  # end of the interval
    per_second: float | None
    unknown: Unknown | None = None  # set exactly when per_second is None
    wrapped: bool = False


def counter_increment(
    prev: int, cur: int, bits: int | None, *, dt: float | None = None, max_rate: float | None = None
) -> int | None:
    """How much a counter advanced from ``prev`` to ``cur``; ``None`` when it was reset.

    ``bits`` is 32 or 64 (``Interface.counter_bits``); ``None`` means the width is
    unknown, so any decrease is a reset.
    """
    if cur >= prev:
        return cur - prev
    if bits not in (32, 64) or prev < 0 or cur < 0:
        return None
    span = 1 << bits
    if prev >= span:  # value cannot come from a counter of this width
        return None
    inc = cur + span - prev
    if inc >= span // 2:
        return None
    if max_rate is not None and dt is not None and dt > 0 and inc / dt > max_rate:
        return None
    return inc


def rate(prev: Sample, cur: Sample, bits: int | None, *, max_rate: float | None = None) -> Rate:
    """Rate over one interval. ``max_rate`` is a ceiling in counter units per second."""
    if cur.value is None:
        return Rate(cur.ts, None, Unknown.missing)
    if prev.value is None:
        return Rate(cur.ts, None, Unknown.first)
    dt = cur.ts - prev.ts
    if dt <= 0:
        return Rate(cur.ts, None, Unknown.clock)
    if prev.uptime_s is not None and cur.uptime_s is not None and cur.uptime_s < prev.uptime_s:
        return Rate(cur.ts, None, Unknown.reset)
    inc = counter_increment(prev.value, cur.value, bits, dt=dt, max_rate=max_rate)
    if inc is None:
        return Rate(cur.ts, None, Unknown.reset)
    return Rate(cur.ts, inc / dt, None, wrapped=cur.value < prev.value)


def rate_series(
    samples: Iterable[Sample],
    bits: int | None,
    *,
    max_rate: float | None = None,
    max_gap_s: float | None = None,
) -> list[Rate]:
    """One ``Rate`` per sample (the first is ``Unknown.first``), bridging missing samples.

    After a reset the next interval starts from the post-reset sample, so a
    single reboot costs exactly one unknown interval.
    """
    out: list[Rate] = []
    last: Sample | None = None
    for s in samples:
        if s.value is None:
            out.append(Rate(s.ts, None, Unknown.missing))
            # A reboot during the missing polls still shows in uptime later.
            continue
        if last is None:
            out.append(Rate(s.ts, None, Unknown.first))
        elif max_gap_s is not None and s.ts - last.ts > max_gap_s:
            out.append(Rate(s.ts, None, Unknown.gap))
        else:
            out.append(rate(last, s, bits, max_rate=max_rate))
        last = s
    return out


def speed_ceiling_octets(speed_bps: int | None, *, slack: float = 1.5) -> float | None:
    """Max plausible octets/s on a link (``Interface.speed_bps``), with slack for bursts/duplex quirks."""
    if not speed_bps or speed_bps <= 0:
        return None
    return speed_bps / 8 * slack
