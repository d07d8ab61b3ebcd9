"""Printer probe parsers on hand-written rows: every quirk has a case named after it."""

from __future__ import annotations

import pytest

from agent.fetch import Fetched
from agent.probes import printer
from agent.probes.base import Detection
from agent.probes.printer_vendors import RICOH_TONER_LEVEL, Quirks, quirks_for
from agent.wire import Device, DevicePoll, SupplyState, TrayState
from collector.series import PRINTER_ERROR_FLAGS

HP = "1.3.6.1.4.1.11.2.3.9.1"
BROTHER = "1.3.6.1.4.1.2435.2.3.9.1"
RICOH = "1.3.6.1.4.1.367.1.1"


def supplies_fetched(rows: dict[str, dict[str, object]], *, sys_object_id: str = HP, **columns: dict) -> Fetched:
    """Fetched with prtMarkerSuppliesTable rows given as {index: {column_name: value}}."""
    names = {
        "colorant": printer.SUP_COLORANT_INDEX,
        "class": printer.SUP_CLASS,
        "type": printer.SUP_TYPE,
        "descr": printer.SUP_DESCR,
        "unit": printer.SUP_UNIT,
        "max": printer.SUP_MAX,
        "level": printer.SUP_LEVEL,
    }
    cols: dict[str, dict[str, object]] = {}
    for idx, row in rows.items():
        for name, value in row.items():
            cols.setdefault(names[name], {})[idx] = value
    cols.update(columns)
    return Fetched(scalars={printer.SYS_OBJECT_ID: sys_object_id}, columns=cols)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- descriptions

# Values as recorded on an HP Color LaserJet flow MFP M880 (prtMarkerSuppliesDescription, hex in the .snmprec).
M880_BLACK = bytes.fromhex(
    "426C61636B20436172747269646765200a333820333220333720343120323020343820353020323020343320343620333320333020"
    "333020343120303020"
)
M880_MAGENTA = bytes.fromhex(
    "4D6167656E74612043617274726964670a363520323020333820333220333720343120323020343820353020323020343320343620"
    "333320333020333320343120200a303020"
)


@pytest.mark.parametrize(
    ("raw", "description", "part"),
    [
        pytest.param(M880_BLACK, "Black Cartridge 827A", "CF300A", id="hp_two_line_hex"),
        pytest.param(M880_MAGENTA, "Magenta Cartridge 827A", "CF303A", id="hp_two_line_hex_cut_mid_word_three_lines"),
        pytest.param(b"Black Cartridge HP CF410A", "Black Cartridge", "CF410A", id="hp_pn_tail"),
        pytest.param(b"Clean Rollers HP None", "Clean Rollers", None, id="hp_pn_none"),
        pytest.param(
            b"Magenta Cartridge HP CF413A This description is longer than 32",
            "Magenta Cartridge HP CF413A This description is longer than 32",
            "CF413A",
            id="hp_pn_inside_long_text",
        ),
        pytest.param(b"Black Toner, PN 006R01509;SN48178080E0000481", "Black Toner", "006R01509", id="pn_tail"),
        pytest.param(b"Fuser, PN unknown;SNunknown", "Fuser", None, id="pn_tail_unknown"),
        pytest.param(b"Black Toner\x00\x00\x00\x00", "Black Toner", None, id="nul_bytes"),
        pytest.param(b"Cyan Toner\x00\xff\xfegarbage", "Cyan Toner", None, id="nul_then_garbage"),
        pytest.param(b"Toner  (Black) ", "Toner (Black)", None, id="spaces_collapsed"),
        pytest.param("Drum Unit", "Drum Unit", None, id="str_value"),
        pytest.param(b"Line one\nnot hex at all", "Line one not hex at all", None, id="newline_but_not_hex"),
        pytest.param(b"Toner\nAB", "Toner AB", None, id="hex_like_line_not_printable_kept"),
        pytest.param(b"", None, None, id="empty"),
        pytest.param(None, None, None, id="missing"),
    ],
)
def test_supply_description(raw: object, description: str | None, part: str | None) -> None:
    assert printer.supply_description(raw) == (description, part)


# --------------------------------------------------------------------------- levels


