"""The demo recordings carry every object the demo and the tests rely on.

Read offline with agent.snmprec.Recording (no sockets). One parametrized test
per concern over all recordings; the fault and quirk each recording exists
for is checked by name.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.snmp import parse_oid
from agent.snmprec import Recording
from collector.demo.fleet import decode_error_flags

RECORDINGS = Path(__file__).resolve().parents[2] / "deploy" / "demo" / "recordings"
#: stem -> (kind, vendor enterprise number in sysObjectID, colour?)
DEVICES = {
    "hp-clj-m477": ("printer", 11, True),
    "brother-hl-l5100dn": ("printer", 2435, False),
    "kyocera-taskalfa-2553ci": ("printer", 1347, True),
    "lexmark-ms621dn": ("printer", 641, False),
    "epson-wf-c5790": ("printer", 1248, True),
    "cisco-c9200l-24p": ("switch", 9, None),
    "linux-files01": ("host", 8072, None),
}
PRINTERS = [k for k, v in DEVICES.items() if v[0] == "printer"]

SUPPLY = "1.3.6.1.2.1.43.11.1.1"  # prtMarkerSuppliesEntry
INPUT = "1.3.6.1.2.1.43.8.2.1"  # prtInputEntry
ALERT = "1.3.6.1.2.1.43.18.1.1"  # prtAlertEntry
ERRORS = "1.3.6.1.2.1.25.3.5.1.2.1"  # hrPrinterDetectedErrorState
DEVICE_STATUS = "1.3.6.1.2.1.25.3.2.1.5.1"  # hrDeviceStatus
PRINTER_STATUS = "1.3.6.1.2.1.25.3.5.1.1.1"  # hrPrinterStatus


def load(stem: str) -> Recording:
    return Recording.load(RECORDINGS / f"{stem}.snmprec")


def col(rec: Recording, oid: str) -> dict[str, object]:
    return rec.subtree(oid)


def test_the_directory_holds_exactly_the_documented_devices() -> None:
    assert sorted(p.stem for p in RECORDINGS.glob("*.snmprec")) == sorted(DEVICES)


@pytest.mark.parametrize("stem", DEVICES)
def test_file_is_sorted_unique_and_well_formed(stem: str) -> None:
    """snmpsim binary-searches the file for GETNEXT: an unsorted line makes walks skip objects."""
    oids = []
    for n, line in enumerate((RECORDINGS / f"{stem}.snmprec").read_text(encoding="ascii").splitlines(), 1):
        if not line or line.startswith("#"):
            continue
        oid, tag, _value = line.split("|", 2)
        assert tag in {"2", "4", "4x", "6", "64", "65", "66", "67", "70"}, f"line {n}: tag {tag}"
        oids.append(parse_oid(oid))
    assert oids == sorted(oids)
    assert len(oids) == len(set(oids))


@pytest.mark.parametrize("stem", DEVICES)
def test_system_group_and_vendor_enterprise(stem: str) -> None:
    rec = load(stem)
    for leaf in range(1, 7):  # sysDescr, sysObjectID, sysUpTime, sysContact, sysName, sysLocation
        assert rec.get(f"1.3.6.1.2.1.1.{leaf}.0") not in (None, b""), f"system.{leaf}"
    assert str(rec.get("1.3.6.1.2.1.1.2.0")).startswith(f"1.3.6.1.4.1.{DEVICES[stem][1]}.")
    assert isinstance(rec.get("1.3.6.1.2.1.1.3.0"), int)


@pytest.mark.parametrize("stem", DEVICES)
def test_if_mib_basics(stem: str) -> None:
    rec = load(stem)
    descr = col(rec, "1.3.6.1.2.1.2.2.1.2")
    assert descr
    assert rec.get("1.3.6.1.2.1.2.1.0") == len(descr)  # ifNumber
    for column in ("1.3.6.1.2.1.2.2.1.8", "1.3.6.1.2.1.2.2.1.10", "1.3.6.1.2.1.2.2.1.16"):
        assert col(rec, column).keys() == descr.keys(), column


@pytest.mark.parametrize("stem", PRINTERS)
def test_printer_mib_objects(stem: str) -> None:
    rec = load(stem)
    assert rec.get("1.3.6.1.2.1.43.5.1.1.17.1")  # prtGeneralSerialNumber
    assert rec.get("1.3.6.1.2.1.25.3.2.1.2.1") == "1.3.6.1.2.1.25.3.1.5"  # hrDeviceType = printer
    assert rec.get("1.3.6.1.2.1.25.3.2.1.3.1")  # hrDeviceDescr
    assert rec.get(DEVICE_STATUS) in {2, 3, 5}
    assert rec.get(PRINTER_STATUS) in {1, 3, 4}
    assert isinstance(rec.get(ERRORS), bytes)
    supplies = col(rec, f"{SUPPLY}.6")
    assert supplies
    for column in range(2, 10):  # marker index .. level
        assert col(rec, f"{SUPPLY}.{column}").keys() == supplies.keys(), f"prtMarkerSupplies column {column}"
    colorants = col(rec, "1.3.6.1.2.1.43.12.1.1.4")
    assert b"black" in colorants.values()
    assert isinstance(rec.get("1.3.6.1.2.1.43.10.2.1.4.1.1"), int)  # prtMarkerLifeCount
    assert rec.get("1.3.6.1.2.1.43.10.2.1.3.1.1") in {7, 8}  # prtMarkerCounterUnit impressions/sheets
    types = col(rec, f"{INPUT}.2")
    assert 3 in types.values(), "a removable auto-feed tray"
    assert 5 in types.values(), "a manual/bypass tray (prtInputType sheetFeedManual = 5)"
    for column in (9, 10, 13):  # max capacity, current level, name
        assert col(rec, f"{INPUT}.{column}").keys() == types.keys()
    assert any(v for v in col(rec, "1.3.6.1.2.1.43.16.5.1.2").values())  # prtConsoleDisplayBufferText


@pytest.mark.parametrize("stem", PRINTERS)
def test_colour_printers_have_four_process_colorants(stem: str) -> None:
    colours = set(col(load(stem), "1.3.6.1.2.1.43.12.1.1.4").values())
    if DEVICES[stem][2]:
        assert colours == {b"black", b"cyan", b"magenta", b"yellow"}
    else:
        assert colours == {b"black"}


def test_fleet_covers_the_supply_kinds() -> None:
    kinds = {(v, c) for s in PRINTERS for v, c in zip(*_type_and_class(load(s)), strict=True)}
    assert (4, 4) in kinds, "waste toner receptacle"
    assert (8, 4) in kinds, "waste ink receptacle"
    assert any(t == 9 for t, _ in kinds), "drum/opc"
    assert any(t == 15 for t, _ in kinds), "fuser"
    assert any(t == 5 for t, _ in kinds), "ink"


def _type_and_class(rec: Recording) -> tuple[list[object], list[object]]:
    return list(col(rec, f"{SUPPLY}.5").values()), list(col(rec, f"{SUPPLY}.4").values())


def _alert_codes(rec: Recording) -> set[object]:
    return set(col(rec, f"{ALERT}.7").values())


def test_hp_two_line_hex_descriptions_and_nearly_empty_black() -> None:
    rec = load("hp-clj-m477")
    black = rec.get(f"{SUPPLY}.6.1.1")
    assert isinstance(black, bytes)
    head, _, tail = black.partition(b"\n")
    assert head == b"Black Cartridge "
    assert bytes(int(h, 16) for h in tail.split()) == b"HP CF410A\x00"  # quirk: the rest as spaced hex text
    assert rec.get(f"{SUPPLY}.9.1.1") == 4
    assert rec.get(f"{SUPPLY}.8.1.1") == 100
    assert decode_error_flags(rec.get(ERRORS)) == ["low_toner"]  # type: ignore[arg-type]
    assert 1104 in _alert_codes(rec)  # markerTonerAlmostEmpty


def test_brother_reports_some_remaining() -> None:
    rec = load("brother-hl-l5100dn")
    assert set(col(rec, f"{SUPPLY}.9").values()) == {-3}
    assert set(col(rec, f"{SUPPLY}.5").values()) == {3, 9}  # toner, opc (drum)
    assert decode_error_flags(rec.get(ERRORS)) == []  # type: ignore[arg-type]


def test_kyocera_paper_jam_is_consistent() -> None:
    rec = load("kyocera-taskalfa-2553ci")
    assert decode_error_flags(rec.get(ERRORS)) == ["jammed"]  # type: ignore[arg-type]
    assert rec.get(DEVICE_STATUS) == 5  # down
    assert rec.get(PRINTER_STATUS) == 1  # other
    jam = [idx for idx, code in col(rec, f"{ALERT}.7").items() if code == 8]
    assert len(jam) == 1
    assert rec.get(f"{ALERT}.2.{jam[0]}") == 3  # critical
    assert (4, 4) in zip(*_type_and_class(rec), strict=True)  # waste toner box


def test_lexmark_door_open_is_consistent() -> None:
    rec = load("lexmark-ms621dn")
    assert decode_error_flags(rec.get(ERRORS)) == ["door_open"]  # type: ignore[arg-type]
    assert rec.get("1.3.6.1.2.1.43.6.1.1.3.1.1") == 3  # prtCoverStatus coverOpen
    assert 501 in _alert_codes(rec)  # doorOpen
    assert rec.get(DEVICE_STATUS) == 5
    assert rec.get(f"{SUPPLY}.9.1.3") == -2  # fuser level unknown


def test_epson_ink_and_maintenance_box() -> None:
    rec = load("epson-wf-c5790")
    assert rec.get("1.3.6.1.2.1.43.10.2.1.2.1.1") == 12  # prtMarkerMarkTech inkjetAqueous
    assert list(zip(*_type_and_class(rec), strict=True)) == [(5, 3)] * 4 + [(8, 4)]
    assert 1105 in _alert_codes(rec)  # markerInkAlmostEmpty


def test_switch_interfaces_counters_and_sensors() -> None:
    rec = load("cisco-c9200l-24p")
    names = col(rec, "1.3.6.1.2.1.31.1.1.1.1")
    assert len([n for n in names.values() if isinstance(n, bytes) and n.startswith(b"Gi1/")]) >= 24
    hc_in = col(rec, "1.3.6.1.2.1.31.1.1.1.6")
    assert hc_in.keys() == names.keys()
    assert max(v for v in hc_in.values() if isinstance(v, int)) > 2**32  # needs the 64-bit counters
    oper = col(rec, "1.3.6.1.2.1.2.2.1.8")
    assert list(oper.values()).count(2) >= 3
    assert 6 in oper.values()  # notPresent
    assert 2 in col(rec, "1.3.6.1.2.1.2.2.1.7").values()  # one admin down
    assert b"JAE24410KQ7" in col(rec, "1.3.6.1.2.1.47.1.1.1.1.11").values()  # entPhysicalSerialNum
    assert b"C9200L-24P-4G" in col(rec, "1.3.6.1.2.1.47.1.1.1.1.13").values()  # entPhysicalModelName
    sensors = col(rec, "1.3.6.1.2.1.99.1.1.1.1")
    temps = [i for i, t in sensors.items() if t == 8]  # celsius
    assert len(temps) >= 3
    scale_precision = {(rec.get(f"1.3.6.1.2.1.99.1.1.1.2.{i}"), rec.get(f"1.3.6.1.2.1.99.1.1.1.3.{i}")) for i in temps}
    assert scale_precision == {(9, 0), (9, 1), (8, 0)}  # units, units with 1 decimal, milli


def test_linux_host_mibs() -> None:
    rec = load("linux-files01")
    storage = col(rec, "1.3.6.1.2.1.25.2.3.1.3")
    assert b"Physical memory" in storage.values()
    assert b"/" in storage.values()
    assert len(col(rec, "1.3.6.1.2.1.25.3.3.1.2")) == 4  # hrProcessorLoad per core
    assert isinstance(rec.get("1.3.6.1.2.1.25.1.1.0"), int)  # hrSystemUptime
    assert isinstance(rec.get("1.3.6.1.2.1.25.1.6.0"), int)  # hrSystemProcesses
    assert rec.get("1.3.6.1.4.1.2021.4.5.0") == 16_314_912  # memTotalReal (kB)
    assert col(rec, "1.3.6.1.4.1.2021.10.1.3") == {"1": b"0.61", "2": b"0.48", "3": b"0.40"}  # laLoad
    temps = col(rec, "1.3.6.1.4.1.2021.13.16.2.1.3")
    assert temps
    assert all(isinstance(v, int) and 20_000 < v < 100_000 for v in temps.values())  # millidegrees C
