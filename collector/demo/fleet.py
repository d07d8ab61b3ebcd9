"""A fleet of simulated devices whose SNMP answers change while snmpsim serves them.

Why files and not snmpsim variation modules: snmpsim 1.2.2 compares a data
file's mtime with the one it indexed before every request
(``snmpsim/record/search/database.py``, ``RecordIndex.get_handles``) and
re-indexes when it differs. So one snmpsim process serves the whole fleet and
a device changes by atomically replacing its ``.snmprec`` (temp file +
``os.replace``). Two details make that robust:

- the mtime is compared in whole seconds (``os.stat()[8]``), so every write
  gets a strictly increasing whole-second mtime (it may run ahead of the
  clock when a device is written several times per second);
- a device whose file is missing makes snmpsim fail that request without
  answering, so ``take_offline`` (file moved aside) looks exactly like an
  unreachable device to a manager: a timeout. ``bring_online`` writes it back.

Known limit: if a write lands while snmpsim is re-indexing the previous
version (a few ms), snmpsim may serve a mismatched index until the next write
of that device; the demo writes every device again at the next tick.

Dynamics (``tick``) follow an office week: pages rise with ``office_pace(now)``,
supplies fall per page, receptacles fill (their level is the space left, RFC 3805
prtMarkerSuppliesLevel, so it falls too), trays empty and get refilled,
switch and host counters grow, sensors wander. Faults are explicit calls.
"""

from __future__ import annotations

import math
import os
import random
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from agent.simulator import Snmpsim, free_udp_port
from collector.series import PRINTER_ERROR_FLAGS

Oid = tuple[int, ...]
Scalar = int | str | bytes

# --- OIDs (numeric; MIB names beside them) -----------------------------------------------------
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"  # SNMPv2-MIB::sysUpTime
HR_SYSTEM_UPTIME = "1.3.6.1.2.1.25.1.1.0"  # HOST-RESOURCES-MIB::hrSystemUptime
HR_DEVICE_TYPE = "1.3.6.1.2.1.25.3.2.1.2"  # hrDeviceType
HR_DEVICE_STATUS = "1.3.6.1.2.1.25.3.2.1.5"  # hrDeviceStatus
HR_PRINTER_STATUS = "1.3.6.1.2.1.25.3.5.1.1"  # hrPrinterStatus
HR_PRINTER_ERRORS = "1.3.6.1.2.1.25.3.5.1.2"  # hrPrinterDetectedErrorState
HR_DEVICE_PRINTER = "1.3.6.1.2.1.25.3.1.5"  # hrDevicePrinter
HR_PROCESSOR_LOAD = "1.3.6.1.2.1.25.3.3.1.2"  # hrProcessorLoad
HR_STORAGE_DESCR = "1.3.6.1.2.1.25.2.3.1.3"  # hrStorageDescr
HR_STORAGE_SIZE = "1.3.6.1.2.1.25.2.3.1.5"  # hrStorageSize
HR_STORAGE_USED = "1.3.6.1.2.1.25.2.3.1.6"  # hrStorageUsed
PRT_LIFE_COUNT = "1.3.6.1.2.1.43.10.2.1.4"  # prtMarkerLifeCount
PRT_POWER_ON_COUNT = "1.3.6.1.2.1.43.10.2.1.5"  # prtMarkerPowerOnCount
PRT_INPUT_MAX = "1.3.6.1.2.1.43.8.2.1.9"  # prtInputMaxCapacity
PRT_INPUT_LEVEL = "1.3.6.1.2.1.43.8.2.1.10"  # prtInputCurrentLevel
PRT_SUPPLY_COLORANT = "1.3.6.1.2.1.43.11.1.1.3"  # prtMarkerSuppliesColorantIndex
PRT_SUPPLY_CLASS = "1.3.6.1.2.1.43.11.1.1.4"  # prtMarkerSuppliesClass
PRT_SUPPLY_TYPE = "1.3.6.1.2.1.43.11.1.1.5"  # prtMarkerSuppliesType
PRT_SUPPLY_UNIT = "1.3.6.1.2.1.43.11.1.1.7"  # prtMarkerSuppliesSupplyUnit
PRT_SUPPLY_MAX = "1.3.6.1.2.1.43.11.1.1.8"  # prtMarkerSuppliesMaxCapacity
PRT_SUPPLY_LEVEL = "1.3.6.1.2.1.43.11.1.1.9"  # prtMarkerSuppliesLevel
PRT_COLORANT_VALUE = "1.3.6.1.2.1.43.12.1.1.4"  # prtMarkerColorantValue
PRT_COVER_STATUS = "1.3.6.1.2.1.43.6.1.1.3"  # prtCoverStatus
PRT_CONSOLE_TEXT = "1.3.6.1.2.1.43.16.5.1.2"  # prtConsoleDisplayBufferText
PRT_ALERT = "1.3.6.1.2.1.43.18.1.1"  # prtAlertEntry (.2 severity .. .9 time)
IF_OPER_STATUS = "1.3.6.1.2.1.2.2.1.8"  # ifOperStatus
IF_LAST_CHANGE = "1.3.6.1.2.1.2.2.1.9"  # ifLastChange
IF_SPEED = "1.3.6.1.2.1.2.2.1.5"  # ifSpeed
IF_HIGH_SPEED = "1.3.6.1.2.1.31.1.1.1.15"  # ifHighSpeed
IF_IN_ERRORS = "1.3.6.1.2.1.2.2.1.14"  # ifInErrors
#: (32-bit ifTable column, 64-bit ifXTable column or None, share of octets)
IF_COUNTERS = (
    ("1.3.6.1.2.1.2.2.1.10", "1.3.6.1.2.1.31.1.1.1.6", "in_octets"),  # ifInOctets / ifHCInOctets
    ("1.3.6.1.2.1.2.2.1.16", "1.3.6.1.2.1.31.1.1.1.10", "out_octets"),  # ifOutOctets / ifHCOutOctets
    ("1.3.6.1.2.1.2.2.1.11", "1.3.6.1.2.1.31.1.1.1.7", "in_pkts"),  # ifInUcastPkts / ifHCInUcastPkts
    ("1.3.6.1.2.1.2.2.1.17", "1.3.6.1.2.1.31.1.1.1.11", "out_pkts"),  # ifOutUcastPkts / ifHCOutUcastPkts
)
ENT_SENSOR_VALUE = "1.3.6.1.2.1.99.1.1.1.4"  # ENTITY-SENSOR-MIB::entPhySensorValue
LM_TEMP_VALUE = "1.3.6.1.4.1.2021.13.16.2.1.3"  # LM-SENSORS-MIB::lmTempSensorsValue (milli-C)
UCD_LOAD_TEXT = "1.3.6.1.4.1.2021.10.1.3"  # UCD-SNMP-MIB::laLoad
UCD_LOAD_INT = "1.3.6.1.4.1.2021.10.1.5"  # laLoadInt
UCD_MEM_AVAIL_REAL = "1.3.6.1.4.1.2021.4.6.0"  # memAvailReal
UCD_MEM_TOTAL_REAL = "1.3.6.1.4.1.2021.4.5.0"  # memTotalReal
UCD_RAW_CPU = {50: 0.09, 52: 0.03, 53: 0.87}  # ssCpuRawUser / System / Idle: share of ticks

