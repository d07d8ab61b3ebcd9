"""Device identity: vendor, model, serial, firmware, kind, uptime. Run on every device.

Shaped like a probe (DETECT_ROOTS, FETCH, pure parse) but always run, and
refreshed less often than levels: the poller builds ``Detection`` from one
GET of sysObjectID/sysDescr plus one GETNEXT over every probe's
DETECT_ROOTS, then fetches ``FETCH`` and calls ``parse``.

Each identity field is taken from the most specific source that answers,
in order: a vendor's private scalar (it names the exact model/serial), the
standard MIB a device kind implements (prtGeneralSerialNumber,
ENTITY-MIB chassis row, hrDeviceDescr of the printer row), then text in
sysDescr. A field no source reports stays ``None``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from agent.fetch import Fetched, FetchSpec
from agent.probes.base import Detection, integer, text
from agent.vendors import enterprise_of, kind_hint, vendor_name
from agent.wire import Device, DeviceKind

NAME = "identity"

# --- detection roots (presence tested with one GETNEXT each, dotted text as given)
PRT_GENERAL = "1.3.6.1.2.1.43.5"  # Printer-MIB prtGeneral
PRT_MARKER_SUPPLIES = "1.3.6.1.2.1.43.11"  # Printer-MIB prtMarkerSupplies
UPS_MIB = "1.3.6.1.2.1.33"  # UPS-MIB upsMIB
HR_STORAGE = "1.3.6.1.2.1.25.2"  # HOST-RESOURCES-MIB hrStorage
HR_PROCESSOR = "1.3.6.1.2.1.25.3.3"  # HOST-RESOURCES-MIB hrProcessorTable
BRIDGE_MIB = "1.3.6.1.2.1.17"  # BRIDGE-MIB dot1dBridge
ENTITY_PHYSICAL = "1.3.6.1.2.1.47.1.1.1"  # ENTITY-MIB entPhysicalTable
APC_UPS = "1.3.6.1.4.1.318.1.1.1"  # PowerNet-MIB upsBasic... (APC Smart-UPS NMC)
SYNOLOGY = "1.3.6.1.4.1.6574"  # SYNOLOGY-SYSTEM-MIB (DSM, sysObjectID is plain net-snmp)
QNAP = "1.3.6.1.4.1.24681"  # NAS-MIB (QNAP)

DETECT_ROOTS: tuple[str, ...] = (
    PRT_GENERAL,
    PRT_MARKER_SUPPLIES,
    UPS_MIB,
    HR_STORAGE,
    HR_PROCESSOR,
    BRIDGE_MIB,
    ENTITY_PHYSICAL,
    APC_UPS,
    SYNOLOGY,
    QNAP,
)

# --- standard scalars
SYS_DESCR = "1.3.6.1.2.1.1.1.0"  # SNMPv2-MIB sysDescr
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"  # SNMPv2-MIB sysObjectID
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"  # SNMPv2-MIB sysUpTime (TimeTicks, 1/100 s)
SYS_CONTACT = "1.3.6.1.2.1.1.4.0"  # SNMPv2-MIB sysContact
SYS_NAME = "1.3.6.1.2.1.1.5.0"  # SNMPv2-MIB sysName
SYS_LOCATION = "1.3.6.1.2.1.1.6.0"  # SNMPv2-MIB sysLocation
PRT_GENERAL_SERIAL = "1.3.6.1.2.1.43.5.1.1.17.1"  # Printer-MIB prtGeneralSerialNumber.1
UPS_IDENT_MANUFACTURER = "1.3.6.1.2.1.33.1.1.1.0"  # UPS-MIB upsIdentManufacturer
UPS_IDENT_MODEL = "1.3.6.1.2.1.33.1.1.2.0"  # UPS-MIB upsIdentModel
UPS_IDENT_SOFTWARE = "1.3.6.1.2.1.33.1.1.3.0"  # UPS-MIB upsIdentUPSSoftwareVersion

# --- columns
HR_DEVICE_TYPE = "1.3.6.1.2.1.25.3.2.1.2"  # HOST-RESOURCES-MIB hrDeviceType
HR_DEVICE_DESCR = "1.3.6.1.2.1.25.3.2.1.3"  # HOST-RESOURCES-MIB hrDeviceDescr
HR_DEVICE_PRINTER = "1.3.6.1.2.1.25.3.1.5"  # HOST-RESOURCES-TYPES hrDevicePrinter
ENT_PHYSICAL_DESCR = "1.3.6.1.2.1.47.1.1.1.1.2"  # ENTITY-MIB entPhysicalDescr
ENT_PHYSICAL_CLASS = "1.3.6.1.2.1.47.1.1.1.1.5"  # ENTITY-MIB entPhysicalClass (3 chassis, 11 stack)
ENT_PHYSICAL_SOFTWARE_REV = "1.3.6.1.2.1.47.1.1.1.1.10"  # ENTITY-MIB entPhysicalSoftwareRev
ENT_PHYSICAL_SERIAL = "1.3.6.1.2.1.47.1.1.1.1.11"  # ENTITY-MIB entPhysicalSerialNum
ENT_PHYSICAL_MODEL = "1.3.6.1.2.1.47.1.1.1.1.13"  # ENTITY-MIB entPhysicalModelName

# --- vendor private scalars, most specific first within each field.
# IEEE 1284 device IDs ("MFG:...;MDL:...;") carry the model; parsed for MDL.
DEVICE_ID_1284: tuple[str, ...] = (
    "1.3.6.1.4.1.11.2.3.9.1.1.7.0",  # HP JetDirect gdStatusId (seen on HP LaserJet M880, M452nw, M252dw)
    "1.3.6.1.4.1.2435.2.3.9.1.1.7.0",  # Brother (seen on HL-5370DW, MFC-L2710DW)
    "1.3.6.1.4.1.253.8.51.1.2.1.20.1",  # Xerox (seen on AltaLink C8045)
    "1.3.6.1.4.1.674.10898.100.2.1.2.1.3.1",  # Dell laser "COMMAND SET:;MODEL:..." (seen on Dell S5830dn)
)
VENDOR_MODEL: tuple[str, ...] = (
    "1.3.6.1.4.1.2435.2.4.3.2435.5.13.3.0",  # Brother model name (seen on MFC-L2710DW, HL-5370DW)
    "1.3.6.1.4.1.367.3.2.1.1.1.1.0",  # Ricoh ricohSysName (seen on Aficio MP C3002)
    "1.3.6.1.4.1.1602.1.1.1.1.0",  # Canon model (seen on LBP6670)
    "1.3.6.1.4.1.18334.1.1.1.1.6.2.1.0",  # Konica Minolta model (seen on Develop ineo+ 280)
    "1.3.6.1.4.1.1347.43.5.1.1.1.1",  # KYOCERA-PRIVATE-MIB kcprtGeneralModelName.1 (not in corpus)
    "1.3.6.1.4.1.318.1.1.1.1.1.1.0",  # PowerNet-MIB upsBasicIdentModel (seen on APC Smart-UPS X 750)
    "1.3.6.1.4.1.6574.1.5.1.0",  # SYNOLOGY-SYSTEM-MIB modelName (seen on RS2212RP+)
    "1.3.6.1.4.1.2636.3.1.2.0",  # JUNIPER-MIB jnxBoxDescr (seen on vMX)
    UPS_IDENT_MODEL,
)
VENDOR_SERIAL: tuple[str, ...] = (
    "1.3.6.1.4.1.11.2.3.9.4.2.1.1.3.3.0",  # HP printer serial number (PML object)
    "1.3.6.1.4.1.2435.2.3.9.4.2.1.5.5.1.0",  # Brother serial (seen on MFC-L2710DW, HL-5370DW)
    "1.3.6.1.4.1.367.3.2.1.2.1.4.0",  # Ricoh serial (seen on Aficio MP C3002)
    "1.3.6.1.4.1.1347.43.5.1.1.28.1",  # KYOCERA-PRIVATE-MIB kcprtSerialNumber.1 (not in corpus)
    "1.3.6.1.4.1.318.1.1.1.1.2.3.0",  # PowerNet-MIB upsAdvIdentSerialNumber (seen on APC Smart-UPS X 750)
    "1.3.6.1.4.1.6574.1.5.2.0",  # SYNOLOGY-SYSTEM-MIB serialNumber (seen on RS2212RP+)
    "1.3.6.1.4.1.2636.3.1.3.0",  # JUNIPER-MIB jnxBoxSerialNo (seen on vMX)
)
VENDOR_FIRMWARE: tuple[str, ...] = (
    "1.3.6.1.4.1.2435.2.4.3.1240.6.5.0",  # Brother "Firmware Ver.Q" (seen on MFC-L2710DW)
    "1.3.6.1.4.1.367.3.2.1.1.1.2.0",  # Ricoh ricohSysVers (seen on Aficio MP C3002)
    "1.3.6.1.4.1.1602.1.1.1.4.0",  # Canon firmware (seen on LBP6670)
    "1.3.6.1.4.1.18334.1.1.1.1.6.1.0",  # Konica Minolta firmware (seen on Develop ineo+ 280)
    "1.3.6.1.4.1.674.10898.100.1.1.1.0",  # Dell laser firmware (seen on Dell S5830dn)
    "1.3.6.1.4.1.318.1.1.1.1.2.1.0",  # PowerNet-MIB upsAdvIdentFirmwareRevision (seen on APC Smart-UPS X 750)
    "1.3.6.1.4.1.6574.1.5.3.0",  # SYNOLOGY-SYSTEM-MIB version "DSM 6.1-15217" (seen on RS2212RP+)
    UPS_IDENT_SOFTWARE,
)

FETCH = FetchSpec(
    scalars=(
        SYS_DESCR,
        SYS_OBJECT_ID,
        SYS_UPTIME,
        SYS_CONTACT,
        SYS_NAME,
        SYS_LOCATION,
        PRT_GENERAL_SERIAL,
        UPS_IDENT_MANUFACTURER,
        *DEVICE_ID_1284,
        *VENDOR_MODEL,
        *VENDOR_SERIAL,
        *VENDOR_FIRMWARE,
    ),
    columns=(
        HR_DEVICE_TYPE,
        HR_DEVICE_DESCR,
        ENT_PHYSICAL_CLASS,
        ENT_PHYSICAL_DESCR,
        ENT_PHYSICAL_SOFTWARE_REV,
        ENT_PHYSICAL_SERIAL,
        ENT_PHYSICAL_MODEL,
    ),
)

#: Vendor words printers put in front of model names; stripped so "HP Color LaserJet M452nw"
#: and "Color LaserJet M452nw" compare equal and ``vendor`` is not repeated in ``model``.
_VENDOR_PREFIXES = (
    "hewlett-packard",
    "hp",
    "brother",
    "canon",
    "ricoh",
    "konica minolta",
    "xerox",
    "fujifilm",
    "fuji xerox",
    "kyocera",
    "lexmark",
    "epson",
    "samsung",
    "sharp",
    "oki",
    "toshiba",
    "dell",
)
_VENDOR_PREFIX_RE = re.compile(r"^(?:" + "|".join(re.escape(p) for p in _VENDOR_PREFIXES) + r")\b[\s:-]*", re.I)

_CLASS_CHASSIS = 3
_CLASS_STACK = 11


def classify(det: Detection) -> DeviceKind:
    """Kind of device from what detection saw; MIB presence beats the sysObjectID hint.

    Printer-MIB first: an MFP also has hrStorage and may sit under a vendor
    prefix we do not know. UPS and NAS MIBs next: a Synology NAS reports the
    plain net-snmp sysObjectID (seen on DSM 6.1), so only its MIB tells.
    """
    if det.has(PRT_MARKER_SUPPLIES) or det.has(PRT_GENERAL):
        return DeviceKind.printer
    if det.has(UPS_MIB) or det.has(APC_UPS):
        return DeviceKind.power
    if det.has(SYNOLOGY) or det.has(QNAP):
        return DeviceKind.storage
    hint = kind_hint(det.sys_object_id)
    if hint is not None:
        return hint
    if det.has(HR_STORAGE) or det.has(HR_PROCESSOR):
        return DeviceKind.host
    if det.has(BRIDGE_MIB):
        return DeviceKind.network
    return DeviceKind.other


def parse(f: Fetched, det: Detection, address: str, port: int = 161) -> Device:
    """Fetched identity objects -> ``Device``; never raises on odd values."""
    kind = classify(det)
    sys_object_id = _oid_text(f.scalar(SYS_OBJECT_ID)) or det.sys_object_id
    sys_descr = text(f.scalar(SYS_DESCR)) or (det.sys_descr or None)
    ticks = integer(f.scalar(SYS_UPTIME))
    chassis = _chassis_row(f)
    printer_descr = _printer_device_descr(f)

    enterprise = enterprise_of(sys_object_id)
    vendor = _vendor(sys_object_id, det, f)
    model = _first(
        (text(f.scalar(o)) for o in _own_first(VENDOR_MODEL, enterprise)),
        (_mdl_1284(f.scalar(o)) for o in _own_first(DEVICE_ID_1284, enterprise)),
        [chassis.get("model"), chassis.get("descr") if chassis else None],
        [printer_descr if kind == DeviceKind.printer else None],
        [_model_from_sys_descr(sys_descr) if kind == DeviceKind.printer else None],
    )
    serial = _first(
        (text(f.scalar(o)) for o in _own_first(VENDOR_SERIAL, enterprise)),
        [text(f.scalar(PRT_GENERAL_SERIAL)), chassis.get("serial")],
        [_serial_from_sys_descr(sys_descr)],
    )
    firmware = _first(
        (_clean_firmware(text(f.scalar(o))) for o in _own_first(VENDOR_FIRMWARE, enterprise)),
        [chassis.get("software")],
        [_firmware_from_sys_descr(sys_descr) if kind != DeviceKind.host else None],
    )
    return Device(
        address=address,
        port=port,
        sys_name=text(f.scalar(SYS_NAME)),
        sys_descr=sys_descr,
        sys_object_id=sys_object_id,
        sys_location=text(f.scalar(SYS_LOCATION)),
        sys_contact=text(f.scalar(SYS_CONTACT)),
        vendor=vendor,
        model=_clean_model(model),
        serial=serial,
        firmware=firmware,
        kind=kind,
        uptime_s=None if ticks is None or ticks < 0 else ticks / 100,
    )


#: Vendor MIBs that identify the product when sysObjectID is a generic agent's (net-snmp).
_VENDOR_BY_ROOT: tuple[tuple[str, str], ...] = ((SYNOLOGY, "Synology"), (QNAP, "QNAP"), (APC_UPS, "APC"))
_GENERIC_AGENTS = frozenset({8072, 2021})  # net-snmp, ucd-snmp


def _vendor(sys_object_id: str | None, det: Detection, f: Fetched) -> str | None:
    """Vendor from the sysObjectID enterprise; a NAS on plain net-snmp (seen on Synology DSM 6.1) by its MIB."""
    if enterprise_of(sys_object_id) in _GENERIC_AGENTS or enterprise_of(sys_object_id) is None:
        for root, name in _VENDOR_BY_ROOT:
            if det.has(root):
                return name
    return vendor_name(sys_object_id) or text(f.scalar(UPS_IDENT_MANUFACTURER))


def _own_first(oids: tuple[str, ...], enterprise: int | None) -> list[str]:
    """The device's own vendor OIDs first: a Brother MFC-L2710DW also answers HP's serial OID, with junk."""
    if enterprise is None:
        return list(oids)
    own = f"1.3.6.1.4.1.{enterprise}."
    return sorted(oids, key=lambda o: not o.startswith(own))


def _first(*sources: Iterable[str | None]) -> str | None:
    for source in sources:
        for value in source:
            if value:
                return value
    return None


def _oid_text(value: object) -> str | None:
    s = text(value)
    return s.lstrip(".") if s else None


def _chassis_row(f: Fetched) -> dict[str, str | None]:
    """The ENTITY-MIB row that stands for the box: a chassis with a serial, else a stack, else any chassis.

    Stacks (class 11) may have an empty row 1 above the chassis (seen on Cisco 2960X:
    row 1 "Catalyst C29xx Switch Stack" with no serial, row 1001 the chassis).
    """
    rows = f.table(
        {
            "class": ENT_PHYSICAL_CLASS,
            "descr": ENT_PHYSICAL_DESCR,
            "software": ENT_PHYSICAL_SOFTWARE_REV,
            "serial": ENT_PHYSICAL_SERIAL,
            "model": ENT_PHYSICAL_MODEL,
        }
    )
    ordered = sorted(rows.items(), key=lambda kv: _index_key(kv[0]))
    cleaned = [
        (integer(r.get("class")), {k: text(r.get(k)) for k in ("descr", "software", "serial", "model")})
        for _, r in ordered
    ]
    for wanted in (_CLASS_CHASSIS, _CLASS_STACK):
        for cls, row in cleaned:
            if cls == wanted and row["serial"]:
                return row
    for cls, row in cleaned:
        if cls in (_CLASS_CHASSIS, _CLASS_STACK) and (row["model"] or row["descr"]):
            return row
    return {}


def _index_key(index: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in index.split("."))
    except ValueError:
        return (1 << 62,)


def _printer_device_descr(f: Fetched) -> str | None:
    """hrDeviceDescr of the first hrDevicePrinter row."""
    types = f.column(HR_DEVICE_TYPE)
    descrs = f.column(HR_DEVICE_DESCR)
    for idx in sorted(types, key=_index_key):
        if (_oid_text(types[idx]) or "") == HR_DEVICE_PRINTER:
            return text(descrs.get(idx))
    return None


def _mdl_1284(value: object) -> str | None:
    """MDL field of an IEEE 1284 device ID ("MFG:Brother;MDL:HL-5370DW series;"); also "MODEL:" (Dell)."""
    s = text(value)
    if not s:
        return None
    for part in s.split(";"):
        key, _, val = part.partition(":")
        if key.strip().upper() in ("MDL", "MODEL") and val.strip():
            return val.strip()
    return None


def _clean_model(model: str | None) -> str | None:
    """Drop the vendor prefix, Brother's " series" and a trailing "[mac]" (seen on Brother HL-5370DW)."""
    if not model:
        return None
    m = re.sub(r"\s*\[[0-9a-fA-F:.-]{12,17}\]$", "", model.strip())
    m = re.sub(r"\s+series$", "", m, flags=re.I)
    stripped = _VENDOR_PREFIX_RE.sub("", m).strip()
    return stripped or m or None


