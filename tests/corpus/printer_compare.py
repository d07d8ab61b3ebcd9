"""Compare one ``fleetwatch poll --json`` output with LibreNMS's reading of the same recording.

Pure functions over (our poll JSON, LibreNMS json, the raw recording): used by
``test_printer_conformance.py`` (assertions) and ``tests.corpus.figures``
(counts the lead can quote). What "the same" means is decided from the *raw*
recorded values, not from our own output, so the comparison can fail:

- ``real``: level and capacity are plain numbers -> our percent within 1 point of LibreNMS's.
- ``receptacle_fill``: a waste box; RFC 3805 level = remaining space, LibreNMS shows that,
  we show the fill -> ours == 100 - LibreNMS, within 1 point.
- ``minus_3`` / ``minus_1``: LibreNMS stores 50 / 0; we must report some_remaining / unlimited.
- ``bad_capacity``: capacity -1/-2/0 with a plain level; LibreNMS assumes 100; we say unknown.
- ``brother_code``: Brother 0..3 codes; LibreNMS 100/5/0/1; we say full/low/empty/near_empty.
- ``ricoh_minus_100``: LibreNMS 0; we say empty.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from agent.snmprec import Recording

SUPPLY_LEVEL = "1.3.6.1.2.1.43.11.1.1.9"
SUPPLY_MAX = "1.3.6.1.2.1.43.11.1.1.8"
SUPPLY_CLASS = "1.3.6.1.2.1.43.11.1.1.4"
SUPPLY_TABLE = "1.3.6.1.2.1.43.11.1.1"
RICOH_LEVEL = "1.3.6.1.4.1.367.3.2.1.2.24.1.1.5"
INPUT_LEVEL = "1.3.6.1.2.1.43.8.2.1.10"
INPUT_MAX = "1.3.6.1.2.1.43.8.2.1.9"
HR_DEVICE_TYPE = "1.3.6.1.2.1.25.3.2.1.2"
HR_PRINTER_ERRORS = "1.3.6.1.2.1.25.3.5.1.2"
HR_DEVICE_PRINTER = "1.3.6.1.2.1.25.3.1.5"

BIT_NAMES = (  # RFC 3805 hrPrinterDetectedErrorState, written out here independently of the probe
    "low_paper", "no_paper", "low_toner", "no_toner", "door_open", "jammed", "offline", "service_requested",
    "input_tray_missing", "output_tray_missing", "marker_supply_missing", "output_near_full", "output_full",
    "input_tray_empty", "overdue_prevent_maint",
)  # fmt: skip
DEVICE_STATUS = {1: "unknown", 2: "running", 3: "warning", 4: "testing", 5: "down"}
BROTHER_CODE_STATE = {100: "full", 5: "low", 0: "empty", 1: "near_empty"}  # LibreNMS's number -> our state
KIND_OF_LIBRENMS_TYPE = {
    "printer": "printer",
    "network": "network",
    "server": "host",
    "storage": "storage",
    "power": "power",
}


@dataclass
class Check:
    area: str  # supply, tray, error_flags, device_status, serial, supply_rows, kind, model, firmware
    bucket: str
    ok: bool
    detail: str


@dataclass
class Comparison:
    name: str
    checks: list[Check] = field(default_factory=list)

    def add(self, area: str, bucket: str, ok: bool, detail: str) -> None:
        self.checks.append(Check(area, bucket, ok, detail))

    def failures(self, *areas: str) -> list[Check]:
        return [c for c in self.checks if not c.ok and (not areas or c.area in areas)]


def _index_after(oid: str | None, prefix: str) -> str | None:
    oid = (oid or "").lstrip(".")
    return oid[len(prefix) + 1 :] if oid.startswith(prefix + ".") else None


def _by_index(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {str(i["index"]): i for i in items}


def _close(a: float | None, b: float) -> bool:
    return a is not None and abs(a - b) <= 1.0


def compare_printer(name: str, poll: dict[str, Any], lib: dict[str, Any], rec: Recording) -> Comparison:
    out = Comparison(name)
    os_name = lib["os"]["discovery"]["devices"][0].get("os")
    ours = _by_index(poll.get("supplies", []))
    trays = _by_index(poll.get("trays", []))
    entries = lib.get("printer-supplies", {}).get("discovery", {}).get("printer_supplies", [])
    for e in entries:
        if e["supply_type"] == "input":
            _compare_tray(out, e, trays, rec)
        else:
            _compare_supply(out, e, ours, rec, os_name)

    # Every prtMarkerSuppliesTable row becomes a Supply (LibreNMS drops -2 rows; we do not).
    rows = {k.split(".", 1)[1] for k in rec.subtree(SUPPLY_TABLE) if "." in k}
    out.add("supply_rows", "all_rows", rows <= set(ours), f"recorded rows {sorted(rows)} vs ours {sorted(ours)}")

    status = poll.get("printer_status") or {}
    recorded = _recorded_error_bits(rec)
    if recorded is not None:
        flags = sorted(status.get("error_flags", []))
        out.add("error_flags", "bits", flags == sorted(recorded), f"recorded {sorted(recorded)} ours {flags}")
    for s in lib.get("sensors", {}).get("discovery", {}).get("sensors", []):
        if s.get("sensor_type") == "hrDeviceStatus":
            want = DEVICE_STATUS.get(int(s["sensor_current"]))
            got = status.get("device_status")
            out.add("device_status", "hr_device_status", got == want, f"librenms {want} ours {got}")
    return out


def _compare_supply(
    out: Comparison, e: dict[str, Any], ours: dict[str, dict[str, Any]], rec: Recording, os_name: str | None
) -> None:
    # Ricoh private OIDs (and LibreNMS's Ricoh fallback on a Brother with level 0) carry the
    # Printer-MIB index in the capacity OID.
    idx = _index_after(e.get("supply_capacity_oid"), SUPPLY_MAX) or _index_after(e.get("supply_oid"), SUPPLY_LEVEL)
    lib_value = float(e["supply_current"])
    s = ours.get(idx or "")
    label = f"{idx} {e['supply_descr']!r}"
    if s is None:
        out.add("supply", "missing", False, f"{label}: not in our supplies")
        return
    level = rec.get(f"{SUPPLY_LEVEL}.{idx}")
    if level is None:
        level = rec.get(f"{RICOH_LEVEL}.{idx.rsplit('.', 1)[-1]}")
    capacity = rec.get(f"{SUPPLY_MAX}.{idx}")
    raw_class = rec.get(f"{SUPPLY_CLASS}.{idx}")
    waste = "waste" in (e.get("supply_type") or "").lower() or "waste" in (e.get("supply_descr") or "").lower()
    receptacle = raw_class == 4 or (raw_class in (None, 1) and waste)
    state, pct = s.get("state"), s.get("percent")
    detail = f"{label}: raw level {level} capacity {capacity}; librenms {lib_value:g}; ours {state} {pct}"
    if level == -3:
        out.add("supply", "minus_3", state == "some_remaining" and pct is None, detail)
    elif level == -1:
        out.add("supply", "minus_1", state == "unlimited" and pct is None, detail)
    elif level == -100 and os_name == "ricoh":
        out.add("supply", "ricoh_minus_100", state == "empty" and pct is None, detail)
    elif os_name == "brother" and isinstance(capacity, int) and capacity <= 0 and level in (0, 1, 2, 3):
        want = BROTHER_CODE_STATE.get(int(lib_value))
        out.add("supply", "brother_code", state == want and pct is None, detail)
    elif not isinstance(capacity, int) or capacity <= 0:
        out.add("supply", "bad_capacity", state == "unknown" and pct is None, detail)
    elif receptacle:
        out.add("supply", "receptacle_fill", state == "ok" and _close(pct, 100.0 - lib_value), detail)
    else:
        out.add("supply", "real", state == "ok" and _close(pct, lib_value), detail)


def _compare_tray(out: Comparison, e: dict[str, Any], trays: dict[str, dict[str, Any]], rec: Recording) -> None:
    idx = _index_after(e.get("supply_oid"), INPUT_LEVEL)
    t = trays.get(idx or "")
    label = f"{idx} {e['supply_descr']!r}"
    if t is None:
        out.add("tray", "missing", False, f"{label}: not in our trays")
        return
    level = rec.get(f"{INPUT_LEVEL}.{idx}")
    capacity = rec.get(f"{INPUT_MAX}.{idx}")
    lib_value = float(e["supply_current"])
    state, pct = t.get("state"), t.get("percent")
    detail = f"{label}: raw level {level} capacity {capacity}; librenms {lib_value:g}; ours {state} {pct}"
    if level == -3:
        out.add("tray", "minus_3", state == "some_remaining" and pct is None, detail)
    elif level == -1:
        out.add("tray", "minus_1", state == "unlimited" and pct is None, detail)
    elif not isinstance(capacity, int) or capacity <= 0:
        out.add("tray", "bad_capacity", state in ("ok", "empty") and pct is None, detail)
    else:
        out.add("tray", "real", state in ("ok", "empty") and _close(pct, lib_value), detail)


def _recorded_error_bits(rec: Recording) -> list[str] | None:
    types = rec.subtree(HR_DEVICE_TYPE)
    errors = rec.subtree(HR_PRINTER_ERRORS)
    if not errors:
        return None
    printer_rows = [i for i, v in types.items() if str(v).lstrip(".") == HR_DEVICE_PRINTER]
    value = errors.get(printer_rows[0]) if printer_rows and printer_rows[0] in errors else next(iter(errors.values()))
    if not isinstance(value, bytes):
        return []
    number, width = int.from_bytes(value, "big"), len(value) * 8
    names = [*BIT_NAMES, *(f"bit_{i}" for i in range(len(BIT_NAMES), width))]
    return [names[i] for i in range(width) if number >> (width - 1 - i) & 1]


# --------------------------------------------------------------------------- identity


def _norm(s: str | None) -> str:
    return re.sub(r"[^a-z0-9]+", "", (s or "").lower())


def _loose_equal(ours: str | None, theirs: str | None) -> bool:
    a, b = _norm(ours), _norm(theirs)
    return bool(a and b) and (a in b or b in a)


def compare_identity(name: str, poll: dict[str, Any], lib: dict[str, Any]) -> Comparison:
    """kind and serial must match; model/firmware are compared loosely (LibreNMS words them its own way)."""
    out = Comparison(name)
    theirs = lib["os"]["discovery"]["devices"][0]
    dev = poll.get("device", {})
    want_kind = KIND_OF_LIBRENMS_TYPE.get(theirs.get("type") or "", "other")
    out.add("kind", "kind", dev.get("kind") == want_kind, f"librenms {theirs.get('type')} ours {dev.get('kind')}")
    if theirs.get("serial"):
        out.add(
            "serial",
            "serial",
            dev.get("serial") == theirs["serial"],
            f"librenms {theirs['serial']!r} ours {dev.get('serial')!r}",
        )
    if theirs.get("hardware"):
        ok = _loose_equal(dev.get("model"), theirs["hardware"])
        out.add("model", "model", ok, f"librenms {theirs['hardware']!r} ours {dev.get('model')!r}")
    if theirs.get("version"):
        ok = _loose_equal(dev.get("firmware"), theirs["version"])
        out.add("firmware", "firmware", ok, f"librenms {theirs['version']!r} ours {dev.get('firmware')!r}")
    return out


def tally(comparisons: list[Comparison]) -> dict[tuple[str, str], tuple[int, int]]:
    """(area, bucket) -> (matched, total)."""
    total: Counter[tuple[str, str]] = Counter()
    matched: Counter[tuple[str, str]] = Counter()
    for comp in comparisons:
        for c in comp.checks:
            total[(c.area, c.bucket)] += 1
            matched[(c.area, c.bucket)] += int(c.ok)
    return {k: (matched[k], total[k]) for k in sorted(total)}
