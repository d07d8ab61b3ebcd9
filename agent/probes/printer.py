"""Printer probe: RFC 3805 Printer-MIB + HOST-RESOURCES-MIB printer objects.

Supplies, input trays, page counters, printer/device status, every bit of
hrPrinterDetectedErrorState, active alerts and the console text.

Honesty rules (see ``agent.wire``): raw ``level``/``capacity`` are kept; a
``state`` says what they mean; ``percent`` is only given when the numbers
are a real measurement (state ``ok``). RFC 3805 special levels (-1 no
restriction, -2 unknown, -3 some remaining) and vendor codes become states,
never invented percentages. For receptacles (waste toner boxes) RFC 3805
defines the level as the *remaining space*, so ``percent`` is the fill:
a nearly full waste box reads high, never as "100% toner".

Vendor quirks live in ``agent.probes.printer_vendors``; enumeration names are
the MIB's own (camelCase) turned into snake_case, tables in
``mibs/README.md``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agent.fetch import Fetched, FetchSpec
from agent.probes import printer_vendors as vendors
from agent.probes.base import Detection, integer, text
from agent.vendors import enterprise_of
from agent.wire import Alert, Counters, DevicePoll, PrinterStatus, Supply, SupplyState, Tray, TrayState

NAME = "printer"

# --- detection (same dotted text as agent.probes.identity so the poller tests each root once)
PRT_GENERAL = "1.3.6.1.2.1.43.5"  # Printer-MIB prtGeneral
PRT_MARKER_SUPPLIES = "1.3.6.1.2.1.43.11"  # Printer-MIB prtMarkerSupplies
DETECT_ROOTS: tuple[str, ...] = (PRT_GENERAL, PRT_MARKER_SUPPLIES, vendors.RICOH_TONER_LEVEL)

SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"  # SNMPv2-MIB sysObjectID (vendor quirks key on it)

# prtMarkerSuppliesTable 1.3.6.1.2.1.43.11.1.1, index hrDeviceIndex.prtMarkerSuppliesIndex
SUP_COLORANT_INDEX = "1.3.6.1.2.1.43.11.1.1.3"  # prtMarkerSuppliesColorantIndex
SUP_CLASS = "1.3.6.1.2.1.43.11.1.1.4"  # prtMarkerSuppliesClass
SUP_TYPE = "1.3.6.1.2.1.43.11.1.1.5"  # prtMarkerSuppliesType
SUP_DESCR = "1.3.6.1.2.1.43.11.1.1.6"  # prtMarkerSuppliesDescription
SUP_UNIT = "1.3.6.1.2.1.43.11.1.1.7"  # prtMarkerSuppliesSupplyUnit
SUP_MAX = "1.3.6.1.2.1.43.11.1.1.8"  # prtMarkerSuppliesMaxCapacity
SUP_LEVEL = "1.3.6.1.2.1.43.11.1.1.9"  # prtMarkerSuppliesLevel
# prtMarkerColorantTable 1.3.6.1.2.1.43.12.1.1, index hrDeviceIndex.prtMarkerColorantIndex
COLORANT_VALUE = "1.3.6.1.2.1.43.12.1.1.4"  # prtMarkerColorantValue ("black", "cyan", ...)
# prtInputTable 1.3.6.1.2.1.43.8.2.1, index hrDeviceIndex.prtInputIndex
IN_TYPE = "1.3.6.1.2.1.43.8.2.1.2"  # prtInputType
IN_MAX = "1.3.6.1.2.1.43.8.2.1.9"  # prtInputMaxCapacity
IN_LEVEL = "1.3.6.1.2.1.43.8.2.1.10"  # prtInputCurrentLevel
IN_MEDIA = "1.3.6.1.2.1.43.8.2.1.12"  # prtInputMediaName
IN_NAME = "1.3.6.1.2.1.43.8.2.1.13"  # prtInputName
IN_DESCR = "1.3.6.1.2.1.43.8.2.1.18"  # prtInputDescription
# prtMarkerTable 1.3.6.1.2.1.43.10.2.1, index hrDeviceIndex.prtMarkerIndex
MK_COUNTER_UNIT = "1.3.6.1.2.1.43.10.2.1.3"  # prtMarkerCounterUnit
MK_LIFE_COUNT = "1.3.6.1.2.1.43.10.2.1.4"  # prtMarkerLifeCount
MK_POWER_ON_COUNT = "1.3.6.1.2.1.43.10.2.1.5"  # prtMarkerPowerOnCount
# HOST-RESOURCES-MIB
HR_DEVICE_TYPE = "1.3.6.1.2.1.25.3.2.1.2"  # hrDeviceType
HR_DEVICE_DESCR = "1.3.6.1.2.1.25.3.2.1.3"  # hrDeviceDescr (Brother model exceptions)
HR_DEVICE_STATUS = "1.3.6.1.2.1.25.3.2.1.5"  # hrDeviceStatus
HR_PRINTER_STATUS = "1.3.6.1.2.1.25.3.5.1.1"  # hrPrinterStatus
HR_PRINTER_ERRORS = "1.3.6.1.2.1.25.3.5.1.2"  # hrPrinterDetectedErrorState
HR_DEVICE_PRINTER = "1.3.6.1.2.1.25.3.1.5"  # hrDevicePrinter (value of hrDeviceType)
# prtAlertTable 1.3.6.1.2.1.43.18.1.1, index hrDeviceIndex.prtAlertIndex
AL_SEVERITY = "1.3.6.1.2.1.43.18.1.1.2"  # prtAlertSeverityLevel
AL_TRAINING = "1.3.6.1.2.1.43.18.1.1.3"  # prtAlertTrainingLevel
AL_GROUP = "1.3.6.1.2.1.43.18.1.1.4"  # prtAlertGroup
AL_GROUP_INDEX = "1.3.6.1.2.1.43.18.1.1.5"  # prtAlertGroupIndex
AL_LOCATION = "1.3.6.1.2.1.43.18.1.1.6"  # prtAlertLocation
AL_CODE = "1.3.6.1.2.1.43.18.1.1.7"  # prtAlertCode
AL_DESCR = "1.3.6.1.2.1.43.18.1.1.8"  # prtAlertDescription
AL_TIME = "1.3.6.1.2.1.43.18.1.1.9"  # prtAlertTime
CONSOLE_TEXT = "1.3.6.1.2.1.43.16.5.1.2"  # prtConsoleDisplayBufferText

FETCH = FetchSpec(
    scalars=(SYS_OBJECT_ID,),
    columns=(
        SUP_COLORANT_INDEX,
        SUP_CLASS,
        SUP_TYPE,
        SUP_DESCR,
        SUP_UNIT,
        SUP_MAX,
        SUP_LEVEL,
        COLORANT_VALUE,
        IN_TYPE,
        IN_MAX,
        IN_LEVEL,
        IN_MEDIA,
        IN_NAME,
        IN_DESCR,
        MK_COUNTER_UNIT,
        MK_LIFE_COUNT,
        MK_POWER_ON_COUNT,
        HR_DEVICE_TYPE,
        HR_DEVICE_DESCR,
        HR_DEVICE_STATUS,
        HR_PRINTER_STATUS,
        HR_PRINTER_ERRORS,
        AL_SEVERITY,
        AL_TRAINING,
        AL_GROUP,
        AL_GROUP_INDEX,
        AL_LOCATION,
        AL_CODE,
        AL_DESCR,
        AL_TIME,
        CONSOLE_TEXT,
        vendors.RICOH_TONER_LEVEL,
    ),
)


def snake(name: str) -> str:
    """MIB enumeration label -> snake_case: "tonerCartridge" -> "toner_cartridge",
    "printerNMSReset" -> "printer_nms_reset".
    """
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    return s.replace("-", "_").lower()


# --- enumerations, camelCase as in RFC 3805 / IANA-PRINTER-MIB / RFC 2790 (see mibs/README.md)
SUPPLY_TYPES: dict[int, str] = {
    1: "other", 2: "unknown", 3: "toner", 4: "wasteToner", 5: "ink", 6: "inkCartridge", 7: "inkRibbon",
    8: "wasteInk", 9: "opc", 10: "developer", 11: "fuserOil", 12: "solidWax", 13: "ribbonWax", 14: "wasteWax",
    15: "fuser", 16: "coronaWire", 17: "fuserOilWick", 18: "cleanerUnit", 19: "fuserCleaningPad",
    20: "transferUnit", 21: "tonerCartridge", 22: "fuserOiler", 23: "water", 24: "wasteWater",
    25: "glueWaterAdditive", 26: "wastePaper", 27: "bindingSupply", 28: "bandingSupply", 29: "stitchingWire",
    30: "shrinkWrap", 31: "paperWrap", 32: "staples", 33: "inserts", 34: "covers", 35: "matteToner",
    36: "matteInk",
}  # fmt: skip
SUPPLY_UNITS: dict[int, str] = {
    1: "other", 2: "unknown", 3: "tenThousandthsOfInches", 4: "micrometers", 7: "impressions", 8: "sheets",
    11: "hours", 12: "thousandthsOfOunces", 13: "tenthsOfGrams", 14: "hundrethsOfFluidOunces",
    15: "tenthsOfMilliliters", 16: "feet", 17: "meters", 18: "items", 19: "percent",
}  # fmt: skip
#: PrtMarkerSuppliesClassTC: supplyThatIsConsumed(3), receptacleThatIsFilled(4), shortened to the wire's names.
SUPPLY_CLASSES: dict[int, str] = {1: "other", 3: "consumed", 4: "receptacle"}
COUNTER_UNITS: dict[int, str] = {
    3: "tenThousandthsOfInches", 4: "micrometers", 5: "characters", 6: "lines", 7: "impressions", 8: "sheets",
    9: "dotRow", 11: "hours", 16: "feet", 17: "meters",
}  # fmt: skip
INPUT_TYPES: dict[int, str] = {
    1: "other", 2: "unknown", 3: "sheetFeedAutoRemovableTray", 4: "sheetFeedAutoNonRemovableTray",
    5: "sheetFeedManual", 6: "continuousRoll", 7: "continuousFanFold",
}  # fmt: skip
PRINTER_STATUS: dict[int, str] = {1: "other", 2: "unknown", 3: "idle", 4: "printing", 5: "warmup"}
DEVICE_STATUS: dict[int, str] = {1: "unknown", 2: "running", 3: "warning", 4: "testing", 5: "down"}
ALERT_SEVERITY: dict[int, str] = {1: "other", 3: "critical", 4: "warning", 5: "warningBinaryChangeEvent"}
ALERT_TRAINING: dict[int, str] = {
    1: "other", 2: "unknown", 3: "untrained", 4: "trained", 5: "fieldService", 6: "management",
    7: "noInterventionRequired",
}  # fmt: skip
ALERT_GROUPS: dict[int, str] = {
    1: "other", 2: "unknown", 3: "hostResourcesMIBStorageTable", 4: "hostResourcesMIBDeviceTable",
    5: "generalPrinter", 6: "cover", 7: "localization", 8: "input", 9: "output", 10: "marker",
    11: "markerSupplies", 12: "markerColorant", 13: "mediaPath", 14: "channel", 15: "interpreter",
    16: "consoleDisplayBuffer", 17: "consoleLights", 18: "alert", 30: "finDevice", 31: "finSupply",
    32: "finSupplyMediaInput", 33: "finAttributeTable",
}  # fmt: skip
ALERT_CODES: dict[int, str] = {
    1: "other", 2: "unknown", 3: "coverOpen", 4: "coverClosed", 5: "interlockOpen", 6: "interlockClosed",
    7: "configurationChange", 8: "jam", 9: "subunitMissing", 10: "subunitLifeAlmostOver", 11: "subunitLifeOver",
    12: "subunitAlmostEmpty", 13: "subunitEmpty", 14: "subunitAlmostFull", 15: "subunitFull",
    16: "subunitNearLimit", 17: "subunitAtLimit", 18: "subunitOpened", 19: "subunitClosed",
    20: "subunitTurnedOn", 21: "subunitTurnedOff", 22: "subunitOffline", 23: "subunitPowerSaver",
    24: "subunitWarmingUp", 25: "subunitAdded", 26: "subunitRemoved", 27: "subunitResourceAdded",
    28: "subunitResourceRemoved", 29: "subunitRecoverableFailure", 30: "subunitUnrecoverableFailure",
    31: "subunitRecoverableStorageError", 32: "subunitUnrecoverableStorageError", 33: "subunitMotorFailure",
    34: "subunitMemoryExhausted", 35: "subunitUnderTemperature", 36: "subunitOverTemperature",
    37: "subunitTimingFailure", 38: "subunitThermistorFailure",
    501: "doorOpen", 502: "doorClosed", 503: "poweredUp", 504: "poweredDown", 505: "printerNMSReset",
    506: "printerManualReset", 507: "printerReadyToPrint",
    801: "inputMediaTrayMissing", 802: "inputMediaSizeChanged", 803: "inputMediaWeightChanged",
    804: "inputMediaTypeChanged", 805: "inputMediaColorChanged", 806: "inputMediaFormPartsChanged",
    807: "inputMediaSupplyLow", 808: "inputMediaSupplyEmpty", 809: "inputMediaChangeRequest",
    810: "inputManualInputRequest", 811: "inputTrayPositionFailure", 812: "inputTrayElevationFailure",
    813: "inputCannotFeedSizeSelected",
    901: "outputMediaTrayMissing", 902: "outputMediaTrayAlmostFull", 903: "outputMediaTrayFull",
    904: "outputMailboxSelectFailure",
    1001: "markerFuserUnderTemperature", 1002: "markerFuserOverTemperature", 1003: "markerFuserTimingFailure",
    1004: "markerFuserThermistorFailure", 1005: "markerAdjustingPrintQuality",
    1101: "markerTonerEmpty", 1102: "markerInkEmpty", 1103: "markerPrintRibbonEmpty",
    1104: "markerTonerAlmostEmpty", 1105: "markerInkAlmostEmpty", 1106: "markerPrintRibbonAlmostEmpty",
    1107: "markerWasteTonerReceptacleAlmostFull", 1108: "markerWasteInkReceptacleAlmostFull",
    1109: "markerWasteTonerReceptacleFull", 1110: "markerWasteInkReceptacleFull",
    1111: "markerOpcLifeAlmostOver", 1112: "markerOpcLifeOver", 1113: "markerDeveloperAlmostEmpty",
    1114: "markerDeveloperEmpty", 1115: "markerTonerCartridgeMissing",
    1301: "mediaPathMediaTrayMissing", 1302: "mediaPathMediaTrayAlmostFull", 1303: "mediaPathMediaTrayFull",
    1304: "mediaPathCannotDuplexMediaSelected",
    1501: "interpreterMemoryIncrease", 1502: "interpreterMemoryDecrease", 1503: "interpreterCartridgeAdded",
    1504: "interpreterCartridgeDeleted", 1505: "interpreterResourceAdded", 1506: "interpreterResourceDeleted",
    1507: "interpreterResourceUnavailable", 1509: "interpreterComplexPageEncountered",
    1801: "alertRemovalOfBinaryChangeEntry",
}  # fmt: skip

#: hrPrinterDetectedErrorState bits in order (RFC 3805 sec. 2.2.13.4): bit 0 is the high bit of octet 1.
#: Same names as ``collector.series.PRINTER_ERROR_FLAGS`` (a unit test pins that).
ERROR_BITS: tuple[str, ...] = (
    "low_paper", "no_paper", "low_toner", "no_toner", "door_open", "jammed", "offline", "service_requested",
    "input_tray_missing", "output_tray_missing", "marker_supply_missing", "output_near_full", "output_full",
    "input_tray_empty", "overdue_prevent_maint",
)  # fmt: skip

#: RFC 3805 special values of prtMarkerSuppliesLevel / prtInputCurrentLevel.
LEVEL_UNLIMITED = -1  # "no restriction"
LEVEL_UNKNOWN = -2
LEVEL_SOME_REMAINING = -3

#: Supply types that are receptacles when the device does not say (prtMarkerSuppliesClass absent or "other").
_RECEPTACLE_TYPES = frozenset({"waste_toner", "waste_ink", "waste_wax", "waste_water", "waste_paper"})


@dataclass(frozen=True)
class PrinterSection:
    supplies: tuple[Supply, ...] = ()
    trays: tuple[Tray, ...] = ()
    counters: Counters = field(default_factory=Counters)
    status: PrinterStatus | None = None


def detect(det: Detection) -> bool:
    return det.has(PRT_MARKER_SUPPLIES) or det.has(PRT_GENERAL) or det.has(vendors.RICOH_TONER_LEVEL)


def parse(f: Fetched) -> PrinterSection:
    quirks = vendors.quirks_for(enterprise_of(text(f.scalar(SYS_OBJECT_ID))), _printer_model(f))
    return PrinterSection(
        supplies=tuple(parse_supplies(f, quirks)),
        trays=tuple(parse_trays(f)),
        counters=parse_counters(f),
        status=parse_status(f),
    )


def apply(section: PrinterSection, poll: DevicePoll) -> None:
    poll.supplies = list(section.supplies)
    poll.trays = list(section.trays)
    poll.counters = section.counters
    poll.printer_status = section.status


# --------------------------------------------------------------------------- supplies


def parse_supplies(f: Fetched, quirks: vendors.Quirks | None = None) -> list[Supply]:
    quirks = quirks or vendors.Quirks()
    rows = f.table(
        {
            "colorant": SUP_COLORANT_INDEX,
            "class": SUP_CLASS,
            "type": SUP_TYPE,
            "descr": SUP_DESCR,
            "unit": SUP_UNIT,
            "max": SUP_MAX,
            "level": SUP_LEVEL,
        }
    )
    colorants = {idx: text(v) for idx, v in f.column(COLORANT_VALUE).items()}
    ricoh_levels = f.column(vendors.RICOH_TONER_LEVEL)
    out: list[Supply] = []
    for idx in sorted(rows, key=index_key):
        row = rows[idx]
        level = integer(row.get("level"))
        if level is None and quirks.ricoh:
            # Ricoh without a Printer-MIB level: its private toner table, same last index.
            level = integer(ricoh_levels.get(idx.rsplit(".", 1)[-1]))
        descr, part = supply_description(row.get("descr"))
        stype = _enum(SUPPLY_TYPES, row.get("type"))
        if stype in (None, "unknown", "other"):
            stype = infer_supply_type(descr) or stype
        out.append(
            make_supply(
                index=idx,
                description=descr or f"supply {idx}",
                part_number=part,
                stype=stype or "unknown",
                sclass=_enum(SUPPLY_CLASSES, row.get("class")),
                color=_colour(idx, integer(row.get("colorant")), colorants, descr),
                unit=_enum(SUPPLY_UNITS, row.get("unit")),
                capacity=integer(row.get("max")),
                level=level,
                quirks=quirks,
            )
        )
    if not rows and quirks.ricoh:
        out.extend(_ricoh_private_supplies(ricoh_levels, quirks))
    return out


def make_supply(
    *,
    index: str,
    description: str,
    part_number: str | None,
    stype: str,
    sclass: str | None,
    color: str | None,
    unit: str | None,
    capacity: int | None,
    level: int | None,
    quirks: vendors.Quirks,
) -> Supply:
    if sclass not in ("consumed", "receptacle"):
        sclass = "receptacle" if stype in _RECEPTACLE_TYPES else ("consumed" if sclass is None else "other")
    state, percent = supply_state(level, capacity, receptacle=sclass == "receptacle", quirks=quirks)
    return Supply(
        index=index,
        description=description,
        part_number=part_number,
        type=stype,
        supply_class=sclass,
        color=color,
        unit=unit,
        capacity=capacity,
        level=level,
        percent=percent,
        state=state,
    )


def supply_state(
    level: int | None, capacity: int | None, *, receptacle: bool = False, quirks: vendors.Quirks | None = None
) -> tuple[SupplyState, float | None]:
    """(state, percent) of one supply; percent only when state is ``ok``."""
    quirks = quirks or vendors.Quirks()
    if level is None:
        return SupplyState.unknown, None
    if level == LEVEL_UNLIMITED:
        return SupplyState.unlimited, None
    if level == LEVEL_UNKNOWN:
        return SupplyState.unknown, None
    if level == LEVEL_SOME_REMAINING:
        return SupplyState.some_remaining, None
    vendor_state = quirks.level_state(level, capacity)
    if vendor_state is not None:
        return vendor_state, None
    if level < 0 or capacity is None or capacity <= 0:
        return SupplyState.unknown, None
    remaining = min(100.0, level / capacity * 100.0)
    percent = 100.0 - remaining if receptacle else remaining
    return SupplyState.ok, round(percent, 1)


def _ricoh_private_supplies(levels: dict[str, object], quirks: vendors.Quirks) -> list[Supply]:
    """Supplies from Ricoh's private toner table (percent levels, -100 empty) when Printer-MIB has none."""
    return [
        make_supply(
            index=idx,
            description=f"Toner {idx}",
            part_number=None,
            stype="toner",
            sclass="consumed",
            color=None,
            unit="percent",
            capacity=100,
            level=integer(value),
            quirks=quirks,
        )
        for idx, value in sorted(levels.items(), key=lambda kv: index_key(kv[0]))
    ]


