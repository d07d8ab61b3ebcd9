"""Stock records and the forecast figures reordering needs. Plain data, validated on construction."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Part:
    part_number: str
    description: str = ""
    on_hand: int = 0
    on_order: int = 0  # ordered, not yet received: expected within the lead time
    location: str | None = None
    lead_time_days: float = 7.0
    safety_stock: int = 0

    def __post_init__(self) -> None:
        if not self.part_number:
            raise ValueError("part_number is empty")
        for name in ("on_hand", "on_order", "safety_stock"):
            if getattr(self, name) < 0:
                raise ValueError(f"{self.part_number}: {name} is negative")
        if self.lead_time_days < 0:
            raise ValueError(f"{self.part_number}: lead_time_days is negative")


@dataclass(frozen=True, slots=True)
class UnitForecast:
    """One device's use of one part: when the installed unit runs out and how long a fresh one lasts there.

    ``days_to_empty`` None: no forecast (the device is listed as unknown
    demand, never silently counted as zero). ``days_per_unit`` None: only the
    installed unit's replacement is counted.
    """

    device_id: str
    part_number: str
    days_to_empty: float | None
    days_per_unit: float | None = None


@dataclass(frozen=True, slots=True)
class Recommendation:
    part_number: str
    quantity: int  # to order now to cover demand over the lead time plus safety stock
    order_by_days: float | None  # days from now by which to order to keep safety stock; None: not within the horizon
    overdue: bool  # the order-by date is already past: stock will dip into safety stock before a new order arrives
    demand_over_lead_time: int
    position: int  # on hand + on order
    drivers: tuple[str, ...]  # devices whose needs drive this, soonest first
    unknown_devices: tuple[str, ...] = field(default=())  # use the part but have no forecast
