"""Servers and PCs over SNMP: HOST-RESOURCES-MIB (Windows, Linux, NAS) plus UCD-SNMP-MIB (net-snmp).

Fills the same ``Host`` the local psutil probe fills, so rules on memory,
disk and CPU work alike for an agent's own host and for a remote one.

- CPU: hrProcessorLoad per CPU (a one-minute average kept by the agent);
  ``cpu_percent`` is their mean. Without it, UCD ssCpuIdle.
- Memory: UCD memTotalReal/memAvailReal/memBuffer/memCached when present
  (net-snmp's own accounting, like ``free``), else the hrStorage RAM row.
  Swap: UCD memTotalSwap/memAvailSwap, else the hrStorage "Swap space" row.
  Windows' "Virtual Memory" row is the commit charge (RAM + page file), not
  swap, and is left out.
- Disks: hrStorage rows of disk types, bytes = units * hrStorageAllocationUnits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agent.fetch import Fetched, FetchSpec
from agent.probes.base import Detection, integer, text
from agent.wire import DevicePoll, Disk, Host

NAME = "hostres"

HR_SYSTEM_UPTIME = "1.3.6.1.2.1.25.1.1.0"  # HOST-RESOURCES-MIB::hrSystemUptime (ticks)
HR_SYSTEM_PROCESSES = "1.3.6.1.2.1.25.1.6.0"  # HOST-RESOURCES-MIB::hrSystemProcesses
HR_MEMORY_SIZE = "1.3.6.1.2.1.25.2.2.0"  # HOST-RESOURCES-MIB::hrMemorySize (KiB)
HR_STORAGE_ENTRY = "1.3.6.1.2.1.25.2.3.1"  # HOST-RESOURCES-MIB::hrStorageEntry
HR_STORAGE_TYPE = f"{HR_STORAGE_ENTRY}.2"  # hrStorageType (OID under hrStorageTypes)
HR_STORAGE_DESCR = f"{HR_STORAGE_ENTRY}.3"  # hrStorageDescr
HR_STORAGE_UNITS = f"{HR_STORAGE_ENTRY}.4"  # hrStorageAllocationUnits (bytes)
HR_STORAGE_SIZE = f"{HR_STORAGE_ENTRY}.5"  # hrStorageSize (units)
HR_STORAGE_USED = f"{HR_STORAGE_ENTRY}.6"  # hrStorageUsed (units)
HR_PROCESSOR_LOAD = "1.3.6.1.2.1.25.3.3.1.2"  # HOST-RESOURCES-MIB::hrProcessorLoad (percent)

UCD_MEMORY = "1.3.6.1.4.1.2021.4"  # UCD-SNMP-MIB::memory
MEM_TOTAL_SWAP = f"{UCD_MEMORY}.3.0"  # memTotalSwap (KiB)
MEM_AVAIL_SWAP = f"{UCD_MEMORY}.4.0"  # memAvailSwap (KiB)
MEM_TOTAL_REAL = f"{UCD_MEMORY}.5.0"  # memTotalReal (KiB)
MEM_AVAIL_REAL = f"{UCD_MEMORY}.6.0"  # memAvailReal (KiB)
MEM_BUFFER = f"{UCD_MEMORY}.14.0"  # memBuffer (KiB)
MEM_CACHED = f"{UCD_MEMORY}.15.0"  # memCached (KiB)
LA_LOAD_INT_1 = "1.3.6.1.4.1.2021.10.1.5.1"  # UCD-SNMP-MIB::laLoadInt.1 (1-minute load * 100)
LA_LOAD_1 = "1.3.6.1.4.1.2021.10.1.3.1"  # UCD-SNMP-MIB::laLoad.1 (text)
SS_CPU_IDLE = "1.3.6.1.4.1.2021.11.11.0"  # UCD-SNMP-MIB::ssCpuIdle (percent)

DETECT_ROOTS = (HR_STORAGE_ENTRY, "1.3.6.1.2.1.25.3.3.1", UCD_MEMORY)

FETCH = FetchSpec(
    scalars=(
        HR_SYSTEM_UPTIME,
        HR_SYSTEM_PROCESSES,
        HR_MEMORY_SIZE,
        MEM_TOTAL_SWAP,
        MEM_AVAIL_SWAP,
        MEM_TOTAL_REAL,
        MEM_AVAIL_REAL,
        MEM_BUFFER,
        MEM_CACHED,
        LA_LOAD_INT_1,
        LA_LOAD_1,
        SS_CPU_IDLE,
    ),
    columns=(
        HR_STORAGE_TYPE,
        HR_STORAGE_DESCR,
        HR_STORAGE_UNITS,
        HR_STORAGE_SIZE,
        HR_STORAGE_USED,
        HR_PROCESSOR_LOAD,
    ),
)

_STORAGE_TYPES = "1.3.6.1.2.1.25.2.1."  # HOST-RESOURCES-TYPES::hrStorageTypes
STORAGE_TYPES = {
    1: "other",
    2: "ram",
    3: "virtual_memory",
    4: "fixed_disk",
    5: "removable_disk",
    6: "floppy_disk",
    7: "compact_disc",
    8: "ram_disk",
    9: "flash_memory",
    10: "network_disk",
}
#: Storage types reported as disks. Floppies and CDs are always "full" and would only raise alarms.
DISK_TYPES = frozenset({"fixed_disk", "removable_disk", "ram_disk", "flash_memory", "network_disk"})


@dataclass(frozen=True)
class Storage:
    index: str
    type: str
    descr: str
    total_bytes: int | None
    used_bytes: int | None


@dataclass(frozen=True)
class HostSection:
    host: Host
    uptime_s: float | None = None  # hrSystemUptime: the OS, not the SNMP agent (sysUpTime)
    storage: tuple[Storage, ...] = field(default_factory=tuple)


def detect(d: Detection) -> bool:
    return any(d.has(r) for r in DETECT_ROOTS)


def _nonneg(value: object) -> int | None:
    n = integer(value)
    return n if n is not None and n >= 0 else None


def _units_value(value: object) -> int | None:
    """hrStorageSize/Used are Integer32: net-snmp wraps them negative on volumes past 2^31 units."""
    n = integer(value)
    if n is None:
        return None
    if n < 0:
        n += 1 << 32
        return n if n >= 0 else None
    return n


def _storage_type(value: object) -> str:
    oid = value if isinstance(value, str) else ""
    if oid.startswith(_STORAGE_TYPES):
        tail = oid[len(_STORAGE_TYPES) :]
        if tail.isdigit():
            return STORAGE_TYPES.get(int(tail), tail)
    return "other"


_MOUNTED_ON = ", mounted on: "
#: Read-only images and pseudo file systems, always "100% used" (junos_vmx: 30 /dev/mdN.uzip packages).
_PSEUDO_DEVICE = re.compile(r"^(/dev/md\d+(\.uzip)?|devfs|procfs|junosprocfs|fdescfs)(\b|:|$)")


def _mount(descr: str) -> tuple[str, str | None]:
    """hrStorageDescr -> (mount, device)."""
    # windows_svr_2019_1809: "C:\ Label:  Serial Number 10f82425" -> "C:\"
    if " Label:" in descr:
        return descr.split(" Label:", 1)[0].strip(), None
    # junos_vmx (FreeBSD): "/dev/ada1s1f, mounted on: /.mount/var"
    if _MOUNTED_ON in descr:
        device, mount = descr.split(_MOUNTED_ON, 1)
        return mount.strip(), device.split(":", 1)[0].strip() or None
    return descr, None


def _pct(used: int | None, total: int | None) -> float | None:
    if used is None or not total:
        return None
    return round(used / total * 100, 2)


def parse_storage(f: Fetched) -> list[Storage]:
    rows = f.table(
        {
            "type": HR_STORAGE_TYPE,
            "descr": HR_STORAGE_DESCR,
            "units": HR_STORAGE_UNITS,
            "size": HR_STORAGE_SIZE,
            "used": HR_STORAGE_USED,
        }
    )
    out: list[Storage] = []
    for idx, row in rows.items():
        units = _nonneg(row.get("units"))
        size = _units_value(row.get("size"))
        used = _units_value(row.get("used"))
        total_b = size * units if size is not None and units is not None else None
        used_b = used * units if used is not None and units is not None else None
        out.append(Storage(idx, _storage_type(row.get("type")), text(row.get("descr")) or idx, total_b, used_b))
    return out


def _kib(value: object) -> int | None:
    n = _nonneg(value)
    return n * 1024 if n is not None else None


def _load(f: Fetched) -> float | None:
    n = _nonneg(f.scalar(LA_LOAD_INT_1))
    if n is not None:
        return n / 100
    s = text(f.scalar(LA_LOAD_1))
    try:
        return float(s) if s is not None else None
    except ValueError:
        return None


def _by_descr(storage: list[Storage], name: str) -> Storage | None:
    return next((s for s in storage if s.descr.lower() == name), None)


def parse(f: Fetched) -> HostSection:
    storage = parse_storage(f)
    host = Host()

    loads: list[float] = []
    for _idx, value in sorted(f.column(HR_PROCESSOR_LOAD).items(), key=lambda kv: _sort_key(kv[0])):
        n = integer(value)
        if n is not None and 0 <= n <= 100:
            loads.append(float(n))
    if loads:
        host.cpu_per_core = loads
        host.cpu_count = len(loads)
        host.cpu_percent = round(sum(loads) / len(loads), 2)
    else:
        idle = _nonneg(f.scalar(SS_CPU_IDLE))
        if idle is not None and idle <= 100:
            host.cpu_percent = float(100 - idle)

    total = _kib(f.scalar(MEM_TOTAL_REAL))
    avail = _kib(f.scalar(MEM_AVAIL_REAL))
    if total:
        host.memory_total_bytes = total
        if avail is not None:
            buffers = _kib(f.scalar(MEM_BUFFER)) or 0
            cached = _kib(f.scalar(MEM_CACHED)) or 0
            host.memory_used_bytes = max(0, total - avail - buffers - cached)
    else:
        ram = next((s for s in storage if s.type == "ram"), None)
        if ram is not None and ram.total_bytes:
            host.memory_total_bytes = ram.total_bytes
            used = ram.used_bytes
            if used is not None:
                # net-snmp on Linux (linux_lsi) counts buffers and page cache as used in
                # "Physical memory" and lists them as their own rows; they are reclaimable.
                # Newer net-snmp already leaves them out (arubaos-cx_10.07: cache > "used"),
                # so they are subtracted only when that leaves something.
                reclaimable = sum(
                    (x.used_bytes or 0)
                    for x in (_by_descr(storage, "memory buffers"), _by_descr(storage, "cached memory"))
                    if x is not None and x.type == "other"
                )
                host.memory_used_bytes = used - reclaimable if used - reclaimable > 0 else used
        else:
            host.memory_total_bytes = _kib(f.scalar(HR_MEMORY_SIZE)) or None
    host.memory_percent = _pct(host.memory_used_bytes, host.memory_total_bytes)

    swap_total = _kib(f.scalar(MEM_TOTAL_SWAP))
    swap_avail = _kib(f.scalar(MEM_AVAIL_SWAP))
    if swap_total is not None:
        host.swap_total_bytes = swap_total
        if swap_avail is not None:
            host.swap_used_bytes = max(0, swap_total - swap_avail)
    else:
        swap = next((s for s in storage if s.type == "virtual_memory" and "swap" in s.descr.lower()), None)
        if swap is not None:
            host.swap_total_bytes, host.swap_used_bytes = swap.total_bytes, swap.used_bytes
    host.swap_percent = _pct(host.swap_used_bytes, host.swap_total_bytes)

    host.load_1m = _load(f)
    host.processes = _nonneg(f.scalar(HR_SYSTEM_PROCESSES))
    for s in storage:
        if s.type not in DISK_TYPES or not s.total_bytes:
            continue  # size 0: an empty card reader or a pseudo filesystem with nothing to fill
        mount, device = _mount(s.descr)
        if device is not None and _PSEUDO_DEVICE.match(device):
            continue
        host.disks.append(
            Disk(
                mount=mount,
                device=device,
                total_bytes=s.total_bytes,
                used_bytes=s.used_bytes,
                percent=_pct(s.used_bytes, s.total_bytes),
            )
        )

    ticks = _nonneg(f.scalar(HR_SYSTEM_UPTIME))
    return HostSection(host=host, uptime_s=ticks / 100 if ticks is not None else None, storage=tuple(storage))


def _sort_key(idx: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else -1 for p in idx.split("."))


def apply(section: HostSection, poll: DevicePoll) -> None:
    if poll.host is None:
        poll.host = section.host
    else:  # keep what another probe already put there, fill the rest
        merged = poll.host.model_dump(exclude_unset=False)
        for key, value in section.host.model_dump().items():
            if merged.get(key) in (None, [], {}):
                merged[key] = value
        poll.host = Host.model_validate(merged)
    # OS uptime goes to Host.uptime_s; Device.uptime_s stays sysUpTime (the SNMP agent's), which is what
    # counter-reset detection needs: the two must not be mixed.
    if section.uptime_s is not None:
        poll.host.uptime_s = section.uptime_s
