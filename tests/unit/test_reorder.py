"""Reorder arithmetic on a small fleet; every expected number worked out by hand in the comments."""

from __future__ import annotations

import pytest

from collector.stock.model import Part, UnitForecast
from collector.stock.reorder import need_events, recommend, recommend_all

TONER = Part("TN-2420", "Black toner", on_hand=1, on_order=1, location="store B2", lead_time_days=7, safety_stock=1)
DRUM = Part("DR-2400", "Drum", on_hand=2, on_order=0, lead_time_days=14, safety_stock=0)
WASTE = Part("WT-300", "Waste box", on_hand=0, on_order=0, lead_time_days=10, safety_stock=0)

FLEET = [
    UnitForecast("A", "TN-2420", days_to_empty=3, days_per_unit=20),  # needs at 3, 23, 43, 63, 83
    UnitForecast("B", "TN-2420", days_to_empty=5, days_per_unit=30),  # needs at 5, 35, 65, 95
    UnitForecast("C", "TN-2420", days_to_empty=40, days_per_unit=40),  # needs at 40, 80
    UnitForecast("X", "TN-2420", days_to_empty=None),  # no forecast
    UnitForecast("A", "DR-2400", days_to_empty=50, days_per_unit=300),  # needs at 50
    UnitForecast("D", "DR-2400", days_to_empty=10),  # needs at 10, then unknown
    UnitForecast("E", "WT-300", days_to_empty=25, days_per_unit=30),  # needs at 25, 55, 85
]


def test_need_events() -> None:
    assert need_events(FLEET[0], 97) == [3, 23, 43, 63, 83]
    assert need_events(FLEET[5], 97) == [10]
    assert need_events(FLEET[3], 97) == []


def test_toner_short_now() -> None:
    # lead time 7: needs at 3 (A) and 5 (B) -> demand 2; position 1 + 1 = 2; 2 + safety 1 - 2 = order 1.
    # The need at index position - safety = 1 (B at day 5) would eat the safety unit: order by 5 - 7 = -2 -> overdue.
    r = recommend(TONER, FLEET)
    assert r.demand_over_lead_time == 2
    assert r.position == 2
    assert r.quantity == 1
    assert r.overdue
    assert r.order_by_days == 0.0
    assert r.drivers == ("A", "B")
    assert r.unknown_devices == ("X",)


def test_drum_covered() -> None:
    # lead time 14: need at 10 (D) -> demand 1; position 2; 1 + 0 - 2 < 0 -> order 0.
    # Needs within 14 + 90 days: 10 (D), 50 (A): index 2 does not exist -> no order-by date in the horizon.
    r = recommend(DRUM, FLEET)
    assert (r.quantity, r.order_by_days, r.overdue) == (0, None, False)
    assert r.drivers == ("D",)


def test_waste_box_order_later() -> None:
    # lead time 10: no need before day 25 -> demand 0, order 0 now; nothing on the shelf, so the first need
    # (index 0, day 25) sets the date: order by 25 - 10 = day 15.
    r = recommend(WASTE, FLEET)
    assert r.quantity == 0
    assert r.order_by_days == pytest.approx(15.0)
    assert not r.overdue
    assert r.drivers == ("E",)


def test_below_safety_stock_is_overdue_even_without_demand() -> None:
    r = recommend(Part("P1", on_hand=0, safety_stock=2, lead_time_days=5), [])
    assert r.quantity == 2
    assert r.overdue
    assert r.order_by_days == 0.0


def test_most_urgent_first() -> None:
    assert [r.part_number for r in recommend_all([WASTE, DRUM, TONER], FLEET)] == ["TN-2420", "WT-300", "DR-2400"]


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"part_number": ""}, id="empty-part-number"),
        pytest.param({"part_number": "P", "on_hand": -1}, id="negative-on-hand"),
        pytest.param({"part_number": "P", "lead_time_days": -3}, id="negative-lead-time"),
    ],
)
def test_bad_part_is_rejected(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"\S"):
        Part(**kwargs)  # type: ignore[arg-type]