# --- Printer-MIB / HOST-RESOURCES enumerations -----------------------------------------------
DEVICE_RUNNING, DEVICE_WARNING, DEVICE_DOWN = 2, 3, 5  # hrDeviceStatus
PRINTER_OTHER, PRINTER_IDLE, PRINTER_PRINTING = 1, 3, 4  # hrPrinterStatus
COVER_OPEN, COVER_CLOSED = 3, 4  # prtCoverStatus
CLASS_CONSUMED, CLASS_RECEPTACLE = 3, 4  # prtMarkerSuppliesClass
UNIT_IMPRESSIONS, UNIT_SHEETS, UNIT_PERCENT = 7, 8, 19  # prtMarkerSuppliesSupplyUnit
TONER, WASTE_TONER, INK, INK_CARTRIDGE, WASTE_INK, OPC, FUSER, TONER_CARTRIDGE = 3, 4, 5, 6, 8, 9, 15, 21
MARKING_TYPES = frozenset({TONER, INK, INK_CARTRIDGE, TONER_CARTRIDGE})
#: prtAlertCode values used by the helpers (RFC 3805 PrtAlertCodeTC)
ALERT_CODES = {
    "jam": 8,
    "door_open": 501,
    "input_media_supply_empty": 808,
    "marker_toner_empty": 1101,
    "marker_ink_empty": 1102,
    "marker_toner_almost_empty": 1104,
    "marker_ink_almost_empty": 1105,
}
#: prtAlertGroup values (PrtAlertGroupTC)
ALERT_GROUPS = {"general_printer": 5, "cover": 6, "input": 8, "output": 9, "marker_supplies": 11, "media_path": 13}
SEVERITY_CRITICAL, SEVERITY_WARNING = 3, 4  # prtAlertSeverityLevel
#: hrPrinterDetectedErrorState bits that stop the printer (RFC 3805 2.2.13.2: critical -> down/other).
CRITICAL_FLAGS = frozenset(
    {
        "no_paper",
        "no_toner",
        "door_open",
        "jammed",
        "offline",
        "input_tray_missing",
        "output_tray_missing",
        "marker_supply_missing",
        "output_full",
    }
)
SUPPLY_LOW_PERCENT = 10.0
_INT_TAGS = {"2", "65", "66", "67", "70"}


def _plain(text: str) -> bool:
    """Text snmpsim can serve unescaped (it reads files as Latin-1; '|' separates fields)."""
    return text.isascii() and text.isprintable() and "|" not in text


def parse_oid(text: str) -> Oid:
    return tuple(int(p) for p in text.strip(".").split("."))


def oid_text(oid: Oid) -> str:
    return ".".join(map(str, oid))


class FleetError(Exception):
    """A request the fleet cannot honour (unknown device, OID absent from the recording...)."""


# --- one .snmprec, editable ----------------------------------------------------------------------
@dataclass
class _Line:
    tag: str
    value: str
    comments: list[str] = field(default_factory=list)