_HEX_LINE = re.compile(r"(?:[0-9A-Fa-f]{2}[ \t]*)+")


def _hex_tail(lines: list[bytes]) -> bytes | None:
    """The hex-encoded continuation lines of an HP description, decoded; ``None`` if they are not that.

    Only printable ASCII (plus NUL padding) counts, so ordinary multi-line text
    that happens to look like hex ("Toner\nAB") is left alone.
    """
    rest = [ln.decode("latin-1").strip() for ln in lines[1:]]
    if not rest or not any(rest) or not all(_HEX_LINE.fullmatch(ln) for ln in rest if ln):
        return None
    tail = bytes.fromhex("".join(rest).replace(" ", "").replace("\t", ""))
    if not tail.rstrip(b"\x00") or not all(0x20 <= b < 0x7F for b in tail.rstrip(b"\x00")):
        return None
    return tail


_XEROX_PN = re.compile(r",\s*PN\s+([^;,]*)(?:;.*)?$")  # "Black Toner, PN 006R01509;SN48178080E0000481"
_HP_PN = re.compile(r"\bHP\s+([A-Z0-9]{4,10}|None)(?=$|[\s,;])")  # "Black Cartridge 827A HP CF300A"


def supply_description(raw: object) -> tuple[str | None, str | None]:
    """Clean prtMarkerSuppliesDescription -> (description, part number).

    - HP splits long descriptions over lines: the first line is text, the next
      ones the *rest* as hex bytes ("38 32 37 41 ..."), seen on Color LaserJet
      flow MFP M880. The first line is cut at a fixed width (mid-word), so the
      parts are joined without adding a space.
    - Text ends at the first NUL (C string); padding NULs are dropped.
    - Xerox appends ", PN <part>;SN<serial>" (seen on AltaLink C8045);
      HP ends with "HP <part>" (seen on LaserJet M880/M252dw/M452nw).
    """
    if raw is None:
        return None, None
    data = raw if isinstance(raw, bytes) else str(raw).encode("utf-8", "replace")
    tail = _hex_tail(data.split(b"\n"))
    if tail is not None:
        data = data.split(b"\n", 1)[0] + tail
    data = data.lstrip(b"\x00").split(b"\x00", 1)[0]
    s = text(data)
    if not s:
        return None, None
    s = re.sub(r"\s+", " ", s).strip()
    part: str | None = None
    m = _XEROX_PN.search(s)
    if m:
        pn = m.group(1).strip()
        part = pn if pn and pn.lower() not in ("unknown", "none", "n/a") else None
        s = s[: m.start()].strip()
    else:
        m = _HP_PN.search(s)
        if m:
            part = m.group(1) if m.group(1).lower() != "none" else None
            if m.end() == len(s):
                s = s[: m.start()].strip()
    return s or None, part


