"""Identity: kind classification, vendor table, model/serial/firmware fallbacks on hand-written rows."""

from __future__ import annotations

import pytest

from agent.fetch import Fetched
from agent.probes import identity
from agent.probes.base import Detection
from agent.vendors import KIND_BY_OID_PREFIX, VENDORS, enterprise_of, kind_hint, vendor_name
from agent.wire import DeviceKind

P = identity


@pytest.mark.parametrize(
    ("sys_object_id", "present", "kind"),
    [
        pytest.param("1.3.6.1.4.1.18334.1.1.1.2.1.117.2.2", {P.PRT_MARKER_SUPPLIES, P.HR_STORAGE}, DeviceKind.printer,
                     id="printer_mib_beats_hr_storage"),
        pytest.param("1.3.6.1.4.1.99999.1", {P.PRT_GENERAL}, DeviceKind.printer, id="printer_mib_unknown_vendor"),
        pytest.param("1.3.6.1.4.1.11.2.3.9.1", set(), DeviceKind.printer, id="hp_jetdirect_prefix"),
        pytest.param("1.3.6.1.4.1.11.2.3.7.8.5.2", {P.HR_STORAGE}, DeviceKind.network, id="hp_procurve_prefix"),
        pytest.param("1.3.6.1.4.1.8072.3.2.10", {P.SYNOLOGY, P.HR_STORAGE}, DeviceKind.storage,
                     id="synology_on_net_snmp_oid"),
        pytest.param("1.3.6.1.4.1.8072.3.2.10", {P.HR_STORAGE, P.HR_PROCESSOR}, DeviceKind.host, id="linux_net_snmp"),
        pytest.param("1.3.6.1.4.1.311.1.1.3.1.2", {P.HR_STORAGE}, DeviceKind.host, id="windows"),
        pytest.param("1.3.6.1.4.1.318.1.3.27", {P.APC_UPS}, DeviceKind.power, id="apc_ups"),
        pytest.param("1.3.6.1.4.1.99999.1", {P.UPS_MIB}, DeviceKind.power, id="ups_mib_unknown_vendor"),
        pytest.param("1.3.6.1.4.1.47196.4.1.1.1.303", {P.HR_STORAGE, P.BRIDGE_MIB}, DeviceKind.network,
                     id="aruba_cx_with_hr_storage"),
        pytest.param("1.3.6.1.4.1.99999.1", {P.HR_PROCESSOR}, DeviceKind.host, id="unknown_vendor_host_mibs"),
        pytest.param("1.3.6.1.4.1.99999.1", {P.BRIDGE_MIB}, DeviceKind.network, id="unknown_vendor_bridge"),
        pytest.param(None, set(), DeviceKind.other, id="nothing_known"),
    ],
)  # fmt: skip
def test_classify(sys_object_id: str | None, present: set[str], kind: DeviceKind) -> None:
    assert identity.classify(Detection(sys_object_id=sys_object_id, present=frozenset(present))) == kind


def test_detect_roots_are_the_classification_roots() -> None:
    assert set(identity.DETECT_ROOTS) >= {P.PRT_GENERAL, P.PRT_MARKER_SUPPLIES, P.UPS_MIB, P.HR_STORAGE, P.BRIDGE_MIB}


# --------------------------------------------------------------------------- vendors table


@pytest.mark.parametrize(
    ("oid", "number", "name"),
    [
        ("1.3.6.1.4.1.2435.2.3.9.1", 2435, "Brother"),
        (".1.3.6.1.4.1.9.1.1208", 9, "Cisco"),
        ("1.3.6.1.4.1.367.1.1", 367, "Ricoh"),
        ("1.3.6.1.4.1.318.1.3.27", 318, "APC"),
        ("1.3.6.1.4.1.424242.1", 424242, None),
        ("1.3.6.1.2.1.1", None, None),
        (None, None, None),
    ],
)
def test_vendor_table(oid: str | None, number: int | None, name: str | None) -> None:
    assert enterprise_of(oid) == number
    assert vendor_name(oid) == name


def test_kind_hint_longest_prefix_and_whole_arcs() -> None:
    assert kind_hint("1.3.6.1.4.1.11.2.3.9.1") == DeviceKind.printer
    assert kind_hint("1.3.6.1.4.1.11.2.3.7.11.1") == DeviceKind.network
    assert kind_hint("1.3.6.1.4.1.674.10892.5") == DeviceKind.host
    assert kind_hint("1.3.6.1.4.1.93.1") is None  # "1.3.6.1.4.1.9" must not match enterprise 93


