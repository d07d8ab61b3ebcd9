"""From stored forecasts and stock to purchase recommendations and supply-order alerts.

The reorder point of a part is the units the fleet needs within the supplier
lead time plus the safety stock; stock *position* is on hand + on order.
Position below the reorder point is a supply-order alert (one per part,
device id ``stock:<part>``, incident type ``supply_order``):

- P3 when the position does not even cover the needs within the lead time
  (a device will wait for a cartridge);
- P4 when it only dips into the safety stock.

It resolves when the position is back at or above the reorder point
(received, ordered, or needs moved out). ``decide`` is pure; ``evaluate``
reads the database.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime

from collector.alerts import AlertEvent, AlertState, Severity
from collector.forecast.store import forecast_rows
from collector.stock.model import Part, Recommendation, UnitForecast
from collector.stock.reorder import recommend
from collector.stock.store import StockPart, list_parts

DAY = 86400.0
RULE = "stock_below_reorder_point"


def device_id(part_number: str) -> str:
    return f"stock:{part_number}"


def unit_forecasts(db: sqlite3.Connection, now: float) -> list[UnitForecast]:
    """Every stored forecast as a reorder input; days counted from ``now``."""
    out = []
    for dev, _supply, part, empty_at, dpu in forecast_rows(db):
        if part:
            days = None if empty_at is None else max(0.0, (empty_at - now) / DAY)
            out.append(UnitForecast(dev, part, days, dpu))
    return out


def evaluate(db: sqlite3.Connection, now: float, planning_days: float = 90.0) -> list[tuple[StockPart, Recommendation]]:
    """Recommendations for every managed part, in part-number order."""
    fc = unit_forecasts(db, now)
    return [(sp, recommend(sp.part, fc, planning_days)) for sp in list_parts(db, managed_only=True)]


def reorder_point(part: Part, rec: Recommendation) -> int:
    return rec.demand_over_lead_time + part.safety_stock


@dataclass(frozen=True)
class OrderNeed:
    severity: Severity
    reorder_point: int
    quantity: int


def decide(part: Part, rec: Recommendation) -> OrderNeed | None:
    """The alert a part's stock calls for, or None when the position covers the reorder point."""
    rp = reorder_point(part, rec)
    if rec.position >= rp:
        return None
    severity: Severity = "P3" if rec.position < rec.demand_over_lead_time else "P4"
    return OrderNeed(severity, rp, max(rec.quantity, rp - rec.position))


def _date(now: float, days: float | None) -> str | None:
    return None if days is None else datetime.fromtimestamp(now + days * DAY, UTC).date().isoformat()


def event(
    part: Part, rec: Recommendation, need: OrderNeed | None, state: AlertState, since: float, now: float
) -> AlertEvent:
    """The supply-order ``AlertEvent`` handed to ``IncidentService.handle``."""
    rp = need.reorder_point if need else reorder_point(part, rec)
    qty = need.quantity if need else 0
    name = f"{part.part_number} ({part.description})" if part.description else part.part_number
    drivers = ", ".join(rec.drivers) or "safety stock only"
    order_by = _date(now, rec.order_by_days)
    return AlertEvent(
        state=state,
        rule=RULE,
        device_id=device_id(part.part_number),
        labels=(("part_number", part.part_number),),
        severity=need.severity if need else "P4",
        at=now,
        since=since,
        annotations={
            "summary": f"order {qty} x {name}: {part.on_hand} on hand, {part.on_order} on order, reorder point {rp}",
            "description": (
                f"{rec.demand_over_lead_time} unit(s) needed within the {part.lead_time_days:g}-day lead time "
                f"(devices: {drivers}); safety stock {part.safety_stock}."
                + (f" Order by {order_by}." if order_by else "")
                + (" The order-by date has passed." if rec.overdue else "")
            ),
            "runbook": "Order the quantity from the supplier, then `fleetwatch stock set PART --on-order N`; "
            "on delivery `fleetwatch stock receive PART N`. `fleetwatch reorder` lists every part to order.",
        },
        values={
            "on_hand": part.on_hand,
            "on_order": part.on_order,
            "reorder_point": rp,
            "quantity": qty,
            "demand_over_lead_time": rec.demand_over_lead_time,
            "safety_stock": part.safety_stock,
            "lead_time_days": part.lead_time_days,
        },
        incident_type="supply_order",
    )