_TYPE_WORDS: tuple[tuple[str, str], ...] = (
    (r"waste\s*toner", "waste_toner"),
    (r"waste\s*ink", "waste_ink"),
    (r"\btoner\b", "toner"),
    (r"\bink\b", "ink"),
    (r"\b(drum|opc|photoconductor|imaging unit)\b", "opc"),
    (r"\bdeveloper\b", "developer"),
    (r"\b(fuser|fusing)\b", "fuser"),
    (r"\btransfer\b", "transfer_unit"),
    (r"\bstaple", "staples"),
)


def infer_supply_type(description: str | None) -> str | None:
    """Type from the description for devices without prtMarkerSuppliesType (seen on Konica bizhub C3110, Xerox
    AltaLink C8045, HP M452nw). Only unambiguous words; "Black Cartridge" alone (toner or ink?) stays unknown."""
    if not description:
        return None
    for pattern, stype in _TYPE_WORDS:
        if re.search(pattern, description, re.I):
            return stype
    return None


_COLOUR_WORDS = ("black", "cyan", "magenta", "yellow")


def _colour(idx: str, colorant_index: int | None, colorants: dict[str, str | None], descr: str | None) -> str | None:
    """prtMarkerColorantValue via the supply's colorant index; else one colour word in the description."""
    if colorant_index and colorant_index > 0:
        device = idx.split(".", 1)[0]
        value = colorants.get(f"{device}.{colorant_index}")
        if value:
            return value.lower()
    # No colorant table to resolve the index (seen on HP LaserJet M880): a single colour word in the
    # description. Index 0 means "no colorant" (fuser, transfer kit), so never guess there.
    if descr and colorant_index != 0:
        found = {w for w in _COLOUR_WORDS if re.search(rf"\b{w}\b", descr, re.I)}
        if len(found) == 1:
            return found.pop()
    return None