@pytest.mark.parametrize(
    ("level", "capacity", "receptacle", "quirks", "state", "percent"),
    [
        pytest.param(54, 100, False, Quirks(), SupplyState.ok, 54.0, id="ok"),
        pytest.param(22050, 45000, False, Quirks(), SupplyState.ok, 49.0, id="ok_large_capacity"),
        pytest.param(0, 100, False, Quirks(), SupplyState.ok, 0.0, id="ok_zero_is_a_real_level"),
        pytest.param(-1, 100, False, Quirks(), SupplyState.unlimited, None, id="level_minus_1"),
        pytest.param(-2, 100, False, Quirks(), SupplyState.unknown, None, id="level_minus_2"),
        pytest.param(-3, -2, False, Quirks(), SupplyState.some_remaining, None, id="level_minus_3"),
        pytest.param(50, -2, False, Quirks(), SupplyState.unknown, None, id="capacity_minus_2"),
        pytest.param(50, -1, False, Quirks(), SupplyState.unknown, None, id="capacity_minus_1"),
        pytest.param(50, 0, False, Quirks(), SupplyState.unknown, None, id="capacity_zero"),
        pytest.param(50, None, False, Quirks(), SupplyState.unknown, None, id="capacity_missing"),
        pytest.param(None, 100, False, Quirks(), SupplyState.unknown, None, id="level_missing"),
        pytest.param(-7, 100, False, Quirks(), SupplyState.unknown, None, id="other_negative_level"),
        pytest.param(120, 100, False, Quirks(), SupplyState.ok, 100.0, id="level_above_capacity_clamped"),
        pytest.param(100, 100, True, Quirks(), SupplyState.ok, 0.0, id="waste_toner_receptacle_empty_box"),
        pytest.param(5, 100, True, Quirks(), SupplyState.ok, 95.0, id="waste_toner_receptacle_nearly_full"),
        pytest.param(-3, -2, True, Quirks(), SupplyState.some_remaining, None, id="waste_toner_receptacle_minus_3"),
        pytest.param(0, -2, False, Quirks(brother_codes=True), SupplyState.full, None, id="brother_codes_0_full"),
        pytest.param(1, -2, False, Quirks(brother_codes=True), SupplyState.low, None, id="brother_codes_1_low"),
        pytest.param(2, -2, False, Quirks(brother_codes=True), SupplyState.empty, None, id="brother_codes_2_empty"),
        pytest.param(3, -2, False, Quirks(brother_codes=True), SupplyState.near_empty, None, id="brother_codes_3"),
        pytest.param(3, 12000, False, Quirks(brother_codes=True), SupplyState.ok, 0.0, id="brother_real_capacity"),
        pytest.param(-3, -2, False, Quirks(brother_codes=True), SupplyState.some_remaining, None, id="brother_minus_3"),
        pytest.param(-100, 100, False, Quirks(ricoh=True), SupplyState.empty, None, id="ricoh_minus_100"),
        pytest.param(-100, 100, False, Quirks(), SupplyState.unknown, None, id="minus_100_not_ricoh"),
    ],
)
def test_supply_state(
    level: int | None,
    capacity: int | None,
    receptacle: bool,
    quirks: Quirks,
    state: SupplyState,
    percent: float | None,
) -> None:
    assert printer.supply_state(level, capacity, receptacle=receptacle, quirks=quirks) == (state, percent)


@pytest.mark.parametrize(
    ("sys_object_id", "model", "expected"),
    [
        pytest.param(BROTHER, "Brother HL-5370DW series", Quirks(brother_codes=True), id="brother_codes"),
        pytest.param(BROTHER, "Brother MFC-L8850CDW", Quirks(), id="brother_mfc_l8850_exception"),
        pytest.param(RICOH, "RICOH Aficio MP C3002", Quirks(ricoh=True), id="ricoh"),
        pytest.param(HP, "HP LaserJet", Quirks(), id="hp_no_quirks"),
    ],
)
def test_quirks_for(sys_object_id: str, model: str, expected: Quirks) -> None:
    from agent.vendors import enterprise_of

    assert quirks_for(enterprise_of(sys_object_id), model) == expected


# --------------------------------------------------------------------------- supplies from rows


