"""Counter rates: wraps, resets on reboot, missing samples (collector/rates.py)."""

from __future__ import annotations

import pytest

from collector.rates import Rate, Sample, Unknown, counter_increment, rate, rate_series, speed_ceiling_octets

M32 = 1 << 32
M64 = 1 << 64


@pytest.mark.parametrize(
    ("prev", "cur", "bits", "expected"),
    [
        pytest.param(100, 250, 32, 150, id="plain-increase"),
        pytest.param(M32 - 100, 50, 32, 150, id="wrap-32bit"),
        pytest.param(M64 - 10, 5, 64, 15, id="wrap-64bit"),
        pytest.param(1_000_000_000, 5, 32, None, id="reset-32bit-drop-too-big-for-a-wrap"),
        pytest.param(10**12, 5, 64, None, id="reset-64bit-counter-restarted"),
        pytest.param(M32 - 100, 50, None, None, id="unknown-width-decrease-is-reset"),
        pytest.param(M32 + 5, 3, 32, None, id="value-too-wide-for-32bit"),
        pytest.param(7, 7, 64, 0, id="idle-port"),
    ],
)
def test_counter_increment(prev: int, cur: int, bits: int | None, expected: int | None) -> None:
    assert counter_increment(prev, cur, bits) == expected


def test_wrap_faster_than_the_link_is_a_reset() -> None:
    # 32-bit octet counter on a 10 Mb/s port: 1 GB in 60 s cannot be a wrap.
    ceiling = speed_ceiling_octets(10_000_000)
    assert counter_increment(M32 - 10, 1_000_000_000, 32, dt=60, max_rate=ceiling) is None
    assert counter_increment(M32 - 10, 1_000_000, 32, dt=60, max_rate=ceiling) == 1_000_010


def test_rate_wrap_is_positive_and_flagged() -> None:
    r = rate(Sample(0, M32 - 600), Sample(60, 600), 32)
    assert r == Rate(60, 20.0, None, wrapped=True)


def test_reboot_uptime_down_is_reset_even_if_counter_went_up() -> None:
    # Device rebooted and already counted past the old value within the interval.
    r = rate(Sample(0, 1000, uptime_s=86_400), Sample(300, 5000, uptime_s=120), 64)
    assert r.per_second is None
    assert r.unknown is Unknown.reset


@pytest.mark.parametrize(
    ("prev", "cur", "reason"),
    [
        pytest.param(Sample(0, 10), Sample(10, None), Unknown.missing, id="current-missing"),
        pytest.param(Sample(0, None), Sample(10, 10), Unknown.first, id="previous-missing"),
        pytest.param(Sample(10, 10), Sample(10, 20), Unknown.clock, id="same-timestamp"),
        pytest.param(Sample(10, 10), Sample(5, 20), Unknown.clock, id="clock-went-back"),
    ],
)
def test_rate_unknown(prev: Sample, cur: Sample, reason: Unknown) -> None:
    r = rate(prev, cur, 64)
    assert r.per_second is None
    assert r.unknown is reason


def test_series_never_negative_across_wrap_reboot_and_gaps() -> None:
    samples = [
        Sample(0, 100, uptime_s=1000),
        Sample(60, 700, uptime_s=1060),  # +600/60 = 10/s
        Sample(120, None),  # poll failed
        Sample(180, 1900, uptime_s=1180),  # bridged: +1200/120 = 10/s
        Sample(240, 40, uptime_s=30),  # reboot
        Sample(300, 640, uptime_s=90),  # counting again: 10/s
        Sample(360, M32 - 60, uptime_s=150),  # jump (plausible for a 32-bit counter)
        Sample(420, 540, uptime_s=210),  # wrap: +600/60
    ]
    out = rate_series(samples, 32)
    assert [r.unknown for r in out] == [
        Unknown.first,
        None,
        Unknown.missing,
        None,
        Unknown.reset,
        None,
        None,
        None,
    ]
    values = [r.per_second for r in out]
    assert values[1] == 10.0
    assert values[3] == 10.0
    assert values[5] == 10.0
    assert values[7] == 10.0
    assert out[7].wrapped
    assert all(v is None or v >= 0 for v in values)


def test_series_gap_longer_than_limit_is_unknown() -> None:
    out = rate_series([Sample(0, 0), Sample(60, 600), Sample(7260, 9000)], 64, max_gap_s=600)
    assert out[1].per_second == 10.0
    assert out[2].unknown is Unknown.gap
    assert out[2].per_second is None


def test_series_all_missing() -> None:
    out = rate_series([Sample(0, None), Sample(60, None)], 64)
    assert [r.unknown for r in out] == [Unknown.missing, Unknown.missing]


def test_speed_ceiling_unknown_speed() -> None:
    assert speed_ceiling_octets(None) is None
    assert speed_ceiling_octets(0) is None
    assert speed_ceiling_octets(8_000) == 1500.0