# --------------------------------------------------------------------------- trays


def parse_trays(f: Fetched) -> list[Tray]:
    rows = f.table(
        {"type": IN_TYPE, "max": IN_MAX, "level": IN_LEVEL, "media": IN_MEDIA, "name": IN_NAME, "descr": IN_DESCR}
    )
    out: list[Tray] = []
    for idx in sorted(rows, key=index_key):
        row = rows[idx]
        capacity = integer(row.get("max"))
        level = integer(row.get("level"))
        state, percent = tray_state(level, capacity)
        out.append(
            Tray(
                index=idx,
                name=text(row.get("name")) or text(row.get("descr")),
                capacity=capacity,
                level=level,
                percent=percent,
                state=state,
                media=text(row.get("media")),
                kind=_enum(INPUT_TYPES, row.get("type")),
            )
        )
    return out


def tray_state(level: int | None, capacity: int | None) -> tuple[TrayState, float | None]:
    if level is None or level == LEVEL_UNKNOWN:
        return TrayState.unknown, None
    if level == LEVEL_UNLIMITED:
        return TrayState.unlimited, None
    if level == LEVEL_SOME_REMAINING:
        return TrayState.some_remaining, None
    if level < 0:
        return TrayState.unknown, None
    percent = round(min(100.0, level / capacity * 100.0), 1) if capacity and capacity > 0 else None
    if level == 0:
        return TrayState.empty, percent
    return TrayState.ok, percent