class SnmprecFile:
    """An ``.snmprec`` held in memory: comments kept, records written back sorted by OID."""

    def __init__(self, header: list[str], records: dict[Oid, _Line]) -> None:
        self.header = header
        self.records = records

    @classmethod
    def parse(cls, text: str) -> SnmprecFile:
        header: list[str] = []
        records: dict[Oid, _Line] = {}
        pending: list[str] = []
        for raw in text.splitlines():
            if not raw.strip() or raw.startswith("#"):
                (pending if records else header).append(raw)
                continue
            oid, tag, value = raw.split("|", 2)
            records[parse_oid(oid)] = _Line(tag, value, pending)
            pending = []
        header.extend(pending)
        return cls(header, records)

    def render(self) -> str:
        out = list(self.header)
        for oid in sorted(self.records):
            line = self.records[oid]
            out.extend(line.comments)
            out.append(f"{oid_text(oid)}|{line.tag}|{line.value}")
        return "\n".join(out) + "\n"

    def has(self, oid: str | Oid) -> bool:
        return (parse_oid(oid) if isinstance(oid, str) else oid) in self.records

    def get(self, oid: str | Oid) -> Scalar | None:
        """Decoded value: ``int`` for integer types, ``bytes`` for OCTET STRING, ``str`` otherwise."""
        line = self.records.get(parse_oid(oid) if isinstance(oid, str) else oid)
        if line is None:
            return None
        base = line.tag.split(":")[0]
        if base in _INT_TAGS:
            return int(line.value)
        if base == "4x":
            return bytes.fromhex(line.value)
        if base == "4":
            return line.value.encode("latin-1")
        return line.value

    def integer(self, oid: str | Oid, default: int = 0) -> int:
        value = self.get(oid)
        return value if isinstance(value, int) else default

    def set(self, oid: str | Oid, value: Scalar, tag: str | None = None) -> None:
        key = parse_oid(oid) if isinstance(oid, str) else oid
        line = self.records.get(key)
        if tag is None:
            if line is None:
                tag = "2" if isinstance(value, int) else "4x" if isinstance(value, bytes) else "4"
            else:
                tag = line.tag
        if isinstance(value, bytes) or (tag == "4x" and isinstance(value, str)):
            data = value if isinstance(value, bytes) else value.encode("utf-8")
            tag, text = "4x", data.hex()
        elif tag == "4" and isinstance(value, str) and not _plain(value):
            tag, text = "4x", value.encode("utf-8").hex()
        else:
            text = str(value)
        if line is None:
            self.records[key] = _Line(tag, text)
        else:
            line.tag, line.value = tag, text

    def delete(self, oid: str | Oid) -> None:
        self.records.pop(parse_oid(oid) if isinstance(oid, str) else oid, None)

    def column(self, column: str) -> dict[Oid, Scalar | None]:
        """``{index suffix: value}`` of one table column, in OID order."""
        prefix = parse_oid(column)
        n = len(prefix)
        return {k[n:]: self.get(k) for k in sorted(self.records) if k[:n] == prefix and len(k) > n}


# --- pure dynamics helpers ------------------------------------------------------------------------
def office_pace(now: datetime) -> float:
    """Share of peak printing at ``now``: weekday office hours, a lunch dip, quiet nights and weekends."""
    if now.weekday() >= 5:
        return 0.02
    h = now.hour + now.minute / 60
    if h < 7 or h >= 20:
        return 0.01
    if h < 8:
        return 0.3
    if 12 <= h < 13:
        return 0.5
    if h < 17:
        return 1.0
    return 0.25


