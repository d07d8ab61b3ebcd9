"""The one contract between agent and collector.

Both sides import this module and nothing else to talk to each other, so a
change here is a protocol change: bump ``SCHEMA_VERSION`` and keep the
collector accepting the previous version for a release.

``DevicePoll`` is also the shape ``fleetwatch poll --json`` prints; the
README documents it field by field and ``tests/unit/test_wire.py`` pins it.

Conventions that users script against:
- enumerations are snake_case ASCII (``waste_toner``, ``door_open``);
- ``None`` means "the device did not report it", never zero;
- raw device values are kept (``level``/``capacity`` may be -1/-2/-3) and a
  ``state`` says what they mean, so nothing is lost and nothing invented.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1

#: First frame of every ZeroMQ message in either direction.
FRAME_MAGIC = b"FW1"


class _Model(BaseModel):
    # Unknown fields from a newer agent are ignored rather than rejected so a
    # collector can be upgraded after its agents.
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class DeviceKind(StrEnum):
    printer = "printer"
    network = "network"
    host = "host"
    storage = "storage"
    power = "power"
    other = "other"


class Device(_Model):
    """Identity of a polled device; static fields are refreshed less often."""

    address: str
    port: int = 161
    sys_name: str | None = None
    sys_descr: str | None = None
    sys_object_id: str | None = None
    sys_location: str | None = None
    sys_contact: str | None = None
    vendor: str | None = None
    model: str | None = None
    serial: str | None = None
    firmware: str | None = None
    kind: DeviceKind = DeviceKind.other
    uptime_s: float | None = None


class SupplyState(StrEnum):
    """What a supply's level means. Only ``ok`` comes with a ``percent``."""

    ok = "ok"  # numeric level and capacity: see percent
    unlimited = "unlimited"  # level -1: RFC 3805 "no restriction"
    unknown = "unknown"  # level -2, or capacity unusable
    some_remaining = "some_remaining"  # level -3: RFC 3805 "some remaining"
    # Vendor code states (Brother 0..3 and similar): no honest number exists.
    full = "full"
    low = "low"
    near_empty = "near_empty"
    empty = "empty"


class Supply(_Model):
    index: str  # table index as dotted text, e.g. "1.3"
    description: str
    part_number: str | None = None
    type: str  # prtMarkerSuppliesType, snake_case: toner, waste_toner, opc, fuser, ink, ...
    supply_class: Literal["consumed", "receptacle", "other"] = Field(
        "consumed", alias="class", serialization_alias="class"
    )
    color: str | None = None  # from prtMarkerColorantTable, lower case
    unit: str | None = None  # prtMarkerSuppliesSupplyUnit, snake_case
    capacity: int | None = None  # raw prtMarkerSuppliesMaxCapacity
    level: int | None = None  # raw prtMarkerSuppliesLevel
    percent: float | None = None  # level/capacity*100 (fill for receptacles); None unless state ok
    state: SupplyState = SupplyState.unknown


class TrayState(StrEnum):
    ok = "ok"
    empty = "empty"
    unlimited = "unlimited"  # -1
    unknown = "unknown"  # -2
    some_remaining = "some_remaining"  # -3: paper present, amount unknown


class Tray(_Model):
    index: str
    name: str | None = None
    capacity: int | None = None  # raw prtInputMaxCapacity
    level: int | None = None  # raw prtInputCurrentLevel
    percent: float | None = None
    state: TrayState = TrayState.unknown
    media: str | None = None
    kind: str | None = None  # prtInputType: sheet_feed_auto_removable_tray, sheet_feed_manual (bypass), ...


class Counters(_Model):
    """Page counters. ``total_pages`` is prtMarkerLifeCount of the first marker.

    Vendor counters (``color_pages``, ``mono_pages``, ``duplex_sheets``,
    ``copy_pages``, ``scan_pages`` ...) are extra fields, snake_case.
    """

    model_config = ConfigDict(extra="allow")
    total_pages: int | None = None
    unit: str | None = None  # prtMarkerCounterUnit: impressions, sheets, ...


class Alert(_Model):
    index: str
    severity: str  # other, critical, warning, warning_binary_change_event
    training_level: str | None = None
    group: str | None = None  # prtAlertGroup: input, output, marker_supplies, cover, ...
    group_index: int | None = None
    location: int | None = None
    code: str | None = None  # prtAlertCode: jam, door_open, marker_supply_missing, ...
    code_number: int | None = None
    description: str | None = None
    time_ticks: int | None = None


class PrinterStatus(_Model):
    printer_status: str | None = None  # hrPrinterStatus: other, unknown, idle, printing, warmup
    device_status: str | None = None  # hrDeviceStatus: unknown, running, warning, testing, down
    error_flags: list[str] = Field(default_factory=list)  # hrPrinterDetectedErrorState bit names
    alerts: list[Alert] = Field(default_factory=list)
    console_text: str | None = None


