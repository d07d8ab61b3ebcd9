"""Turns a ``DevicePoll`` into named readings: the collector's one vocabulary.

Storage keeps the numeric readings as time series, the rules engine matches
conditions against all of them (numeric and text), the API and reports read
them back by the same names. Metric names and label keys are snake_case and
never renamed without a migration (see README, "Metrics").

Mapping is table-driven where the shape is regular (host/interface fields)
so adding a field is one line, not new code.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.wire import Counters, DevicePoll

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
    """All readings of one poll, in a fixed order.

    Hot path of the collector (every poll of every device): labels are built once per supply, tray,
    interface... and shared by that object's readings, and constant label sets are built once at import.
    """
    out: list[Reading] = []
    add = out.append

    def r(metric: str, value: float | str | None, labels: Labels = ()) -> None:
        if value is not None:
            add(Reading(metric, labels, value if isinstance(value, str) else float(value)))

    r("up", 1 if poll.reachable else 0)
    r("poll_duration_seconds", poll.duration_s)
    r("poll_errors", len(poll.errors))
    if not poll.reachable:
        return out
    r("uptime_seconds", poll.device.uptime_s)

    for s in poll.supplies:
        lab = labels_of(
            supply=s.index,
            type=s.type,
            **{"class": s.supply_class},
            color=s.color,
            description=s.description,
            part_number=s.part_number,
        )
        r("supply_percent", s.percent, lab)
        r("supply_level", s.level if (s.level is not None and s.level >= 0) else None, lab)
        r("supply_state", s.state.value, lab)

    for t in poll.trays:
        lab = labels_of(tray=t.index, name=t.name, kind=t.kind)
        r("tray_percent", t.percent, lab)
        r("tray_level", t.level if (t.level is not None and t.level >= 0) else None, lab)
        r("tray_state", t.state.value, lab)

    counters = poll.counters
    # Same order as model_dump(exclude={"unit"}): declared fields, then the vendor extras.
    for name, value in (*((f, getattr(counters, f)) for f in _COUNTER_FIELDS), *(counters.model_extra or {}).items()):
        if isinstance(value, int | float) and not isinstance(value, bool):
            r("page_count", value, _counter_labels(name))

    ps = poll.printer_status
    if ps is not None:
        r("printer_status", ps.printer_status)
        r("device_status", ps.device_status)
        flags = set(ps.error_flags)
        for flag, lab in _FLAG_LABELS:
            r("printer_error", 1 if flag in flags else 0, lab)
        for flag in sorted(flags - _KNOWN_FLAGS):
            r("printer_error", 1, labels_of(flag=flag))
        for a in ps.alerts:
            r(
                "printer_alert",
                1,
                labels_of(alert=a.index, code=a.code, group=a.group, severity=a.severity, description=a.description),
            )
        r("printer_alerts", len(ps.alerts))

    for i in poll.interfaces:
        lab = labels_of(ifindex=i.index, ifname=i.name or i.descr)
        r("if_admin_status", i.admin_status, lab)
        r("if_oper_status", i.oper_status, lab)
        r("if_oper_up", None if i.oper_status is None else int(i.oper_status == "up"), lab)
        r("if_speed_bps", i.speed_bps, lab)
        for field, metric in _INTERFACE_COUNTER_METRICS:
            r(metric, getattr(i, field), lab)

    for s in poll.sensors:
        lab = labels_of(kind=s.kind, name=s.name, unit=s.unit, sensor=s.index)
        r("sensor_value", s.value, lab)
        r("sensor_status", s.status, lab)

    h = poll.host
    if h is not None:
        for field, metric in _HOST_GAUGE_METRICS:
            r(metric, getattr(h, field))
        for d in h.disks:
            lab = labels_of(mount=d.mount, fstype=d.fstype)
            r("disk_used_percent", d.percent, lab)
            r("disk_used_bytes", d.used_bytes, lab)
            r("disk_total_bytes", d.total_bytes, lab)
        for name, state in h.services.items():
            lab = labels_of(service=name)
            r("service_state", state, lab)
            r("service_up", int(state == "running"), lab)
    return out


_COUNTER_FIELDS = tuple(k for k in Counters.model_fields if k != "unit")
_INTERFACE_COUNTER_METRICS = tuple((f, f"if_{f}") for f in _INTERFACE_COUNTERS)
_HOST_GAUGE_METRICS = tuple((f, f"host_{f}") for f in _HOST_GAUGES)
_FLAG_LABELS = tuple((flag, labels_of(flag=flag)) for flag in PRINTER_ERROR_FLAGS)
_KNOWN_FLAGS = frozenset(PRINTER_ERROR_FLAGS)
_COUNTER_LABELS: dict[str, Labels] = {}


def _counter_labels(name: str) -> Labels:
    lab = _COUNTER_LABELS.get(name)
    if lab is None:
        lab = _COUNTER_LABELS[name] = labels_of(counter=name)
    return lab