def encode_error_flags(flags: Iterable[str], min_bytes: int = 1) -> bytes:
    """hrPrinterDetectedErrorState: bit 0 is the MSB of the first octet (RFC 3805 2.2.13.3)."""
    data = bytearray(max(1, min_bytes))
    for name in flags:
        bit = PRINTER_ERROR_FLAGS.index(name)
        if bit // 8 >= len(data):
            data.extend(b"\0" * (bit // 8 + 1 - len(data)))
        data[bit // 8] |= 0x80 >> (bit % 8)
    return bytes(data)


def decode_error_flags(data: bytes) -> list[str]:
    return [
        name
        for bit, name in enumerate(PRINTER_ERROR_FLAGS)
        if bit // 8 < len(data) and data[bit // 8] & (0x80 >> bit % 8)
    ]


def status_for(flags: Iterable[str], printing: bool) -> tuple[int, int]:
    """(hrDeviceStatus, hrPrinterStatus) a printer reports with these error bits (RFC 3805 2.2.13.2)."""
    flags = set(flags)
    if flags & CRITICAL_FLAGS:
        return DEVICE_DOWN, PRINTER_OTHER
    activity = PRINTER_PRINTING if printing else PRINTER_IDLE
    return (DEVICE_WARNING if flags else DEVICE_RUNNING), activity


@dataclass(frozen=True)
class PrinterProfile:
    """How busy a printer is at full office pace, and what one page costs."""

    pages_per_hour: float = 40.0
    colour_share: float = 0.35  # share of pages using colour toner (colour devices only)
    #: pages one full supply lasts when its unit is not pages (percent, grams, ...); receptacles: pages to fill
    yields: tuple[tuple[int, int], ...] = (
        (TONER, 2_500),
        (TONER_CARTRIDGE, 2_500),
        (INK, 1_100),
        (INK_CARTRIDGE, 1_100),
        (OPC, 30_000),
        (FUSER, 150_000),
        (WASTE_TONER, 25_000),
        (WASTE_INK, 6_000),
    )

    def yield_pages(self, supply_type: int) -> int:
        return dict(self.yields).get(supply_type, 50_000)


#: Demo printers by recording stem; other recordings get the default profile.
PROFILES: dict[str, PrinterProfile] = {
    "hp-clj-m477": PrinterProfile(pages_per_hour=45, colour_share=0.4),
    "brother-hl-l5100dn": PrinterProfile(pages_per_hour=60),
    "kyocera-taskalfa-2553ci": PrinterProfile(pages_per_hour=120, colour_share=0.3),
    "lexmark-ms621dn": PrinterProfile(pages_per_hour=90),
    "epson-wf-c5790": PrinterProfile(pages_per_hour=25, colour_share=0.6),
}


# --- one simulated device -------------------------------------------------------------------------
class SimulatedDevice:
    """One recording being served: its in-memory state, its file, its dynamics."""

    def __init__(self, name: str, path: Path, data: SnmprecFile, rng: random.Random) -> None:
        self.name = name
        self.path = path
        self.data = data
        self.rng = rng
        self.online = True
        #: Copies served on the device's own endpoint with community "public" (see SimulatedFleet.own_addresses).
        self.mirrors: list[Path] = []
        self.profile = PROFILES.get(name, PrinterProfile())
        self._mtime = 0
        self._page_acc = 0.0
        self._supply_acc: dict[Oid, float] = {}
        self._sensor_base = {k: v for k, v in data.column(ENT_SENSOR_VALUE).items() if isinstance(v, int)}
        self._lm_base = {k: v for k, v in data.column(LM_TEMP_VALUE).items() if isinstance(v, int)}
        self._load_base = {k: v for k, v in data.column(HR_PROCESSOR_LOAD).items() if isinstance(v, int)}
        self.printer_index = self._find_printer()

    def _find_printer(self) -> int | None:
        for idx, typ in self.data.column(HR_DEVICE_TYPE).items():
            if typ == HR_DEVICE_PRINTER:
                return idx[0]
        return 1 if self.data.column(PRT_SUPPLY_LEVEL) else None

    @property
    def is_printer(self) -> bool:
        return self.printer_index is not None

    # -- files
    def write(self) -> None:
        """Atomically replace the served file with a strictly newer whole-second mtime (see module doc)."""
        if not self.online:
            return
        text = self.data.render()
        self._mtime = max(int(time.time()), self._mtime + 1)
        for path in (self.path, *self.mirrors):
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_text(text, encoding="latin-1")
            os.utime(tmp, (self._mtime, self._mtime))
            os.replace(tmp, path)

    @property
    def offline_path(self) -> Path:
        return self.path.with_name(self.path.name + ".offline")

    # -- printer state
    def error_flags(self) -> list[str]:
        raw = self.data.get(f"{HR_PRINTER_ERRORS}.{self.printer_index}")
        return decode_error_flags(raw) if isinstance(raw, bytes) else []

    def set_error_flags(self, flags: Iterable[str], *, printing: bool = False) -> None:
        flags = list(dict.fromkeys(flags))
        unknown = [f for f in flags if f not in PRINTER_ERROR_FLAGS]
        if unknown:
            raise FleetError(f"unknown hrPrinterDetectedErrorState bit(s) {unknown}; known: {PRINTER_ERROR_FLAGS}")
        oid = f"{HR_PRINTER_ERRORS}.{self.printer_index}"
        old = self.data.get(oid)
        self.data.set(oid, encode_error_flags(flags, len(old) if isinstance(old, bytes) else 1), "4x")
        device_status, printer_status = status_for(flags, printing)
        self.data.set(f"{HR_DEVICE_STATUS}.{self.printer_index}", device_status)
        self.data.set(f"{HR_PRINTER_STATUS}.{self.printer_index}", printer_status)

    def alerts(self) -> dict[int, dict[str, Scalar | None]]:
        """``{alert index: {"severity", "group", "group_index", "code", "description"}}``."""
        names = {2: "severity", 4: "group", 5: "group_index", 7: "code", 8: "description"}
        rows: dict[int, dict[str, Scalar | None]] = {}
        for col, name in names.items():
            for idx, value in self.data.column(f"{PRT_ALERT}.{col}").items():
                if idx[0] == self.printer_index:
                    rows.setdefault(idx[1], {})[name] = value
        return rows

    def add_alert(
        self,
        code: int | str,
        *,
        group: int | str,
        group_index: int = 1,
        severity: int = SEVERITY_WARNING,
        description: str = "",
        location: int = 0,
        training: int = 4,
    ) -> int:
        code = ALERT_CODES[code] if isinstance(code, str) else code
        group = ALERT_GROUPS[group] if isinstance(group, str) else group
        index = max(self.alerts(), default=0) + 1
        suffix = f"{self.printer_index}.{index}"
        for col, value in ((2, severity), (3, training), (4, group), (5, group_index), (6, location), (7, code)):
            self.data.set(f"{PRT_ALERT}.{col}.{suffix}", value, "2")
        self.data.set(f"{PRT_ALERT}.8.{suffix}", description, "4")
        self.data.set(f"{PRT_ALERT}.9.{suffix}", self.data.integer(SYS_UPTIME), "67")
        return index

    def clear_alerts(
        self, *, index: int | None = None, code: int | str | None = None, group_index: int | None = None
    ) -> list[int]:
        code = ALERT_CODES[code] if isinstance(code, str) else code
        removed = []
        for idx, row in self.alerts().items():
            if index is not None and idx != index:
                continue
            if code is not None and row.get("code") != code:
                continue
            if group_index is not None and row.get("group_index") != group_index:
                continue
            for col in range(1, 10):
                self.data.delete(f"{PRT_ALERT}.{col}.{self.printer_index}.{idx}")
            removed.append(idx)
        return removed

    def set_console(self, lines: list[str]) -> None:
        for idx in self.data.column(PRT_CONSOLE_TEXT):
            if idx[0] == self.printer_index:
                self.data.delete((*parse_oid(PRT_CONSOLE_TEXT), *idx))
        for n, text in enumerate(lines, 1):
            self.data.set(f"{PRT_CONSOLE_TEXT}.{self.printer_index}.{n}", text, "4")

    def set_cover(self, index: int, open_: bool) -> None:
        oid = f"{PRT_COVER_STATUS}.{self.printer_index}.{index}"
        if not self.data.has(oid):
            raise FleetError(f"{self.name}: no prtCoverStatus row {index}")
        self.data.set(oid, COVER_OPEN if open_ else COVER_CLOSED)

    # -- supplies and pages
    def supplies(self) -> dict[int, dict[str, int | str | None]]:
        """``{index: {"class", "type", "unit", "max", "level", "color"}}`` of the printer's marker supplies."""
        colours = {k[-1]: v for k, v in self.data.column(PRT_COLORANT_VALUE).items()}
        out: dict[int, dict[str, int | str | None]] = {}
        for idx, level in self.data.column(PRT_SUPPLY_LEVEL).items():
            i = idx[-1]
            sfx = oid_text(idx)
            colour = colours.get(self.data.integer(f"{PRT_SUPPLY_COLORANT}.{sfx}"))
            out[i] = {
                "class": self.data.integer(f"{PRT_SUPPLY_CLASS}.{sfx}"),
                "type": self.data.integer(f"{PRT_SUPPLY_TYPE}.{sfx}"),
                "unit": self.data.integer(f"{PRT_SUPPLY_UNIT}.{sfx}"),
                "max": self.data.integer(f"{PRT_SUPPLY_MAX}.{sfx}", -2),
                "level": level if isinstance(level, int) else None,
                "color": colour.decode("latin-1").lower() if isinstance(colour, bytes) else None,
            }
        return out

    def set_level(self, index: int, level: int) -> None:
        oid = f"{PRT_SUPPLY_LEVEL}.{self.printer_index}.{index}"
        if not self.data.has(oid):
            raise FleetError(f"{self.name}: no prtMarkerSuppliesLevel row {index}")
        self.data.set(oid, level)
        self._supply_acc.pop(parse_oid(oid), None)
        self._sync_supply_state()

    def replace_supply(self, index: int) -> None:
        """A technician's visit: the supply is new (a receptacle empty: all space left) and its alerts go away."""
        s = self.supplies().get(index)
        if s is None:
            raise FleetError(f"{self.name}: no supply {index}")
        full = s["max"] if isinstance(s["max"], int) and s["max"] > 0 else 100
        self.set_level(index, full)

    def _out_of_marking(self) -> bool:
        return any(
            s["class"] == CLASS_CONSUMED and s["type"] in MARKING_TYPES and s["level"] == 0
            for s in self.supplies().values()
        )

    def _blocked(self) -> bool:
        """A printer stops on a critical fault or when a marking supply is empty."""
        return self._out_of_marking() or bool(set(self.error_flags()) & CRITICAL_FLAGS)

    def advance_pages(self, pages: int) -> int:
        """Print ``pages`` (fewer when the printer stops); returns pages actually printed.

        Pages go in batches of at most 10 so an emptying supply stops the
        printer within a few pages without re-reading the tables per page.
        """
        if not self.is_printer or pages <= 0:
            return 0
        printed = 0
        while printed < pages and not self._blocked():
            supplies = self.supplies()
            has_colour = any(s["color"] not in (None, "black") for s in supplies.values())
            batch = min(10, pages - printed)
            colour = int(batch * self.profile.colour_share + self.rng.random()) if has_colour else 0
            self._consume(supplies, batch, min(batch, colour))
            printed += batch
        if printed:
            for oid in (PRT_LIFE_COUNT, PRT_POWER_ON_COUNT):
                key = f"{oid}.{self.printer_index}.1"
                if self.data.has(key):
                    self.data.set(key, (self.data.integer(key) + printed) % 2**32)
            self._feed_paper(printed)
        self._sync_supply_state(printing=printed > 0)
        return printed

    def _consume(self, supplies: dict[int, dict[str, int | str | None]], pages: int, colour_pages: int) -> None:
        for i, s in supplies.items():
            level, cap, typ = s["level"], s["max"], s["type"]
            if not isinstance(level, int) or level < 0 or not isinstance(cap, int) or cap <= 0:
                continue  # -1/-2/-3 and unusable capacities are reported as is, never invented
            used = colour_pages if s["color"] not in (None, "black") and typ in MARKING_TYPES else pages
            if s["unit"] in (UNIT_IMPRESSIONS, UNIT_SHEETS) and s["class"] == CLASS_CONSUMED:
                delta = float(used)
            else:
                delta = used * cap / self.profile.yield_pages(int(typ or 0))
            key = (*parse_oid(PRT_SUPPLY_LEVEL), self.printer_index or 1, i)
            acc = self._supply_acc.get(key, 0.0) + delta
            whole = math.floor(acc)
            self._supply_acc[key] = acc - whole
            if whole:
                # consumed: what remains; receptacle: the space left (RFC 3805), so both fall
                self.data.set(key, max(0, level - whole))

    def _feed_paper(self, pages: int) -> None:
        """Pages come out of the first tray with paper; an empty auto tray is refilled (someone does)."""
        for idx, level in self.data.column(PRT_INPUT_LEVEL).items():
            if not isinstance(level, int) or level < 0:
                return  # -3 "some paper": nothing to count down
            if level == 0:
                continue
            cap = self.data.integer(f"{PRT_INPUT_MAX}.{oid_text(idx)}")
            new = level - pages
            self.data.set((*parse_oid(PRT_INPUT_LEVEL), *idx), cap if new <= 0 and cap > 0 else new)
            return

    def _sync_supply_state(self, printing: bool = False) -> None:
        """Keep lowToner/noToner bits, device status and supply alerts in line with numeric levels."""
        if not self.is_printer:
            return
        low, empty, tracked = set(), set(), False
        for i, s in self.supplies().items():
            level, cap = s["level"], s["max"]
            if s["class"] != CLASS_CONSUMED or s["type"] not in MARKING_TYPES:
                continue
            if not isinstance(level, int) or level < 0 or not isinstance(cap, int) or cap <= 0:
                continue
            tracked = True
            ink = s["type"] in (INK, INK_CARTRIDGE)
            if level == 0:
                empty.add(i)
                want = ALERT_CODES["marker_ink_empty" if ink else "marker_toner_empty"]
            elif level * 100 / cap <= SUPPLY_LOW_PERCENT:
                low.add(i)
                want = ALERT_CODES["marker_ink_almost_empty" if ink else "marker_toner_almost_empty"]
            else:
                want = None
            existing = {
                idx: row["code"]
                for idx, row in self.alerts().items()
                if row.get("group") == ALERT_GROUPS["marker_supplies"] and row.get("group_index") == i
            }
            for idx, code in existing.items():
                if code != want:
                    self.clear_alerts(index=idx)
            if want is not None and want not in existing.values():
                what = f"{s['color'] or 'marker'} {'ink' if ink else 'toner'}".capitalize()
                self.add_alert(
                    want,
                    group="marker_supplies",
                    group_index=i,
                    severity=SEVERITY_CRITICAL if level == 0 else SEVERITY_WARNING,
                    description=f"{what} {'empty' if level == 0 else 'low'}",
                )
        if not tracked:
            return
        flags = [f for f in self.error_flags() if f not in ("low_toner", "no_toner")]
        if low:
            flags.append("low_toner")
        if empty:
            flags.append("no_toner")
        self.set_error_flags(flags, printing=printing)

    # -- network and host dynamics
    def set_interface(self, ifindex: int, up: bool) -> None:
        oid = f"{IF_OPER_STATUS}.{ifindex}"
        if not self.data.has(oid):
            raise FleetError(f"{self.name}: no ifOperStatus row {ifindex}")
        self.data.set(oid, 1 if up else 2)
        self.data.set(f"{IF_LAST_CHANGE}.{ifindex}", self.data.integer(SYS_UPTIME), "67")

    def _advance_interfaces(self, dt: float) -> None:
        for idx, oper in self.data.column(IF_OPER_STATUS).items():
            if oper != 1:
                continue
            sfx = oid_text(idx)
            mbps = self.data.integer(f"{IF_HIGH_SPEED}.{sfx}") or self.data.integer(f"{IF_SPEED}.{sfx}") // 10**6
            util = self.rng.uniform(0.002, 0.04) * (4 if mbps >= 10_000 or idx[0] > 24 else 1)
            octets = {"in_octets": mbps * 1e6 / 8 * util * dt}
            octets["out_octets"] = octets["in_octets"] * self.rng.uniform(0.3, 2.5)
            octets["in_pkts"] = octets["in_octets"] / 700
            octets["out_pkts"] = octets["out_octets"] / 700
            for c32, c64, what in IF_COUNTERS:
                add = int(octets[what])
                hc = f"{c64}.{sfx}"
                if self.data.has(hc):
                    total = (self.data.integer(hc) + add) % 2**64
                    self.data.set(hc, total)
                    self.data.set(f"{c32}.{sfx}", total % 2**32)
                elif self.data.has(f"{c32}.{sfx}"):
                    self.data.set(f"{c32}.{sfx}", (self.data.integer(f"{c32}.{sfx}") + add) % 2**32)
            errors = f"{IF_IN_ERRORS}.{sfx}"
            if self.data.integer(errors) and self.rng.random() < min(1.0, dt / 600):
                self.data.set(errors, (self.data.integer(errors) + self.rng.randint(1, 5)) % 2**32)

    def _wander(self, column: str, base: dict[Oid, int], spread: float) -> None:
        prefix = parse_oid(column)
        for idx, b in base.items():
            key = (*prefix, *idx)
            now = self.data.integer(key, b)
            step = self.rng.uniform(-spread, spread) / 3
            self.data.set(key, max(0, round(min(b + spread, max(b - spread, now + step)))))

    def _advance_host(self, dt: float) -> None:
        self._wander(HR_PROCESSOR_LOAD, self._load_base, 15)
        loads = list(self.data.column(HR_PROCESSOR_LOAD).values())
        if loads:
            avg = sum(v for v in loads if isinstance(v, int)) / len(loads)
            for n, factor in ((1, 1.0), (2, 0.8), (3, 0.7)):
                if self.data.has(f"{UCD_LOAD_TEXT}.{n}"):
                    la = avg / 100 * len(loads) * factor
                    self.data.set(f"{UCD_LOAD_TEXT}.{n}", f"{la:.2f}")
                    self.data.set(f"{UCD_LOAD_INT}.{n}", round(la * 100))
        if self.data.has(UCD_MEM_AVAIL_REAL):
            total = self.data.integer(UCD_MEM_TOTAL_REAL)
            avail = self.data.integer(UCD_MEM_AVAIL_REAL) + self.rng.randint(-40_000, 40_000)
            self.data.set(UCD_MEM_AVAIL_REAL, max(total // 20, min(total, avail)))
        for k, share in UCD_RAW_CPU.items():
            oid = f"1.3.6.1.4.1.2021.11.{k}.0"
            if self.data.has(oid):
                self.data.set(oid, (self.data.integer(oid) + int(dt * 100 * 4 * share)) % 2**32)
        # data volumes grow about 2 GB a day; the system volumes (/, /run, /boot) stay as recorded
        for idx, descr in self.data.column(HR_STORAGE_DESCR).items():
            if isinstance(descr, bytes) and descr.startswith(b"/") and descr not in (b"/", b"/run", b"/boot"):
                sfx = oid_text(idx)
                used = self.data.integer(f"{HR_STORAGE_USED}.{sfx}")
                size = self.data.integer(f"{HR_STORAGE_SIZE}.{sfx}")
                grow = int(dt * 2e9 / 86_400 / 4096 * self.rng.uniform(0, 2))
                self.data.set(f"{HR_STORAGE_USED}.{sfx}", min(size, used + grow))

    def tick(self, dt: float, now: datetime) -> None:
        """Advance ``dt`` simulated seconds at wall time ``now`` (does not write the file)."""
        for oid in (SYS_UPTIME, HR_SYSTEM_UPTIME):
            if self.data.has(oid):
                self.data.set(oid, (self.data.integer(oid) + int(dt * 100)) % 2**32)
        if self.is_printer:
            self._page_acc += self.profile.pages_per_hour * office_pace(now) * dt / 3600 * self.rng.uniform(0.5, 1.5)
            pages = int(self._page_acc)
            self._page_acc -= pages
            self.advance_pages(pages)
            if pages == 0:
                self._sync_supply_state(printing=False)
        self._advance_interfaces(dt)
        for idx, b in self._sensor_base.items():
            self._wander(ENT_SENSOR_VALUE, {idx: b}, max(1, abs(b) * 0.06))
        self._wander(LM_TEMP_VALUE, self._lm_base, 3000)
        if self._load_base:
            self._advance_host(dt)

    def reboot(self) -> None:
        """What a power cycle does to what a manager sees: uptime and interface counters restart."""
        for oid in (SYS_UPTIME, HR_SYSTEM_UPTIME):
            if self.data.has(oid):
                self.data.set(oid, self.rng.randint(3_000, 9_000))
        for c32, c64, _ in IF_COUNTERS:
            for col in (c32, c64):
                for idx in self.data.column(col):
                    self.data.set((*parse_oid(col), *idx), 0)


# --- the fleet --------------------------------------------------------------------------------------
class SimulatedFleet:
    """Recordings copied to a work directory, served by one snmpsim, changed on demand or by ``tick``.

    Every mutator writes the device's file before returning, so a GET issued
    afterwards sees the change (measured by tests/integration/test_fleet_dynamics.py).
    """

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        work_dir: str | os.PathLike[str] | None = None,
        *,
        seed: int | None = 0,
        devices: Iterable[str] | None = None,
    ) -> None:
        src = Path(data_dir)
        wanted = set(devices) if devices is not None else None
        files = sorted(p for p in src.glob("*.snmprec") if wanted is None or p.stem in wanted)
        if not files:
            raise FleetError(f"no .snmprec recordings in {src}")
        if wanted is not None and wanted - {p.stem for p in files}:
            raise FleetError(f"no recording for {sorted(wanted - {p.stem for p in files})} in {src}")
        self._own_dir = work_dir is None
        self.work_dir = Path(work_dir) if work_dir else Path(tempfile.mkdtemp(prefix="fw-fleet-"))
        self.work_dir.mkdir(parents=True, exist_ok=True)
        rng = random.Random(seed)
        self._devices: dict[str, SimulatedDevice] = {}
        for p in files:
            data = SnmprecFile.parse(p.read_text(encoding="latin-1"))
            dev = SimulatedDevice(p.stem, self.work_dir / p.name, data, random.Random(rng.random()))
            dev.write()
            self._devices[p.stem] = dev
        self.snmpsim: Snmpsim | None = None
        self.addresses: dict[str, str] = {}  # device -> its own loopback address, when started with own_addresses

    # -- serving
    def start(
        self,
        *,
        port: int | None = None,
        log_path: str | os.PathLike[str] | None = None,
        own_addresses: list[str] | None = None,
    ) -> SimulatedFleet:
        """Start snmpsim on 127.0.0.1 over the work dir; every device must be on disk when it scans.

        Every device always answers on 127.0.0.1:``port`` to its own community (the file stem). With
        ``own_addresses`` (loopback addresses, one per device in ``names`` order) each device also answers
        on its own address, same port, to community ``public``, as a real fleet does: that is what
        ``fleetwatch discover`` sweeps. snmpsim picks a file per listening endpoint through its transport
        index (``public/1.3.6.1.6.1.1.<n>.snmprec``); the fleet keeps those copies in step on every write.
        """
        offline = [d for d in self._devices.values() if not d.online]
        for d in offline:
            d.online = True
        port = port or free_udp_port()
        engines = []
        if own_addresses:
            if len(own_addresses) < len(self._devices):
                raise FleetError(f"need {len(self._devices)} addresses, got {len(own_addresses)}")
            # Outside work_dir, so the main engine does not also serve them under odd community names.
            own_root = self.work_dir.with_name(self.work_dir.name + ".own")
            for dev, addr in zip(self._devices.values(), own_addresses, strict=False):
                (own_root / dev.name).mkdir(parents=True, exist_ok=True)
                dev.mirrors = [own_root / dev.name / "public.snmprec"]
                self.addresses[dev.name] = addr
                engines.append((own_root / dev.name, [(addr, port)]))
        for d in self._devices.values():
            d.write()
        self.snmpsim = Snmpsim(self.work_dir, [("127.0.0.1", port)], log_path=log_path, extra_engines=engines)
        self.snmpsim.start(wait_community=next(iter(self._devices)))
        for d in offline:
            self.take_offline(d.name)
        return self

    def stop(self) -> None:
        if self.snmpsim is not None:
            self.snmpsim.stop()
            self.snmpsim = None

    def close(self) -> None:
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)
            shutil.rmtree(self.work_dir.with_name(self.work_dir.name + ".own"), ignore_errors=True)

    def __enter__(self) -> SimulatedFleet:
        return self.start() if self.snmpsim is None else self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def endpoint(self) -> tuple[str, int]:
        if self.snmpsim is None:
            raise FleetError("fleet not started")
        return self.snmpsim.host, self.snmpsim.port

    # -- access
    @property
    def names(self) -> list[str]:
        return list(self._devices)

    def device(self, name: str) -> SimulatedDevice:
        try:
            return self._devices[name]
        except KeyError:
            raise FleetError(f"unknown device {name!r}; have {sorted(self._devices)}") from None

    def printer(self, name: str) -> SimulatedDevice:
        dev = self.device(name)
        if not dev.is_printer:
            raise FleetError(f"{name} is not a printer (no hrDevicePrinter row, no prtMarkerSupplies)")
        return dev

    def value(self, name: str, oid: str) -> Scalar | None:
        return self.device(name).data.get(oid)

    def __iter__(self) -> Iterator[SimulatedDevice]:
        return iter(self._devices.values())

    # -- changes (each writes the device before returning)
    def set_value(self, name: str, oid: str, value: Scalar, tag: str | None = None) -> None:
        dev = self.device(name)
        dev.data.set(oid, value, tag)
        dev.write()

    def set_level(self, name: str, supply: int, level: int) -> None:
        dev = self.printer(name)
        dev.set_level(supply, level)
        dev.write()

    def replace_supply(self, name: str, supply: int) -> None:
        dev = self.printer(name)
        dev.replace_supply(supply)
        dev.write()

    def advance_pages(self, name: str, pages: int) -> int:
        dev = self.printer(name)
        printed = dev.advance_pages(pages)
        dev.write()
        return printed

    def set_error_flags(self, name: str, flags: Iterable[str]) -> None:
        dev = self.printer(name)
        dev.set_error_flags(flags)
        dev.write()

    def add_alert(self, name: str, code: int | str, **kw: object) -> int:
        dev = self.printer(name)
        index = dev.add_alert(code, **kw)  # type: ignore[arg-type]
        dev.write()
        return index

    def clear_alert(self, name: str, index: int | None = None, *, code: int | str | None = None) -> list[int]:
        dev = self.printer(name)
        removed = dev.clear_alerts(index=index, code=code)
        dev.write()
        return removed

    def set_console(self, name: str, lines: list[str]) -> None:
        dev = self.printer(name)
        dev.set_console(lines)
        dev.write()

    def paper_jam(self, name: str, tray: int = 1, description: str | None = None) -> int:
        """The usual jam: jammed bit, critical media-path alert, console text, device down."""
        dev = self.printer(name)
        dev.set_error_flags([*dev.error_flags(), "jammed"])
        index = dev.add_alert(
            "jam",
            group="media_path",
            group_index=tray,
            severity=SEVERITY_CRITICAL,
            training=3,
            description=description or f"Paper jam at tray {tray}",
        )
        dev.set_console(["Paper jam", f"Clear tray {tray}"])
        dev.write()
        return index

    def clear_jam(self, name: str) -> None:
        dev = self.printer(name)
        dev.clear_alerts(code="jam")
        dev.set_error_flags([f for f in dev.error_flags() if f != "jammed"])
        dev.set_console(["Ready"])
        dev.write()

    def open_door(self, name: str, cover: int = 1) -> int:
        dev = self.printer(name)
        dev.set_cover(cover, True)
        dev.set_error_flags([*dev.error_flags(), "door_open"])
        index = dev.add_alert(
            "door_open", group="cover", group_index=cover, severity=SEVERITY_CRITICAL, description="Close door"
        )
        dev.set_console(["Close door"])
        dev.write()
        return index

    def close_door(self, name: str, cover: int = 1) -> None:
        dev = self.printer(name)
        dev.set_cover(cover, False)
        dev.clear_alerts(code="door_open")
        dev.set_error_flags([f for f in dev.error_flags() if f != "door_open"])
        dev.set_console(["Ready"])
        dev.write()

    def set_interface(self, name: str, ifindex: int, up: bool) -> None:
        dev = self.device(name)
        dev.set_interface(ifindex, up)
        dev.write()

    def take_offline(self, name: str) -> None:
        """The device stops answering (snmpsim finds no file and sends nothing): a manager times out."""
        dev = self.device(name)
        if dev.online:
            dev.online = False
            os.replace(dev.path, dev.offline_path)
            for mirror in dev.mirrors:
                mirror.unlink(missing_ok=True)

    def bring_online(self, name: str, *, rebooted: bool = False) -> None:
        dev = self.device(name)
        if rebooted:
            dev.reboot()
        if not dev.online:
            dev.offline_path.unlink(missing_ok=True)
            dev.online = True
        dev.write()

    def tick(self, dt: float, now: datetime) -> None:
        """Advance every reachable device by ``dt`` simulated seconds at simulated time ``now``; write each once."""
        for dev in self._devices.values():
            if dev.online:
                dev.tick(dt, now)
                dev.write()
