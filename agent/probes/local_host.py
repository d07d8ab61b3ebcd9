"""The machine the agent runs on, through psutil (no SNMP daemon needed).

Reports CPU, memory, swap, every real disk's usage, temperatures where the OS
exposes them (``sensors``), disk health where Linux sysfs shows it without
root (``disk_health``), uptime, network interface error counters and the
state of named services/processes (e.g. the print spooler). Each part is
collected separately: one failing psutil call becomes an error entry.
"""

from __future__ import annotations

import platform
import socket
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from agent.wire import Device, DeviceKind, DevicePoll, Disk, Host, Interface, ProbeError, Sensor

NAME = "local_host"

_SKIP_FSTYPES = {"squashfs", "tmpfs", "devtmpfs", "overlay", "proc", "sysfs", "cgroup", "cgroup2", "autofs", "nsfs"}


def default_name() -> str:
    return socket.gethostname() or "localhost"


def collect(
    device_id: str | None = None, services: list[str] | None = None, labels: dict[str, str] | None = None
) -> DevicePoll:
    started = time.monotonic()
    ts = time.time()
    errors: list[ProbeError] = []

    def attempt(part: str, fn: Callable[[], object]) -> object:
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - one failing psutil call must not lose the rest
            errors.append(ProbeError(probe=f"{NAME}.{part}", message=str(exc)[:300] or type(exc).__name__))
            return None

    host = Host()
    attempt("cpu", lambda: _cpu(host))
    attempt("memory", lambda: _memory(host))
    attempt("disks", lambda: _disks(host))
    attempt("services", lambda: _services(host, services or []))
    sensors = attempt("temperatures", _temperatures) or []
    sensors += attempt("disk_health", disk_health) or []  # type: ignore[operator]
    interfaces = attempt("interfaces", _interfaces) or []
    uname = platform.uname()
    device = Device(
        address="127.0.0.1",
        port=0,
        sys_name=socket.gethostname(),
        sys_descr=f"{uname.system} {uname.release} {uname.machine}",
        vendor=None,
        model=uname.machine,
        firmware=uname.release,
        kind=DeviceKind.host,
        uptime_s=round(time.time() - psutil.boot_time(), 1),
    )
    return DevicePoll(
        device_id=device_id or default_name(),
        ts=ts,
        duration_s=round(time.monotonic() - started, 4),
        labels=dict(labels or {}),
        device=device,
        interfaces=interfaces,  # type: ignore[arg-type]
        sensors=sensors,  # type: ignore[arg-type]
        host=host,
        errors=errors,
    )


def _cpu(host: Host) -> None:
    per_core = psutil.cpu_percent(percpu=True)
    host.cpu_per_core = [float(x) for x in per_core]
    host.cpu_percent = round(sum(per_core) / len(per_core), 1) if per_core else None
    host.cpu_count = psutil.cpu_count() or None
    host.load_1m = psutil.getloadavg()[0]
    host.processes = len(psutil.pids())
    host.uptime_s = round(time.time() - psutil.boot_time(), 1)


def _memory(host: Host) -> None:
    vm = psutil.virtual_memory()
    host.memory_total_bytes = vm.total
    host.memory_used_bytes = vm.total - vm.available
    host.memory_percent = vm.percent
    sw = psutil.swap_memory()
    host.swap_total_bytes = sw.total
    host.swap_used_bytes = sw.used
    host.swap_percent = sw.percent if sw.total else None


def _disks(host: Host) -> None:
    seen: set[str] = set()
    for part in psutil.disk_partitions(all=False):
        if part.fstype in _SKIP_FSTYPES or part.mountpoint in seen:
            continue
        seen.add(part.mountpoint)
        try:
            usage = psutil.disk_usage(part.mountpoint)
        except OSError:
            continue  # unmounted between listing and reading, or no permission
        host.disks.append(
            Disk(
                mount=part.mountpoint,
                device=part.device,
                fstype=part.fstype,
                total_bytes=usage.total,
                used_bytes=usage.used,
                percent=usage.percent,
            )
        )


