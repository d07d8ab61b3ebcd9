"""Turns a ``DevicePoll`` into named readings: the collector's one vocabulary.

Storage keeps the numeric readings as time series, the rules engine matches
conditions against all of them (numeric and text), the API and reports read
them back by the same names. Metric names and label keys are snake_case and
never renamed without a migration (see README, "Metrics").

Mapping is table-driven where the shape is regular (host/interface fields)
so adding a field is one line, not new code.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from agent.wire import DevicePoll

Labels = tuple[tuple[str, str], ...]

#: hrPrinterDetectedErrorState bit names in bit order (RFC 3805 / RFC 2790 + RFC 3805 extension).
PRINTER_ERROR_FLAGS: tuple[str, ...] = (
    "low_paper",
    "no_paper",
    "low_toner",
    "no_toner",
    "door_open",
    "jammed",
    "offline",
    "service_requested",
    "input_tray_missing",
    "output_tray_missing",
    "marker_supply_missing",
    "output_near_full",
    "output_full",
    "input_tray_empty",
    "overdue_prevent_maint",
)


@dataclass(frozen=True, slots=True)
class Reading:
    metric: str
    labels: Labels
    value: float | str

    @property
    def is_numeric(self) -> bool:
        return not isinstance(self.value, str)

    def label(self, key: str) -> str | None:
        for k, v in self.labels:
            if k == key:
                return v
        return None


def labels_of(**kv: object) -> Labels:
    """Canonical label tuple: sorted, ``None`` values left out, all text."""
    return tuple(sorted((k, str(v)) for k, v in kv.items() if v is not None))


_INTERFACE_COUNTERS = (
    "in_octets",
    "out_octets",
    "in_ucast_pkts",
    "out_ucast_pkts",
    "in_errors",
    "out_errors",
    "in_discards",
    "out_discards",
)
_HOST_GAUGES = (
    "cpu_percent",
    "load_1m",
    "memory_total_bytes",
    "memory_used_bytes",
    "memory_percent",
    "swap_total_bytes",
    "swap_used_bytes",
    "swap_percent",
    "processes",
    "uptime_s",
)


def flatten(poll: DevicePoll) -> list[Reading]:
    return list(_iter_readings(poll))


def _iter_readings(poll: DevicePoll) -> Iterator[Reading]:
    def r(metric: str, value: float | str | None, **labels: object) -> Iterator[Reading]:
        if value is not None:
            yield Reading(metric, labels_of(**labels), value if isinstance(value, str) else float(value))

    yield from r("up", 1 if poll.reachable else 0)
    yield from r("poll_duration_seconds", poll.duration_s)
    yield from r("poll_errors", len(poll.errors))
    if not poll.reachable:
        return
    yield from r("uptime_seconds", poll.device.uptime_s)

    for s in poll.supplies:
        lab = {
            "supply": s.index,
            "type": s.type,
            "class": s.supply_class,
            "color": s.color,
            "description": s.description,
            "part_number": s.part_number,
        }
        yield from r("supply_percent", s.percent, **lab)
        yield from r("supply_level", s.level if (s.level is not None and s.level >= 0) else None, **lab)
        yield from r("supply_state", s.state.value, **lab)

    for t in poll.trays:
        lab = {"tray": t.index, "name": t.name, "kind": t.kind}
        yield from r("tray_percent", t.percent, **lab)
        yield from r("tray_level", t.level if (t.level is not None and t.level >= 0) else None, **lab)
        yield from r("tray_state", t.state.value, **lab)

    counters = poll.counters.model_dump(exclude={"unit"})
    for name, value in counters.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            yield from r("page_count", value, counter=name)

    ps = poll.printer_status
    if ps is not None:
        yield from r("printer_status", ps.printer_status)
        yield from r("device_status", ps.device_status)
        flags = set(ps.error_flags)
        for flag in PRINTER_ERROR_FLAGS:
            yield from r("printer_error", 1 if flag in flags else 0, flag=flag)
        for flag in sorted(flags - set(PRINTER_ERROR_FLAGS)):
            yield from r("printer_error", 1, flag=flag)
        for a in ps.alerts:
            yield from r(
                "printer_alert",
                1,
                alert=a.index,
                code=a.code,
                group=a.group,
                severity=a.severity,
                description=a.description,
            )
        yield from r("printer_alerts", len(ps.alerts))

    for i in poll.interfaces:
        lab = {"ifindex": i.index, "ifname": i.name or i.descr}
        yield from r("if_admin_status", i.admin_status, **lab)
        yield from r("if_oper_status", i.oper_status, **lab)
        yield from r("if_oper_up", None if i.oper_status is None else int(i.oper_status == "up"), **lab)
        yield from r("if_speed_bps", i.speed_bps, **lab)
        for field in _INTERFACE_COUNTERS:
            yield from r(f"if_{field}", getattr(i, field), **lab)

    for s in poll.sensors:
        lab = {"kind": s.kind, "name": s.name, "unit": s.unit, "sensor": s.index}
        yield from r("sensor_value", s.value, **lab)
        yield from r("sensor_status", s.status, **lab)

    h = poll.host
    if h is not None:
        for field in _HOST_GAUGES:
            yield from r(f"host_{field}", getattr(h, field))
        for d in h.disks:
            lab = {"mount": d.mount, "fstype": d.fstype}
            yield from r("disk_used_percent", d.percent, **lab)
            yield from r("disk_used_bytes", d.used_bytes, **lab)
            yield from r("disk_total_bytes", d.total_bytes, **lab)
        for name, state in h.services.items():
            yield from r("service_state", state, service=name)
            yield from r("service_up", int(state == "running"), service=name)