def test_supplies_colour_class_unit_from_tables() -> None:
    f = supplies_fetched(
        {
            "1.1": {
                "colorant": 1,
                "class": 3,
                "type": 21,
                "descr": b"Black Cartridge HP CF300A",
                "unit": 19,
                "max": 100,
                "level": 92,
            },
            "1.2": {
                "colorant": 0,
                "class": 4,
                "type": 4,
                "descr": b"Toner Collection Unit",
                "unit": 19,
                "max": 100,
                "level": 20,
            },
        },
        **{printer.COLORANT_VALUE: {"1.1": b"black"}},
    )
    black, waste = printer.parse(f).supplies
    assert (black.index, black.type, black.supply_class, black.color, black.unit) == (
        "1.1",
        "toner_cartridge",
        "consumed",
        "black",
        "percent",
    )
    assert (black.percent, black.part_number, black.description) == (92.0, "CF300A", "Black Cartridge")
    # Receptacle reported by class: level is the remaining space, percent is the fill.
    assert (waste.type, waste.supply_class, waste.color, waste.level, waste.percent) == (
        "waste_toner",
        "receptacle",
        None,
        20,
        80.0,
    )


def test_supplies_without_type_or_class_columns_infer_from_description() -> None:
    # Xerox AltaLink C8045 / Konica bizhub C3110: only description, capacity and level are reported.
    f = supplies_fetched(
        {
            "1.1": {"descr": b"Toner (Cyan)", "max": 100, "level": 29},
            "1.2": {"descr": b"Waste Toner Container, PN 008R13061;SNunknown", "max": 100, "level": 5},
            "1.3": {"descr": b"Ozone Filter", "max": 100, "level": 45},
        },
        **{printer.COLORANT_VALUE: {"1.1": b"cyan"}},
    )
    toner, waste, ozone = printer.parse(f).supplies
    assert (toner.type, toner.supply_class, toner.color) == ("toner", "consumed", "cyan")
    assert (waste.type, waste.supply_class, waste.percent, waste.part_number) == (
        "waste_toner",
        "receptacle",
        95.0,
        "008R13061",
    )
    assert (ozone.type, ozone.color) == ("unknown", None)


def test_unresolvable_colorant_index_falls_back_to_description() -> None:
    # HP LaserJet M880: colorant indexes 1..8 but no prtMarkerColorantTable in the walk.
    f = supplies_fetched({"1.5": {"colorant": 5, "type": 9, "descr": b"Cyan Drum 828A HP CF359A", "max": 100,
                                  "level": 58}})  # fmt: skip
    assert printer.parse(f).supplies[0].color == "cyan"


def test_colorant_index_zero_means_no_colour_even_if_description_names_one() -> None:
    f = supplies_fetched({"1.9": {"colorant": 0, "type": 9, "descr": b"Black Drum", "max": 100, "level": 50}})
    assert printer.parse(f).supplies[0].color is None


def test_ricoh_private_table_when_printer_mib_has_no_supplies() -> None:
    f = supplies_fetched({}, sys_object_id=RICOH, **{RICOH_TONER_LEVEL: {"1": 40, "2": -100, "3": -3}})
    black, cyan, magenta = printer.parse(f).supplies
    assert (black.type, black.percent, black.state) == ("toner", 40.0, SupplyState.ok)
    assert (cyan.state, cyan.percent, cyan.level) == (SupplyState.empty, None, -100)
    assert magenta.state == SupplyState.some_remaining


def test_ricoh_private_level_fills_a_missing_printer_mib_level() -> None:
    f = supplies_fetched(
        {"1.1": {"type": 3, "descr": b"Black Toner", "max": 100}}, sys_object_id=RICOH, **{RICOH_TONER_LEVEL: {"1": 70}}
    )
    (black,) = printer.parse(f).supplies
    assert (black.level, black.percent) == (70, 70.0)


def test_ricoh_private_table_ignored_on_other_vendors() -> None:
    f = supplies_fetched({}, sys_object_id=HP, **{RICOH_TONER_LEVEL: {"1": 40}})
    assert printer.parse(f).supplies == ()


def test_brother_codes_from_rows() -> None:
    # Brother HL-5370DW: two toner rows, one with code 0 (full), one -3; drum with a real level.
    f = supplies_fetched(
        {
            "1.1": {"type": 3, "descr": b"Black Toner Cartridge", "max": -2, "level": 0},
            "1.2": {"type": 3, "descr": b"Black Toner Cartridge", "max": -2, "level": -3},
            "1.3": {"type": 9, "descr": b"Drum Unit", "max": 25000, "level": 17208},
        },
        sys_object_id=BROTHER,
    )
    t1, t2, drum = printer.parse(f).supplies
    assert (t1.state, t1.percent, t1.level) == (SupplyState.full, None, 0)
    assert (t2.state, t2.percent) == (SupplyState.some_remaining, None)
    assert (drum.state, drum.percent) == (SupplyState.ok, 68.8)