def _clean_firmware(fw: str | None) -> str | None:
    """ "Firmware Ver.1.01 (08.12.12)" -> "1.01" (Brother); "DSM 6.1-15217" -> "6.1-15217" (Synology)."""
    if not fw:
        return None
    m = re.match(r"^(?:firmware\s+)?ver(?:sion)?\.?\s*(\S+)", fw, re.I)
    if m:
        return m.group(1)
    m = re.match(r"^DSM\s+(\S+)$", fw)
    if m:
        return m.group(1)
    return fw


def _model_from_sys_descr(descr: str | None) -> str | None:
    """Printer sysDescr "Xerox AltaLink C8045; SS 100..." / "FUJIFILM ApeosPro C810" -> model.

    Only used for printers without hrDeviceDescr, and never for JetDirect cards
    whose sysDescr names the network card ("HP ETHERNET MULTI-ENVIRONMENT").
    """
    if not descr or "JETDIRECT" in descr.upper() or "MULTI-ENVIRONMENT" in descr.upper():
        return None
    head = re.split(r"[;,]", descr, maxsplit=1)[0].strip()
    return head or None


def _serial_from_sys_descr(descr: str | None) -> str | None:
    """JetDirect cards put the printer serial in sysDescr: "...,SN:VNB3J99999,FN:..." (seen on M252dw)."""
    if not descr:
        return None
    m = re.search(r"(?:^|[,;(\s])SN:\s*([A-Za-z0-9-]{4,})", descr)
    return m.group(1) if m else None


def _firmware_from_sys_descr(descr: str | None) -> str | None:
    """ "JUNOS 18.2R1.9," (Juniper), "firmware 5.76.7.13442" (Ubiquiti), "Version 15.0(2a)EX5," (Cisco)."""
    if not descr:
        return None
    for pattern in (
        r"\bJUNOS\s+([0-9][\w.-]*)",
        r"\bfirmware\s+v?([0-9][\w.()-]*)",
        r"\bVersion\s+v?([0-9][\w.()-]*)",
        r"\brevision\s+([A-Z]{1,2}\.[\w.]+)",
    ):
        m = re.search(pattern, descr, re.I)
        if m:
            return m.group(1).rstrip(".,")
    return None
