"""IF-MIB parsing (agent/probes/interfaces.py): rows -> Interface, no sockets."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.fetch import Fetched
from agent.probes import interfaces as m
from agent.probes.base import Detection
from agent.snmprec import Recording
from agent.wire import Device, DevicePoll

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "librenms"


def fetched(rows: dict[str, dict[str, object]]) -> Fetched:
    """``{index: {column_name: value}}`` -> Fetched, column names as in ``m.COLUMNS``."""
    f = Fetched()
    for idx, row in rows.items():
        for name, value in row.items():
            f.columns.setdefault(m.COLUMNS[name], {})[idx] = value  # type: ignore[assignment]
    return f


def one(row: dict[str, object], idx: str = "3") -> m.Interface:
    (iface,) = m.parse(fetched({idx: row}))
    return iface


def test_full_row_with_hc_counters() -> None:
    i = one(
        {
            "descr": b"GigabitEthernet1/0/1",
            "name": b"Gi1/0/1",
            "alias": b"uplink core",
            "type": 6,
            "mtu": 1500,
            "speed": 1_000_000_000,
            "high_speed": 1000,
            "mac": bytes.fromhex("ac7e8a19bf40"),
            "admin": 1,
            "oper": 7,
            "in_octets": 5,
            "hc_in_octets": 2**40,
            "hc_out_octets": 2**33,
            "hc_in_ucast": 10,
            "hc_out_ucast": 11,
            "in_ucast": 1,
            "in_errors": 2,
            "out_errors": 3,
            "in_discards": 4,
            "out_discards": 5,
        }
    )
    assert i.index == 3
    assert (i.name, i.descr, i.alias) == ("Gi1/0/1", "GigabitEthernet1/0/1", "uplink core")
    assert i.type == "ethernet_csmacd"
    assert i.mac == "ac:7e:8a:19:bf:40"
    assert (i.admin_status, i.oper_status) == ("up", "lower_layer_down")
    assert i.speed_bps == 1_000_000_000
    assert i.counter_bits == 64
    assert (i.in_octets, i.out_octets, i.in_ucast_pkts, i.out_ucast_pkts) == (2**40, 2**33, 10, 11)
    assert (i.in_errors, i.out_errors, i.in_discards, i.out_discards) == (2, 3, 4, 5)


def test_32bit_only_agent() -> None:
    i = one({"descr": b"eth0", "in_octets": 100, "out_octets": 200, "in_ucast": 1, "out_ucast": 2})
    assert i.counter_bits == 32
    assert (i.in_octets, i.out_octets) == (100, 200)
    assert i.name == "eth0"  # no ifName: ifDescr stands in


def test_hc_octets_without_hc_packets_keeps_32bit_packets() -> None:
    i = one({"hc_in_octets": 7, "hc_out_octets": 8, "in_ucast": 3, "out_ucast": 4})
    assert i.counter_bits == 64
    assert (i.in_ucast_pkts, i.out_ucast_pkts) == (3, 4)


def test_no_counters_at_all_has_no_width() -> None:
    assert one({"descr": b"lo", "oper": 1}).counter_bits is None


@pytest.mark.parametrize(
    ("speed", "high", "expected"),
    [
        pytest.param(4_294_967_295, 10_000, 10_000_000_000, id="ifSpeed-saturated-10G"),
        pytest.param(1_544_000, 2, 1_544_000, id="t1-ifSpeed-more-exact-than-ifHighSpeed"),
        pytest.param(64_000, 0, 64_000, id="slow-serial-ifHighSpeed-zero"),
        pytest.param(100_000_000, None, 100_000_000, id="no-ifXTable"),
        pytest.param(None, 40_000, 40_000_000_000, id="only-ifHighSpeed"),
        pytest.param(0, 0, 0, id="virtual-port-zero"),
        pytest.param(b"fast", None, None, id="garbage-speed"),
    ],
)
def test_speed(speed: object, high: object, expected: int | None) -> None:
    row: dict[str, object] = {"descr": b"x"}
    if speed is not None:
        row["speed"] = speed
    if high is not None:
        row["high_speed"] = high
    assert one(row).speed_bps == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(bytes.fromhex("00259 08e6d1c".replace(" ", "")), "00:25:90:8e:6d:1c", id="raw-6-bytes"),
        pytest.param(b"", None, id="empty-loopback"),
        pytest.param(b"\x00" * 6, None, id="all-zero"),
        pytest.param(b"0:25:90:8e:6d:1c", "00:25:90:8e:6d:1c", id="text-colons-short-groups"),
        pytest.param(b"00-25-90-8E-6D-1C", "00:25:90:8e:6d:1c", id="text-dashes"),
        pytest.param(bytes.fromhex("0102030405060708"), "01:02:03:04:05:06:07:08", id="eui64-firewire"),
        pytest.param(12, None, id="integer-garbage"),
    ],
)
def test_mac(raw: object, expected: str | None) -> None:
    assert one({"descr": b"x", "mac": raw}).mac == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(6, "ethernet_csmacd", id="ethernet"),
        pytest.param(161, "ieee8023ad_lag", id="lag"),
        pytest.param(53, "prop_virtual", id="vlan-interface-cisco"),
        pytest.param(999, "999", id="unlisted-type-as-number"),
        pytest.param(b"6", "ethernet_csmacd", id="number-as-text"),
    ],
)
def test_type(raw: object, expected: str) -> None:
    assert one({"type": raw}).type == expected


def test_unknown_status_number_is_kept_as_text() -> None:
    i = one({"admin": 9, "oper": 42})
    assert (i.admin_status, i.oper_status) == ("9", "42")


def test_garbage_values_are_skipped_not_raised() -> None:
    i = one(
        {
            "descr": 17,
            "type": None,
            "mtu": b"\xff\xfe",
            "admin": "up",
            "oper": b"",
            "in_octets": -5,
            "out_octets": b"lots",
            "in_errors": 3.5,
            "high_speed": -1,
        }
    )
    assert i.mtu is None
    assert i.admin_status is None
    assert i.oper_status is None
    assert i.in_octets is None
    assert i.out_octets is None
    assert i.in_errors is None
    assert i.descr == "17"


def test_non_numeric_index_is_not_a_port() -> None:
    out = m.parse(fetched({"1": {"descr": b"a"}, "1.2": {"descr": b"b"}, "x": {"descr": b"c"}}))
    assert [i.index for i in out] == [1]


def test_rows_are_union_of_columns_and_sorted() -> None:
    # ios_2960x quirk: no ifIndex column; ports exist only through other columns.
    out = m.parse(fetched({"10": {"oper": 1}, "2": {"name": b"b"}, "5": {"hc_in_octets": 1}}))
    assert [i.index for i in out] == [2, 5, 10]


def test_windows_hex_split_descr_is_repaired() -> None:
    # windows_svr_2019_1809: "Software Loopbac\n6B 20 49 ..." in the recording.
    raw = b"Software Loopbac\n6B 20 49 6E 74 65 72 66 61 63 65 20 31 00"
    assert one({"descr": raw}).descr == "Software Loopback Interface 1"
    assert one({"descr": b"two\nlines"}).descr == "two\nlines"


def test_detect_and_apply() -> None:
    assert m.detect(Detection(present=frozenset({m.IF_ENTRY})))
    assert not m.detect(Detection(present=frozenset()))
    poll = DevicePoll(device_id="sw", ts=0, device=Device(address="127.0.0.1"))
    m.apply(m.parse(fetched({"1": {"oper": 1}})), poll)
    assert poll.interfaces[0].oper_status == "up"


@pytest.mark.corpus
@pytest.mark.parametrize(
    ("stem", "ports", "bits"),
    [
        # ios_2960x: StackPort/StackSub rows have no octet counters at all.
        pytest.param("ios_2960x", 146, {64, None}, id="cisco-146-ports-no-ifIndex-column-stackports-no-octets"),
        pytest.param("windows_svr_2019_1809", 24, {32}, id="windows-32bit-only"),
        pytest.param("linux_lsi", 4, {None}, id="linux-no-octet-counters-recorded"),
    ],
)
def test_recordings(stem: str, ports: int, bits: set[int | None]) -> None:
    path = CORPUS / f"{stem}.snmprec"
    if not path.exists():
        pytest.skip(f"corpus not present at {CORPUS}")
    out = m.parse(Recording.load(path).fetch(m.FETCH))
    assert len(out) == ports
    assert {i.counter_bits for i in out} == bits
    assert all(i.oper_status is not None for i in out)