class Interface(_Model):
    index: int
    name: str | None = None
    alias: str | None = None
    descr: str | None = None
    type: str | None = None
    mac: str | None = None
    mtu: int | None = None
    admin_status: str | None = None  # up, down, testing
    oper_status: str | None = None  # up, down, testing, unknown, dormant, not_present, lower_layer_down
    speed_bps: int | None = None
    counter_bits: Literal[32, 64] | None = None
    in_octets: int | None = None
    out_octets: int | None = None
    in_ucast_pkts: int | None = None
    out_ucast_pkts: int | None = None
    in_errors: int | None = None
    out_errors: int | None = None
    in_discards: int | None = None
    out_discards: int | None = None


class Sensor(_Model):
    kind: str  # temperature, fan, voltage, current, power, humidity, battery_charge, runtime, state, ...
    name: str
    value: float | None = None
    unit: str | None = None  # celsius, rpm, volt, ampere, watt, percent, second, ...
    status: str | None = None  # ok, warning, critical, ... where the device reports one
    index: str | None = None


class Disk(_Model):
    mount: str
    device: str | None = None
    fstype: str | None = None
    total_bytes: int | None = None
    used_bytes: int | None = None
    percent: float | None = None


class Host(_Model):
    cpu_percent: float | None = None
    cpu_count: int | None = None
    cpu_per_core: list[float] = Field(default_factory=list)
    load_1m: float | None = None
    memory_total_bytes: int | None = None
    memory_used_bytes: int | None = None
    memory_percent: float | None = None
    swap_total_bytes: int | None = None
    swap_used_bytes: int | None = None
    swap_percent: float | None = None
    processes: int | None = None
    uptime_s: float | None = None  # the operating system's uptime (hrSystemUptime / boot time), not the SNMP agent's
    disks: list[Disk] = Field(default_factory=list)
    services: dict[str, str] = Field(default_factory=dict)  # name -> running / stopped / missing


class ProbeError(_Model):
    probe: str
    message: str


class DevicePoll(_Model):
    """One device polled once: what ``fleetwatch poll --json`` prints."""

    v: int = SCHEMA_VERSION
    device_id: str  # the agent's name for the target; the collector's key
    ts: float  # poll start, Unix seconds
    duration_s: float = 0.0
    reachable: bool = True
    labels: dict[str, str] = Field(default_factory=dict)
    parent: str | None = None  # device_id this one sits behind (dependency suppression)
    device: Device
    supplies: list[Supply] = Field(default_factory=list)
    trays: list[Tray] = Field(default_factory=list)
    counters: Counters = Field(default_factory=Counters)
    printer_status: PrinterStatus | None = None
    interfaces: list[Interface] = Field(default_factory=list)
    sensors: list[Sensor] = Field(default_factory=list)
    host: Host | None = None
    errors: list[ProbeError] = Field(default_factory=list)


class InventoryEvent(_Model):
    """A device the agent's scheduled rediscovery found or lost (additive: older collectors ignore it).

    ``event`` says what happened; ``kind`` is the device kind, as in ``Device``.
    """

    event: Literal["discovered", "vanished"]
    address: str
    port: int = 161
    sys_name: str | None = None
    sys_object_id: str | None = None
    vendor: str | None = None
    model: str | None = None
    kind: DeviceKind = DeviceKind.other
    ts: float


class Batch(_Model):
    """What an agent sends: a batch of polls (and inventory events), acknowledged as one."""

    v: int = SCHEMA_VERSION
    batch_id: str  # unique per batch; the collector drops a batch id it already stored
    agent_id: str
    seq: int = 0
    sent_at: float
    dropped_before: int = 0  # batches the agent's full spool had to drop so far (never silent)
    polls: list[DevicePoll]
    events: list[InventoryEvent] = Field(default_factory=list)  # may come with no polls


class AckStatus(StrEnum):
    stored = "stored"  # durably committed
    duplicate = "duplicate"  # already stored earlier; the agent may forget it
    rejected = "rejected"  # invalid; resending will not help


class Ack(_Model):
    v: int = SCHEMA_VERSION
    batch_id: str | None
    status: AckStatus
    error: str | None = None


def encode_batch(batch: Batch) -> bytes:
    return batch.model_dump_json(by_alias=True).encode()


def decode_batch(payload: bytes) -> Batch:
    """Raises ``pydantic.ValidationError`` (a ``ValueError``) on anything malformed."""
    return Batch.model_validate_json(payload)


def encode_ack(ack: Ack) -> bytes:
    return ack.model_dump_json().encode()


def decode_ack(payload: bytes) -> Ack:
    return Ack.model_validate_json(payload)


def poll_to_json(poll: DevicePoll, *, indent: bool = True) -> str:
    return poll.model_dump_json(by_alias=True, indent=2 if indent else None)