def _services(host: Host, wanted: list[str]) -> None:
    if not wanted:
        return
    running = {(p.info.get("name") or "").lower() for p in psutil.process_iter(["name"])}
    for name in wanted:
        host.services[name] = "running" if name.lower() in running else "stopped"


def _temperatures() -> list[Sensor]:
    read = getattr(psutil, "sensors_temperatures", None)
    if read is None:
        return []
    out = []
    for chip, entries in (read() or {}).items():
        for i, e in enumerate(entries):
            label = e.label or f"{chip}{i}"
            status = "critical" if e.critical and e.current >= e.critical else "ok"
            out.append(
                Sensor(kind="temperature", name=f"{chip} {label}", value=e.current, unit="celsius", status=status)
            )
    return out


def _interfaces() -> list[Interface]:
    stats = psutil.net_if_stats()
    counters = psutil.net_io_counters(pernic=True)
    out = []
    for i, (name, c) in enumerate(sorted(counters.items()), start=1):
        st = stats.get(name)
        out.append(
            Interface(
                index=i,
                name=name,
                oper_status=("up" if st.isup else "down") if st else None,
                speed_bps=(st.speed * 1_000_000 if st and st.speed else None),
                mtu=st.mtu if st else None,
                counter_bits=64,
                in_octets=c.bytes_recv,
                out_octets=c.bytes_sent,
                in_ucast_pkts=c.packets_recv,
                out_ucast_pkts=c.packets_sent,
                in_errors=c.errin,
                out_errors=c.errout,
                in_discards=c.dropin,
                out_discards=c.dropout,
            )
        )
    return out


# What sysfs says about a block device, readable without root. SCSI/SATA device states
# (drivers/scsi/scsi_sysfs.c): "running" is healthy, "blocked"/"quiesce" are transient,
# "offline"/"transport-offline" mean the kernel gave up on the disk.
_SCSI_STATE = {"running": "ok", "created": "ok", "blocked": "warning", "quiesce": "warning", "cancel": "critical"}
# NVMe controller states (drivers/nvme/host/core.c, nvme_sysfs_show_state).
_NVME_STATE = {"live": "ok", "new": "ok", "resetting": "warning", "connecting": "warning"}
_RANK = {"ok": 0, "warning": 1, "critical": 2}


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:  # absent on this kernel/device, or not readable: report nothing rather than guess
        return None


def _count(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(text, 0)  # ioerr_cnt is hex ("0x1a")
    except ValueError:
        return None


def disk_health(sys_root: Path = Path("/sys")) -> list[Sensor]:
    """Block device health from sysfs, one ``disk_health`` sensor per device that exposes something.

    value = error count (SCSI ``ioerr_cnt``, md degraded member count) where one exists;
    status = ok / warning (transient state, I/O errors seen) / critical (offline, dead, degraded RAID).
    """
    out: list[Sensor] = []
    block = sys_root / "block"
    for dev in sorted(block.iterdir()) if block.is_dir() else []:
        status, errors = None, None
        state = _read(dev / "device" / "state")
        if state is not None:
            status = _SCSI_STATE.get(state, "critical")
        ioerr = _count(_read(dev / "device" / "ioerr_cnt"))
        if ioerr is not None:
            errors = ioerr
            status = _worst(status, "warning" if ioerr else "ok")
        degraded = _count(_read(dev / "md" / "degraded"))
        if degraded is not None:
            errors = degraded
            status = _worst(status, "critical" if degraded else "ok")
        if status is not None:
            out.append(Sensor(kind="disk_health", name=dev.name, value=errors, status=status, index=dev.name))
    nvme = sys_root / "class" / "nvme"
    for ctrl in sorted(nvme.iterdir()) if nvme.is_dir() else []:
        state = _read(ctrl / "state")
        if state is not None:
            status = _NVME_STATE.get(state, "critical")  # dead, deleting, ...
            out.append(Sensor(kind="disk_health", name=ctrl.name, value=None, status=status, index=ctrl.name))
    return out


def _worst(a: str | None, b: str) -> str:
    return b if a is None or _RANK[b] > _RANK[a] else a
