"""Replacement detection on real-looking level traces."""

from __future__ import annotations

import itertools

import pytest

from collector.forecast.model import Sample, SupplyKind
from collector.forecast.replacement import continuous_pages, detect_lives, level_step

H = 3600.0


def run(levels: list[float | None], pages_per_poll: float = 50.0, **kw: object) -> list[Sample]:
    return [Sample(i * H, lv, 1000.0 + i * pages_per_poll, **kw) for i, lv in enumerate(levels)]  # type: ignore[arg-type]


def down(start: int, stop: int, hold: int = 3) -> list[float | None]:
    """start, start-1, ..., stop, each level held for ``hold`` polls."""
    return [float(v) for v in range(start, stop - 1, -1) for _ in range(hold)]


@pytest.mark.parametrize(
    "levels",
    [
        pytest.param([*down(60, 50), 51.0, 50.0, 51.0, 50.0, *down(50, 40)], id="hp-one-point-wobble"),
        pytest.param([70.0] * 5 + [60.0] * 5 + [70.0] + [60.0] * 5 + [50.0] * 5, id="kyocera-ten-percent-step-wobble"),
        pytest.param([*down(40, 30), 0.0, *down(30, 20)], id="single-zero-read"),
        pytest.param([*down(40, 30), 100.0, *down(30, 20)], id="single-100-read-door-open"),
        pytest.param([*down(40, 30), None, None, *down(30, 20)], id="missing-polls"),
    ],
)
def test_no_false_replacement(levels: list[float | None]) -> None:
    lives = detect_lives(run(levels))
    assert len(lives) == 1
    assert lives[0].removed_at is None


def test_replacement_when_empty_closes_the_life() -> None:
    levels = down(30, 2) + [100.0] * 3 + down(99, 90)
    samples = run(levels)
    lives = detect_lives(samples)
    assert len(lives) == 2
    old, new = lives
    at = samples[len(down(30, 2))].ts
    assert old.removed_at == at
    assert new.installed_at == at
    assert old.end_level == 2.0
    assert not old.swapped_early
    assert old.pages_printed == pytest.approx(len(down(30, 2)) * 50.0)
    assert old.cause == "level_jump"
    assert new.start_level == 100.0


def test_early_swap_is_waste() -> None:
    lives = detect_lives(run(down(60, 35) + down(100, 95)))
    assert len(lives) == 2
    assert lives[0].swapped_early
    assert lives[0].end_level == 35.0


def test_waste_toner_emptied() -> None:
    """Receptacle: fill climbs, then drops to 0 when the box is emptied (a jump up in remaining terms)."""
    fill = [float(v) for v in range(80, 96) for _ in range(2)] + [0.0] * 3 + [1.0] * 3
    lives = detect_lives(run(fill), SupplyKind.receptacle)
    assert len(lives) == 2
    assert lives[0].end_level == pytest.approx(5.0)  # 95% full = 5% remaining


def test_new_serial_without_level_jump() -> None:
    """A refilled unit reporting 90% the same as the old one: only the serial tells."""
    a = [Sample(i * H, 90.0, 100.0 + i, cartridge="SN-A") for i in range(5)]
    b = [Sample((5 + i) * H, 90.0, 105.0 + i, cartridge="SN-B") for i in range(5)]
    lives = detect_lives(a + b)
    assert [lf.cause for lf in lives] == ["cartridge_change", None]


def test_counter_reset_does_not_break_pages_printed() -> None:
    samples = [Sample(i * H, float(80 - i), 5000.0 + 10 * i) for i in range(10)]
    samples += [Sample((10 + i) * H, float(70 - i), 2.0 + 10 * i) for i in range(10)]  # firmware update
    lives = detect_lives(samples)
    assert len(lives) == 1
    assert lives[0].pages_printed == pytest.approx(180.0)  # the one reset interval counts as no pages
    pages = continuous_pages(samples)
    assert all(b >= a for a, b in itertools.pairwise(pages))  # type: ignore[operator]


def test_state_only_low_back_to_ok() -> None:
    states = ["ok"] * 4 + ["low"] * 4 + ["empty"] * 2 + ["ok"] * 3
    samples = [Sample(i * H, None, 100.0 * i, s) for i, s in enumerate(states)]
    lives = detect_lives(samples)
    assert len(lives) == 2
    assert lives[0].cause == "state_reset"


def test_big_jump_on_the_last_poll_is_believed() -> None:
    lives = detect_lives(run([*down(10, 3), 100.0]))
    assert len(lives) == 2


def test_small_jump_on_the_last_poll_waits_for_confirmation() -> None:
    lives = detect_lives(run([*down(40, 30), 45.0]))
    assert len(lives) == 1


@pytest.mark.parametrize(
    ("levels", "step"),
    [
        pytest.param([100, 90, 80, 70], 10.0, id="ten-percent"),
        pytest.param([100, 99, 97, 96], 1.0, id="integer"),
        pytest.param([100, 75, 50, 25], 25.0, id="quarters"),
        pytest.param([100, 100], 1.0, id="too-few-to-tell"),
    ],
)
def test_level_step(levels: list[float], step: float) -> None:
    assert level_step([float(v) for v in levels]) == step