# --------------------------------------------------------------------------- trays


@pytest.mark.parametrize(
    ("level", "capacity", "state", "percent"),
    [
        pytest.param(200, 500, TrayState.ok, 40.0, id="ok"),
        pytest.param(0, 100, TrayState.empty, 0.0, id="empty"),
        pytest.param(-1, 100, TrayState.unlimited, None, id="level_minus_1"),
        pytest.param(-2, 1, TrayState.unknown, None, id="level_minus_2"),
        pytest.param(-3, 250, TrayState.some_remaining, None, id="level_minus_3"),
        pytest.param(30, -2, TrayState.ok, None, id="capacity_minus_2"),
        pytest.param(None, 250, TrayState.unknown, None, id="level_missing"),
    ],
)
def test_tray_state(level: int | None, capacity: int | None, state: TrayState, percent: float | None) -> None:
    assert printer.tray_state(level, capacity) == (state, percent)


def test_trays_from_rows_keep_kind_media_and_name() -> None:
    cols = {
        printer.IN_TYPE: {"1.1": 5, "1.2": 3},
        printer.IN_MAX: {"1.1": 100, "1.2": 550},
        printer.IN_LEVEL: {"1.1": 0, "1.2": 55},
        printer.IN_MEDIA: {"1.1": b"Any", "1.2": b"Plain"},
        printer.IN_NAME: {"1.1": b"Bypass Tray", "1.2": b""},
        printer.IN_DESCR: {"1.2": b"Cassette 1"},
    }
    bypass, main = printer.parse_trays(Fetched(columns=cols))  # type: ignore[arg-type]
    assert (bypass.name, bypass.kind, bypass.state, bypass.media) == (
        "Bypass Tray",
        "sheet_feed_manual",
        TrayState.empty,
        "Any",
    )
    assert (main.name, main.kind, main.percent) == ("Cassette 1", "sheet_feed_auto_removable_tray", 10.0)


# --------------------------------------------------------------------------- status, errors, alerts, counters


def test_error_bit_names_are_the_collector_vocabulary() -> None:
    assert printer.ERROR_BITS == PRINTER_ERROR_FLAGS


@pytest.mark.parametrize(
    ("value", "flags"),
    [
        pytest.param(b"\x00", [], id="one_octet_clear"),
        pytest.param(b"\x00\x00", [], id="two_octets_clear"),
        pytest.param(b"\x80", ["low_paper"], id="bit0_high_bit"),
        pytest.param(b"\x08", ["door_open"], id="door_open"),
        pytest.param(b"\x01\x80", ["service_requested", "input_tray_missing"], id="error_state_two_octets"),
        pytest.param(b"\x00\x02", ["overdue_prevent_maint"], id="overdue_prevent_maint_bit14"),
        pytest.param(b"\x00\x01", ["bit_15"], id="unknown_bit_kept"),
        pytest.param(b"\xff\xfe", list(PRINTER_ERROR_FLAGS), id="all_bits"),
        pytest.param(None, [], id="missing"),
        pytest.param(7, [], id="integer_instead_of_octets"),
    ],
)
def test_error_flags(value: object, flags: list[str]) -> None:
    assert printer.error_flags(value) == flags


