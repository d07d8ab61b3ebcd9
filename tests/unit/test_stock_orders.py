"""Supply-order decisions: reorder point = needs within the lead time + safety stock; P3 only for a real shortage."""

from __future__ import annotations

import pytest

from collector.alerts import AlertState
from collector.stock.model import Part, UnitForecast
from collector.stock.orders import decide, event
from collector.stock.reorder import recommend

FLEET = [
    UnitForecast("A", "P", days_to_empty=2, days_per_unit=30),  # need at day 2
    UnitForecast("B", "P", days_to_empty=6, days_per_unit=30),  # need at day 6
    UnitForecast("C", "P", days_to_empty=20, days_per_unit=30),  # outside a 7-day lead time
]


@pytest.mark.parametrize(
    ("on_hand", "on_order", "safety", "expected"),
    [
        # needs within 7 days: 2 (A, B). Reorder point = 2 + safety.
        pytest.param(3, 0, 1, None, id="position-3-at-rop-3"),
        pytest.param(2, 0, 1, ("P4", 3, 1), id="covers-needs-not-safety-P4"),
        pytest.param(1, 0, 1, ("P3", 3, 2), id="one-printer-will-wait-P3"),
        pytest.param(0, 2, 0, None, id="on-order-counts-in-the-position"),
        pytest.param(0, 0, 0, ("P3", 2, 2), id="empty-shelf-P3"),
    ],
)
def test_decide(on_hand: int, on_order: int, safety: int, expected: tuple[str, int, int] | None) -> None:
    part = Part("P", "Toner", on_hand=on_hand, on_order=on_order, lead_time_days=7, safety_stock=safety)
    need = decide(part, recommend(part, FLEET))
    assert (None if need is None else (need.severity, need.reorder_point, need.quantity)) == expected


def test_event_is_a_supply_order_on_the_stock_device() -> None:
    part = Part("CF410A", "Black Cartridge", on_hand=0, lead_time_days=7, safety_stock=1)
    rec = recommend(part, [UnitForecast("hp-1", "CF410A", 3, 40)])
    need = decide(part, rec)
    assert need is not None
    ev = event(part, rec, need, AlertState.firing, 100.0, 100.0)
    assert (ev.device_id, ev.rule, ev.incident_type, ev.severity) == (
        "stock:CF410A",
        "stock_below_reorder_point",
        "supply_order",
        "P3",
    )
    assert ev.labels == (("part_number", "CF410A"),)
    assert ev.annotations["summary"] == "order 2 x CF410A (Black Cartridge): 0 on hand, 0 on order, reorder point 2"
    assert "hp-1" in ev.annotations["description"]
    assert ev.values["quantity"] == 2
