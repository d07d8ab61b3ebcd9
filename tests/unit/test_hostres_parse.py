"""HOST-RESOURCES + UCD-SNMP parsing (agent/probes/hostres.py), no sockets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.fetch import Fetched
from agent.probes import hostres as m
from agent.probes.base import Detection
from agent.snmprec import Recording
from agent.wire import Device, DevicePoll, Host

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "librenms"
T = "1.3.6.1.2.1.25.2.1."  # hrStorageTypes


def storage_rows(*rows: tuple[str, str, bytes, object, object, object]) -> Fetched:
    """(index, type number, descr, units, size, used) -> Fetched with the hrStorage columns."""
    f = Fetched()
    for idx, kind, descr, units, size, used in rows:
        for col, value in (
            (m.HR_STORAGE_TYPE, T + kind),
            (m.HR_STORAGE_DESCR, descr),
            (m.HR_STORAGE_UNITS, units),
            (m.HR_STORAGE_SIZE, size),
            (m.HR_STORAGE_USED, used),
        ):
            f.columns.setdefault(col, {})[idx] = value  # type: ignore[assignment]
    return f


def test_bytes_are_units_times_allocation_units() -> None:
    s = m.parse(storage_rows(("1", "4", b"C:\\ Label:  Serial Number 10f82425", 4096, 1000, 250)))
    (disk,) = s.host.disks
    assert disk.mount == "C:\\"  # windows_svr_2019_1809 label/serial suffix dropped
    assert (disk.total_bytes, disk.used_bytes, disk.percent) == (4_096_000, 1_024_000, 25.0)


def test_negative_integer32_size_on_huge_volume_is_unwrapped() -> None:
    # net-snmp's Integer32 overflow on volumes past 2^31 units.
    s = m.parse(storage_rows(("51", "4", b"/volume1", 65536, -(2**31) + 10, 5)))
    assert s.host.disks[0].total_bytes == (2**31 + 10) * 65536


@pytest.mark.parametrize(
    ("kind", "descr", "size", "reported"),
    [
        pytest.param("4", b"/", 10, True, id="fixed-disk"),
        pytest.param("10", b"/mnt/nfs", 10, True, id="network-disk"),
        pytest.param("9", b"flash:", 10, True, id="flash"),
        pytest.param("7", b"D:\\", 0, False, id="windows-cd-drive"),
        pytest.param("2", b"Physical Memory", 10, False, id="ram-is-not-a-disk"),
        pytest.param("4", b"/sys/fs/cgroup/unified", 0, False, id="size-zero-pseudo-fs-arubaos-cx"),
        pytest.param("4", b"/dev/md3.uzip, mounted on: /.mount/packages/mnt/x", 10, False, id="junos-ro-image"),
        pytest.param("4", b"devfs: dev file system, mounted on: /dev", 10, False, id="junos-devfs"),
    ],
)
def test_which_storage_is_a_disk(kind: str, descr: bytes, size: int, reported: bool) -> None:
    s = m.parse(storage_rows(("1", kind, descr, 1024, size, 1)))
    assert bool(s.host.disks) is reported


def test_junos_mounted_on_descr() -> None:
    s = m.parse(storage_rows(("1", "4", b"/dev/ada1s1f, mounted on: /.mount/var", 4096, 100, 10)))
    assert (s.host.disks[0].mount, s.host.disks[0].device) == ("/.mount/var", "/dev/ada1s1f")


def test_linux_hrstorage_memory_without_buffers_and_cache() -> None:
    # linux_lsi: "Physical memory" used includes buffers and page cache.
    f = storage_rows(
        ("1", "2", b"Physical memory", 1024, 1000, 800),
        ("6", "1", b"Memory buffers", 1024, 1000, 100),
        ("7", "1", b"Cached memory", 1024, 300, 300),
        ("10", "3", b"Swap space", 1024, 500, 50),
    )
    h = m.parse(f).host
    assert h.memory_total_bytes == 1_024_000
    assert h.memory_used_bytes == 400 * 1024
    assert h.memory_percent == 40.0
    assert (h.swap_total_bytes, h.swap_used_bytes, h.swap_percent) == (512_000, 51_200, 10.0)


def test_newer_netsnmp_memory_already_without_cache() -> None:
    # arubaos-cx_10.07: cache (2.27 GB) larger than "used" (1.96 GB): nothing to subtract.
    f = storage_rows(
        ("1", "2", b"Physical memory", 1024, 1000, 200),
        ("7", "1", b"Cached memory", 1024, 300, 300),
    )
    assert m.parse(f).host.memory_used_bytes == 200 * 1024


def test_windows_virtual_memory_is_not_swap() -> None:
    f = storage_rows(
        ("3", "3", b"Virtual Memory", 65536, 301039, 63229),
        ("4", "2", b"Physical Memory", 65536, 262127, 59527),
    )
    h = m.parse(f).host
    assert h.memory_total_bytes == 262127 * 65536
    assert h.swap_total_bytes is None


def test_ucd_memory_wins_over_hrstorage() -> None:
    f = storage_rows(("1", "2", b"Physical memory", 1024, 9999, 9999))
    f.scalars.update(
        {
            m.MEM_TOTAL_REAL: 1000,
            m.MEM_AVAIL_REAL: 100,
            m.MEM_BUFFER: 50,
            m.MEM_CACHED: 250,
            m.MEM_TOTAL_SWAP: 2000,
            m.MEM_AVAIL_SWAP: 1500,
        }
    )
    h = m.parse(f).host
    assert (h.memory_total_bytes, h.memory_used_bytes) == (1_024_000, 600 * 1024)
    assert (h.swap_total_bytes, h.swap_used_bytes, h.swap_percent) == (2_048_000, 512_000, 25.0)


def test_cpu_per_processor_and_mean() -> None:
    f = Fetched(columns={m.HR_PROCESSOR_LOAD: {"196609": 10, "196608": 30, "196610": b"x", "196611": 250}})
    h = m.parse(f).host
    assert h.cpu_per_core == [30.0, 10.0]  # garbage and impossible values skipped, index order
    assert (h.cpu_count, h.cpu_percent) == (2, 20.0)


def test_cpu_from_ucd_idle_when_no_hr_processor() -> None:
    f = Fetched(scalars={m.SS_CPU_IDLE: 84})
    assert m.parse(f).host.cpu_percent == 16.0


@pytest.mark.parametrize(
    ("scalars", "load"),
    [
        pytest.param({m.LA_LOAD_INT_1: 161}, 1.61, id="laLoadInt"),
        pytest.param({m.LA_LOAD_1: b"0.42"}, 0.42, id="laLoad-text"),
        pytest.param({m.LA_LOAD_1: b"n/a"}, None, id="laLoad-garbage"),
        pytest.param({}, None, id="windows-no-load"),
    ],
)
def test_load(scalars: dict[str, object], load: float | None) -> None:
    assert m.parse(Fetched(scalars=scalars)).host.load_1m == load  # type: ignore[arg-type]


def test_garbage_everywhere_never_raises() -> None:
    f = storage_rows(("1", "4", b"/", b"x", "big", None), ("2", "zz", 12, -5, 10, 10))
    f.columns[m.HR_STORAGE_TYPE]["3"] = 42  # type: ignore[assignment]
    f.scalars.update({m.HR_SYSTEM_PROCESSES: b"many", m.HR_SYSTEM_UPTIME: -1, m.MEM_TOTAL_REAL: "x"})
    s = m.parse(f)
    assert s.host.disks == []
    assert s.host.processes is None
    assert s.uptime_s is None


def test_uptime_and_processes() -> None:
    s = m.parse(Fetched(scalars={m.HR_SYSTEM_UPTIME: 127716610, m.HR_SYSTEM_PROCESSES: 102}))
    assert s.uptime_s == 1277166.1
    assert s.host.processes == 102


def test_detect() -> None:
    assert m.detect(Detection(present=frozenset({m.HR_STORAGE_ENTRY})))
    assert m.detect(Detection(present=frozenset({m.UCD_MEMORY})))
    assert not m.detect(Detection())


def test_apply_fills_gaps_without_overwriting() -> None:
    poll = DevicePoll(device_id="h", ts=0, device=Device(address="127.0.0.1"), host=Host(load_1m=0.5))
    m.apply(m.parse(Fetched(scalars={m.HR_SYSTEM_PROCESSES: 7, m.LA_LOAD_INT_1: 300})), poll)
    assert poll.host is not None
    assert (poll.host.load_1m, poll.host.processes) == (0.5, 7)


def _librenms(stem: str) -> dict:
    return json.loads((CORPUS / f"{stem}.json").read_text())


@pytest.mark.corpus
@pytest.mark.parametrize("stem", ["windows_svr_2019_1809", "linux_lsi", "dsm", "arubaos-cx_10.07", "junos_vmx"])
def test_recordings_agree_with_librenms(stem: str) -> None:
    """Every disk LibreNMS lists is ours within 1 point; memory and CPU count agree."""
    if not (CORPUS / f"{stem}.snmprec").exists():
        pytest.skip(f"corpus not present at {CORPUS}")
    s = m.parse(Recording.load(CORPUS / f"{stem}.snmprec").fetch(m.FETCH))
    ref = _librenms(stem)
    disks = {d.mount: d for d in s.host.disks}
    for row in ref["storage"]["discovery"]["storage"]:
        mount, _ = m._mount(row["storage_descr"])
        assert mount in disks, f"{stem}: LibreNMS storage {row['storage_descr']!r} missing"
        ours = disks[mount]
        assert ours.total_bytes == row["storage_size"]
        assert ours.percent is not None
        assert abs(ours.percent - row["storage_used"] / row["storage_size"] * 100) < 1
    pools = [p for p in ref["mempools"]["discovery"]["mempools"] if p["mempool_type"] == "hrstorage"]
    system = next((p for p in pools if p["mempool_class"] == "system"), None)
    if system is not None:  # dsm: we read UCD memory, LibreNMS hrStorage; same within a point
        assert s.host.memory_total_bytes == system["mempool_total"]
        assert s.host.memory_percent is not None
        assert abs(s.host.memory_percent - system["mempool_used"] / system["mempool_total"] * 100) < 1
    procs = [p for p in ref["processors"]["discovery"]["processors"] if p["processor_type"] == "hr"]
    if procs:
        assert s.host.cpu_count == len(procs)
        assert s.host.cpu_per_core == [float(p["processor_usage"]) for p in procs]