# --------------------------------------------------------------------------- counters and status


def parse_counters(f: Fetched) -> Counters:
    """prtMarkerLifeCount of the first marker is ``total_pages``; power-on count as ``power_on_pages``."""
    life = f.column(MK_LIFE_COUNT)
    if not life:
        return Counters()
    first = min(life, key=index_key)
    extra: dict[str, int] = {}
    power_on = integer(f.column(MK_POWER_ON_COUNT).get(first))
    if power_on is not None and power_on >= 0:
        extra["power_on_pages"] = power_on
    total = integer(life[first])
    return Counters(
        total_pages=total if total is not None and total >= 0 else None,
        unit=_enum(COUNTER_UNITS, f.column(MK_COUNTER_UNIT).get(first)),
        **extra,
    )


def parse_status(f: Fetched) -> PrinterStatus | None:
    printer_rows = f.column(HR_PRINTER_STATUS)
    error_rows = f.column(HR_PRINTER_ERRORS)
    device_index = _printer_device_index(f)
    if device_index is None and not printer_rows and not error_rows:
        return None
    if device_index is None:
        device_index = min({**printer_rows, **error_rows}, key=index_key)
    return PrinterStatus(
        printer_status=_enum(PRINTER_STATUS, printer_rows.get(device_index)),
        device_status=_enum(DEVICE_STATUS, f.column(HR_DEVICE_STATUS).get(device_index)),
        error_flags=error_flags(error_rows.get(device_index)),
        alerts=parse_alerts(f),
        console_text=_console_text(f),
    )