def test_status_alerts_console_of_the_printer_row() -> None:
    cols = {
        printer.HR_DEVICE_TYPE: {"1": "1.3.6.1.2.1.25.3.1.6", "2": "1.3.6.1.2.1.25.3.1.5"},
        printer.HR_DEVICE_STATUS: {"1": 2, "2": 3},
        printer.HR_PRINTER_STATUS: {"2": 3},
        printer.HR_PRINTER_ERRORS: {"2": b"\x04\x00"},
        printer.AL_SEVERITY: {"2.1": 3, "2.7": 4},
        printer.AL_TRAINING: {"2.1": 3, "2.7": 7},
        printer.AL_GROUP: {"2.1": 6, "2.7": 11},
        printer.AL_GROUP_INDEX: {"2.1": 1, "2.7": 2},
        printer.AL_LOCATION: {"2.1": 0, "2.7": 0},
        printer.AL_CODE: {"2.1": 501, "2.7": 4242},
        printer.AL_DESCR: {"2.1": b"Close front door", "2.7": b"Vendor thing"},
        printer.AL_TIME: {"2.1": 1234, "2.7": 99},
        printer.CONSOLE_TEXT: {"2.2": b"Tray 2 empty", "2.1": b"Door open\x00"},
    }
    status = printer.parse_status(Fetched(columns=cols))  # type: ignore[arg-type]
    assert status is not None
    assert (status.printer_status, status.device_status, status.error_flags) == ("idle", "warning", ["jammed"])
    door, vendor = status.alerts
    assert (door.severity, door.training_level, door.group, door.code, door.code_number, door.description) == (
        "critical",
        "untrained",
        "cover",
        "door_open",
        501,
        "Close front door",
    )
    assert (vendor.severity, vendor.group, vendor.code, vendor.code_number) == (
        "warning",
        "marker_supplies",
        None,
        4242,
    )
    assert status.console_text == "Door open\nTray 2 empty"


def test_no_status_without_host_resources_printer_rows() -> None:
    assert printer.parse_status(Fetched()) is None


def test_counters_first_marker() -> None:
    cols = {
        printer.MK_LIFE_COUNT: {"1.1": 7792, "1.2": 12},
        printer.MK_POWER_ON_COUNT: {"1.1": 33},
        printer.MK_COUNTER_UNIT: {"1.1": 7},
    }
    c = printer.parse_counters(Fetched(columns=cols))  # type: ignore[arg-type]
    assert c.model_dump() == {"total_pages": 7792, "unit": "impressions", "power_on_pages": 33}


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("tonerCartridge", "toner_cartridge"),
        ("printerNMSReset", "printer_nms_reset"),
        ("hostResourcesMIBStorageTable", "host_resources_mib_storage_table"),
        ("warningBinaryChangeEvent", "warning_binary_change_event"),
        ("opc", "opc"),
    ],
)
def test_snake(label: str, expected: str) -> None:
    assert printer.snake(label) == expected


# --------------------------------------------------------------------------- module interface


def test_detect_on_printer_mib_or_ricoh_table_only() -> None:
    assert printer.detect(Detection(present=frozenset({printer.PRT_MARKER_SUPPLIES})))
    assert printer.detect(Detection(present=frozenset({RICOH_TONER_LEVEL})))
    # A Windows print server has hrPrinterTable rows but no Printer-MIB: not a printer.
    assert not printer.detect(Detection(present=frozenset({"1.3.6.1.2.1.25.2"})))


def test_detect_roots_share_identity_text() -> None:
    from agent.probes import identity

    assert {printer.PRT_GENERAL, printer.PRT_MARKER_SUPPLIES} <= set(identity.DETECT_ROOTS)


def test_apply_fills_the_poll() -> None:
    f = supplies_fetched(
        {"1.1": {"type": 3, "descr": b"Black Toner", "max": 100, "level": 40}},
        **{printer.IN_LEVEL: {"1.1": 10}, printer.IN_MAX: {"1.1": 100}, printer.MK_LIFE_COUNT: {"1.1": 5}},
    )
    poll = DevicePoll(device_id="p", ts=0.0, device=Device(address="127.0.0.1"))
    printer.apply(printer.parse(f), poll)
    assert [s.percent for s in poll.supplies] == [40.0]
    assert [t.percent for t in poll.trays] == [10.0]
    assert poll.counters.total_pages == 5
    assert poll.printer_status is None


@pytest.mark.parametrize(
    "garbage",
    [
        pytest.param(b"\xff\xfe", id="bytes_everywhere"),
        pytest.param("text", id="text_everywhere"),
        pytest.param(-2147483648, id="int_min_everywhere"),
        pytest.param(None, id="none_everywhere"),
    ],
)
def test_parse_never_raises_on_odd_values(garbage: object) -> None:
    idx = {"1.1": garbage, "x.y": garbage}
    f = Fetched(
        scalars={printer.SYS_OBJECT_ID: garbage},  # type: ignore[dict-item]
        columns={col: dict(idx) for col in printer.FETCH.columns},  # type: ignore[misc]
    )
    section = printer.parse(f)
    assert len(section.supplies) == 2
    assert all(s.percent is None for s in section.supplies)
