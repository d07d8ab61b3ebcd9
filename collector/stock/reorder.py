"""Reorder arithmetic: forecasts of every device using a part against what is on the shelf.

For each part, every device using it needs a unit when its installed one
runs out, then again every ``days_per_unit``. Over the lead time that is the
demand; demand + safety stock - (on hand + on order) is what to order now.
The order-by date is when the first unit that would eat into the safety
stock is needed, minus the lead time. Pure: ``now`` is not even needed,
everything is in days from now.
"""

from __future__ import annotations

from collections.abc import Iterable

from collector.stock.model import Part, Recommendation, UnitForecast


def need_events(f: UnitForecast, horizon_days: float) -> list[float]:
    """Days from now at which this device needs a new unit, up to the horizon."""
    if f.days_to_empty is None:
        return []
    out: list[float] = []
    day = max(f.days_to_empty, 0.0)
    while day <= horizon_days:
        out.append(day)
        if not f.days_per_unit or f.days_per_unit <= 0:
            break
        day += f.days_per_unit
    return out


def recommend(part: Part, forecasts: Iterable[UnitForecast], planning_days: float = 90.0) -> Recommendation:
    uses = [f for f in forecasts if f.part_number == part.part_number]
    lt = part.lead_time_days
    horizon = lt + planning_days
    events = sorted((day, f.device_id) for f in uses for day in need_events(f, horizon))
    in_lt = [e for e in events if e[0] <= lt]
    position = part.on_hand + part.on_order
    quantity = max(0, len(in_lt) + part.safety_stock - position)

    # The (position - safety_stock)-th need (0-based) is the first one stock cannot meet without the safety stock.
    k = position - part.safety_stock
    order_by: float | None
    if k < 0:
        order_by = -lt  # already below safety stock: it should have been ordered a lead time ago
    elif k < len(events):
        order_by = events[k][0] - lt
    else:
        order_by = None
    overdue = order_by is not None and order_by < 0
    if order_by is not None:
        order_by = max(order_by, 0.0)

    trigger = events[: k + 1] if 0 <= k < len(events) else []
    drivers = tuple(dict.fromkeys(dev for _, dev in sorted(set(in_lt) | set(trigger))))
    unknown = tuple(sorted({f.device_id for f in uses if f.days_to_empty is None}))
    return Recommendation(
        part_number=part.part_number,
        quantity=quantity,
        order_by_days=order_by,
        overdue=overdue,
        demand_over_lead_time=len(in_lt),
        position=position,
        drivers=drivers,
        unknown_devices=unknown,
    )


def recommend_all(
    parts: Iterable[Part], forecasts: Iterable[UnitForecast], planning_days: float = 90.0
) -> list[Recommendation]:
    """One recommendation per part, most urgent first (overdue, then soonest order-by, then no date)."""
    fc = list(forecasts)
    recs = [recommend(p, fc, planning_days) for p in parts]
    return sorted(recs, key=lambda r: (not r.overdue, r.order_by_days is None, r.order_by_days or 0.0, r.part_number))