def test_every_kind_prefix_has_a_vendor_name() -> None:
    assert {enterprise_of(p) for p in KIND_BY_OID_PREFIX} <= set(VENDORS)


# --------------------------------------------------------------------------- parse


def fetched(scalars: dict[str, object] | None = None, columns: dict[str, dict[str, object]] | None = None) -> Fetched:
    return Fetched(scalars=dict(scalars or {}), columns=dict(columns or {}))  # type: ignore[arg-type]


def parse(f: Fetched, sys_object_id: str, present: set[str] | None = None):  # type: ignore[no-untyped-def]
    det = Detection(sys_object_id=sys_object_id, present=frozenset(present or {P.PRT_MARKER_SUPPLIES}))
    return identity.parse(f, det, "127.0.0.1", 1161)


def test_brother_own_oids_beat_hp_pml_junk() -> None:
    # Brother MFC-L2710DW answers HP's serial OID with control bytes; its own OIDs must win.
    f = fetched(
        {
            P.SYS_OBJECT_ID: "1.3.6.1.4.1.2435.2.3.9.1",
            P.SYS_UPTIME: 217539735,
            "1.3.6.1.4.1.11.2.3.9.4.2.1.1.3.3.0": bytes.fromhex("011555363439363948394E31393932340a3332"),
            "1.3.6.1.4.1.2435.2.3.9.4.2.1.5.5.1.0": b"000A5J431816",
            "1.3.6.1.4.1.2435.2.4.3.2435.5.13.3.0": b"Brother MFC-L2710DW series",
            "1.3.6.1.4.1.2435.2.4.3.1240.6.5.0": b"Firmware Ver.Q",
            "1.3.6.1.4.1.2435.2.3.9.1.1.7.0": b"MFG:Brother;MDL:MFC-8440;CLS:PRINTER;",
        }
    )
    d = parse(f, "1.3.6.1.4.1.2435.2.3.9.1")
    assert (d.vendor, d.model, d.serial, d.firmware, d.kind) == (
        "Brother",
        "MFC-L2710DW",
        "000A5J431816",
        "Q",
        DeviceKind.printer,
    )
    assert (d.address, d.port, d.uptime_s) == ("127.0.0.1", 1161, 2175397.35)


@pytest.mark.parametrize(
    ("scalars", "columns", "model", "serial"),
    [
        pytest.param(
            {"1.3.6.1.4.1.2435.2.4.3.2435.5.13.3.0": b"Brother HL-5370DW series [001ba90ba752]"},
            {},
            "HL-5370DW",
            None,
            id="brother_series_and_mac_suffix",
        ),
        pytest.param(
            {"1.3.6.1.4.1.11.2.3.9.1.1.7.0": b"MFG:Hewlett-Packard;MDL:HP Color LaserJet Pro M252dw;CLS:PRINTER;",
             P.SYS_DESCR: b"HP ETHERNET MULTI-ENVIRONMENT,SN:VNB3J99999,FN:1F31B6C,SVCID:99999,PID:HP"},
            {},
            "Color LaserJet Pro M252dw",
            "VNB3J99999",
            id="hp_1284_mdl_and_jetdirect_sysdescr_serial",
        ),
        pytest.param(
            {P.PRT_GENERAL_SERIAL: b"MKRA012345"},
            {P.HR_DEVICE_TYPE: {"1": "1.3.6.1.2.1.25.3.1.5"}, P.HR_DEVICE_DESCR: {"1": b"Canon LBP6670"}},
            "LBP6670",
            "MKRA012345",
            id="hr_device_descr_and_prt_general_serial",
        ),
        pytest.param(
            {P.SYS_DESCR: b"Xerox AltaLink C8045; SS 100.002.057.09608, NC 100.002.09608"},
            {},
            "AltaLink C8045",
            None,
            id="printer_model_from_sysdescr",
        ),
    ],
)  # fmt: skip
def test_printer_model_and_serial_fallbacks(
    scalars: dict[str, object], columns: dict[str, dict[str, object]], model: str, serial: str | None
) -> None:
    d = parse(fetched(scalars, columns), "1.3.6.1.4.1.11.2.3.9.1")
    assert (d.model, d.serial) == (model, serial)