def error_flags(value: object) -> list[str]:
    """Every set bit of hrPrinterDetectedErrorState, both octets; unknown bits as ``bit_<n>``."""
    if isinstance(value, str):
        value = value.encode("latin-1", "replace")
    if not isinstance(value, bytes):
        return []
    flags: list[str] = []
    for bit in range(len(value) * 8):
        if value[bit // 8] & (0x80 >> (bit % 8)):
            flags.append(ERROR_BITS[bit] if bit < len(ERROR_BITS) else f"bit_{bit}")
    return flags


def parse_alerts(f: Fetched) -> list[Alert]:
    rows = f.table(
        {
            "severity": AL_SEVERITY,
            "training": AL_TRAINING,
            "group": AL_GROUP,
            "group_index": AL_GROUP_INDEX,
            "location": AL_LOCATION,
            "code": AL_CODE,
            "descr": AL_DESCR,
            "time": AL_TIME,
        }
    )
    out: list[Alert] = []
    for idx in sorted(rows, key=index_key):
        row = rows[idx]
        code_number = integer(row.get("code"))
        out.append(
            Alert(
                index=idx,
                severity=_enum(ALERT_SEVERITY, row.get("severity")) or "other",
                training_level=_enum(ALERT_TRAINING, row.get("training")),
                group=_enum(ALERT_GROUPS, row.get("group")),
                group_index=integer(row.get("group_index")),
                location=integer(row.get("location")),
                code=_enum(ALERT_CODES, code_number),
                code_number=code_number,
                description=text(row.get("descr")),
                time_ticks=integer(row.get("time")),
            )
        )
    return out


def _console_text(f: Fetched) -> str | None:
    lines = [text(v) for _, v in sorted(f.column(CONSOLE_TEXT).items(), key=lambda kv: index_key(kv[0]))]
    joined = "\n".join(line for line in lines if line)
    return joined or None


def _printer_device_index(f: Fetched) -> str | None:
    for idx, value in sorted(f.column(HR_DEVICE_TYPE).items(), key=lambda kv: index_key(kv[0])):
        if (text(value) or "").lstrip(".") == HR_DEVICE_PRINTER:
            return idx
    return None


def _printer_model(f: Fetched) -> str | None:
    idx = _printer_device_index(f)
    return text(f.column(HR_DEVICE_DESCR).get(idx)) if idx is not None else None


# --------------------------------------------------------------------------- helpers


def index_key(index: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in index.split("."))
    except ValueError:
        return (1 << 62,)


def _enum(table: dict[int, str], value: object) -> str | None:
    n = integer(value)
    if n is None:
        return None
    name = table.get(n)
    return snake(name) if name else None
