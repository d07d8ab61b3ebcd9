"""Whether a firing alert may open an incident now, and if not, why.

Pure: the caller passes the windows, the devices and which devices are
down (have a firing alert with ``suppresses_device``). Order of reasons:
a maintenance window, then the device's own "unreachable" alert (hides its
toner/jam rules), then a parent that is down (a dead switch hides the
printers behind it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Protocol

from collector.incidents.maintenance import Window
from collector.incidents.model import DeviceInfo

MAX_PARENT_DEPTH = 16  # guards against a parent cycle in inventory data


class Devices(Protocol):
    def get(self, device_id: str, /) -> DeviceInfo | None: ...


def hold_reason(
    *,
    fingerprint: str,
    suppresses_device: bool,
    device: DeviceInfo,
    devices: Devices,
    down: Mapping[str, list[tuple[str, str]]],
    windows: Iterable[Window],
    now: datetime,
) -> str | None:
    """``down`` maps device id -> [(fingerprint, rule)] of its firing device-down alerts."""
    for w in windows:
        if w.covers(device) and w.active_at(now):
            return w.describe()
    if not suppresses_device:
        own = [rule for fp, rule in down.get(device.device_id, []) if fp != fingerprint]
        if own:
            return f"device down ({own[0]})"
    seen = {device.device_id}
    parent = device.parent
    for _ in range(MAX_PARENT_DEPTH):
        if not parent or parent in seen:
            break
        if down.get(parent):
            return f"parent {parent} down ({down[parent][0][1]})"
        seen.add(parent)
        info = devices.get(parent)
        parent = info.parent if info else None
    return None