def test_network_chassis_row_after_empty_stack_row() -> None:
    # Cisco 2960X stack: row 1 is an empty "stack", row 1001 the chassis with serial and software.
    cols = {
        P.ENT_PHYSICAL_CLASS: {"1": 11, "1001": 3, "1002": 9},
        P.ENT_PHYSICAL_DESCR: {"1": b"Catalyst C29xx Switch Stack", "1001": b"WS-C2960X-48FPS-L", "1002": b"x"},
        P.ENT_PHYSICAL_SERIAL: {"1": b"", "1001": b"FCW1929B68S", "1002": b"ZZZ"},
        P.ENT_PHYSICAL_MODEL: {"1": b"", "1001": b"WS-C2960X-48FPS-L", "1002": b"MOD"},
        P.ENT_PHYSICAL_SOFTWARE_REV: {"1": b"", "1001": b"15.0(2a)EX5", "1002": b""},
    }
    d = parse(fetched({}, cols), "1.3.6.1.4.1.9.1.1208", {P.BRIDGE_MIB})
    assert (d.kind, d.vendor, d.model, d.serial, d.firmware) == (
        DeviceKind.network,
        "Cisco",
        "WS-C2960X-48FPS-L",
        "FCW1929B68S",
        "15.0(2a)EX5",
    )


@pytest.mark.parametrize(
    ("descr", "firmware"),
    [
        pytest.param(b"Juniper Networks, Inc. vmx internet router, kernel JUNOS 18.2R1.9, Build date", "18.2R1.9",
                     id="junos"),
        pytest.param(b"USW GigaBit Ethernet Switch, firmware 5.76.7.13442", "5.76.7.13442", id="ubiquiti"),
        pytest.param(b"Cisco IOS Software, C2960X Software, Version 15.0(2a)EX5, RELEASE", "15.0(2a)EX5", id="ios"),
        pytest.param(b"Some switch", None, id="none"),
    ],
)  # fmt: skip
def test_network_firmware_from_sysdescr(descr: bytes, firmware: str | None) -> None:
    d = parse(fetched({P.SYS_DESCR: descr}), "1.3.6.1.4.1.2636.1.1.1.2.108", {P.HR_STORAGE})
    assert d.firmware == firmware


def test_synology_on_net_snmp() -> None:
    f = fetched(
        {
            "1.3.6.1.4.1.6574.1.5.1.0": b"RS2212RP+",
            "1.3.6.1.4.1.6574.1.5.2.0": b"3005AWL999111",
            "1.3.6.1.4.1.6574.1.5.3.0": b"DSM 6.1-15217",
        }
    )
    d = parse(f, "1.3.6.1.4.1.8072.3.2.10", {P.SYNOLOGY, P.HR_STORAGE})
    assert (d.kind, d.vendor, d.model, d.serial, d.firmware) == (
        DeviceKind.storage,
        "Synology",
        "RS2212RP+",
        "3005AWL999111",
        "6.1-15217",
    )


def test_windows_print_queue_is_not_the_host_model() -> None:
    cols = {P.HR_DEVICE_TYPE: {"1": "1.3.6.1.2.1.25.3.1.5"}, P.HR_DEVICE_DESCR: {"1": b"Microsoft Print To PDF"}}
    d = parse(fetched({P.SYS_DESCR: b"Hardware: Intel64 - Software: Windows Version 6.3"}, cols),
              "1.3.6.1.4.1.311.1.1.3.1.2", {P.HR_STORAGE})  # fmt: skip
    assert (d.kind, d.vendor, d.model, d.firmware) == (DeviceKind.host, "Microsoft", None, None)


def test_system_group_and_missing_everything() -> None:
    f = fetched({P.SYS_NAME: b"prn-3f", P.SYS_LOCATION: b"3rd floor\x00", P.SYS_CONTACT: b"", P.SYS_UPTIME: None})
    d = identity.parse(f, Detection(sys_object_id=None, sys_descr="Some box"), "10.0.0.1")
    assert (d.sys_name, d.sys_location, d.sys_contact, d.sys_descr) == ("prn-3f", "3rd floor", None, "Some box")
    assert (d.vendor, d.model, d.serial, d.firmware, d.uptime_s, d.kind) == (
        None,
        None,
        None,
        None,
        None,
        DeviceKind.other,
    )


@pytest.mark.parametrize(
    "garbage",
    [pytest.param(b"\xff\x00\xfe", id="bytes"), pytest.param(-1, id="negative_int"), pytest.param("x", id="text")],
)
def test_parse_never_raises_on_odd_values(garbage: object) -> None:
    f = fetched(
        dict.fromkeys(identity.FETCH.scalars, garbage),
        {col: {"1": garbage, "a.b": garbage} for col in identity.FETCH.columns},
    )
    d = parse(f, "1.3.6.1.4.1.2435.2.3.9.1")
    assert d.kind == DeviceKind.printer
    assert d.uptime_s is None
