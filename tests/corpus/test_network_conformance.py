"""Non-printer recordings over real SNMP: do we see what LibreNMS saw?

The session's one snmpsim (``corpus_sim`` in tests/corpus/conftest.py)
serves the whole corpus; each recording is
polled through ``SnmpSession`` (detect with GETNEXT on the probes' roots,
then their FETCH), exactly as the poller does, and compared with LibreNMS's
reading of the same recording:

- every ifIndex LibreNMS lists (discovery and poller ports) is reported with
  the same ifOperStatus;
- every temperature LibreNMS reads is reported within one degree.

``test_temperature_figures`` prints the totals (run with ``-s`` to see them).
"""

from __future__ import annotations

import asyncio
import re
from types import ModuleType

import pytest

from agent.fetch import Fetched
from agent.probes import hostres, interfaces, sensors
from agent.probes.base import Detection
from agent.simulator import Snmpsim
from agent.snmp import Credentials, SnmpSession, new_engine
from agent.wire import Host, Interface, Sensor
from tests.corpus.lib import librenms, librenms_os, recording_names

pytestmark = [pytest.mark.corpus]

PROBES: tuple[ModuleType, ...] = (interfaces, sensors, hostres)


STEMS = [n for n in recording_names() if librenms_os(n).get("type") != "printer"]

#: LibreNMS sensor_oid prefix -> our Sensor.index tag (the rest of the OID is the row index).
TEMPERATURE_TABLES: dict[str, str] = {
    ".1.3.6.1.2.1.99.1.1.1.4.": "entity",
    ".1.3.6.1.4.1.9.9.91.1.1.1.1.4.": "cisco_entity",
    ".1.3.6.1.4.1.9.9.13.1.3.1.3.": "cisco_envmon",
    ".1.3.6.1.4.1.11.2.14.11.5.1.55.1.1.1.4.": "hp_ps",
    ".1.3.6.1.4.1.11.2.14.11.5.1.82.1.1.1.1.11.": "hp_xcvr",
    ".1.3.6.1.4.1.2636.3.1.13.1.7.": "jnx",
    ".1.3.6.1.4.1.6574.2.1.1.6.": "syno_disk",
    ".1.3.6.1.4.1.318.1.1.25.1.2.1.6.": "apc_uio",
    ".1.3.6.1.4.1.3582.4.1.4.1.2.1.42.": "lsi_adapter",
    ".1.3.6.1.4.1.3582.4.1.4.1.6.2.1.16.": "lsi_bbu",
    ".1.3.6.1.4.1.3582.4.1.4.2.1.2.1.36.": "lsi_pd",
}
#: Scalar temperatures: exact LibreNMS OID -> our index.
TEMPERATURE_SCALARS: dict[str, str] = {
    ".1.3.6.1.4.1.6574.1.2.0": "syno.0",
    ".1.3.6.1.4.1.318.1.1.1.2.3.2.0": "apc.battery_temp",
    ".1.3.6.1.4.1.318.1.1.1.2.2.2.0": "apc.battery_temp",
}


def our_index(sensor_oid: str) -> str | None:
    if sensor_oid in TEMPERATURE_SCALARS:
        return TEMPERATURE_SCALARS[sensor_oid]
    for prefix, tag in TEMPERATURE_TABLES.items():
        if sensor_oid.startswith(prefix):
            return f"{tag}.{sensor_oid[len(prefix) :]}"
    return None


def snake(camel: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", camel).lower()


async def _poll(host: str, port: int, community: str) -> dict[str, object]:
    """Detect + fetch + parse for our three probes over real SNMP."""
    session = SnmpSession(new_engine(), host, port, Credentials(community=community), timeout=3, retries=1)
    roots = list(dict.fromkeys(r for p in PROBES for r in p.DETECT_ROOTS))
    found = await session.get_next(roots)
    present = frozenset(r for r in roots if (hit := found.get(r)) is not None and hit[0].startswith(r + "."))
    detection = Detection(present=present)
    out: dict[str, object] = {}
    for probe in PROBES:
        if not probe.detect(detection):
            continue
        spec = probe.FETCH
        scalars = await session.get(spec.scalars) if spec.scalars else {}
        columns = await session.walk_columns(spec.columns) if spec.columns else {}
        out[probe.NAME] = probe.parse(Fetched(scalars=scalars, columns=columns))
    return out


_POLLS: dict[str, dict[str, object]] = {}


def polled(sim: Snmpsim, stem: str) -> dict[str, object]:
    if stem not in _POLLS:
        _POLLS[stem] = asyncio.run(_poll(sim.host, sim.port, stem))
    return _POLLS[stem]


@pytest.mark.parametrize("stem", STEMS)
def test_every_librenms_port_with_same_oper_status(corpus_sim: Snmpsim, stem: str) -> None:
    ref = librenms(stem).get("ports") or {}
    rows = list((ref.get("discovery") or {}).get("ports", []))
    poller = ref.get("poller")
    if isinstance(poller, dict):
        rows += poller.get("ports", [])  # later rows win: the poller's status is the fresher one
    expected = {int(r["ifIndex"]): r.get("ifOperStatus") for r in rows}
    if not expected:
        pytest.skip(f"{stem}: LibreNMS lists no ports")
    ours: list[Interface] = polled(corpus_sim, stem).get("interfaces", [])  # type: ignore[assignment]
    by_index = {i.index: i for i in ours}
    missing = sorted(set(expected) - set(by_index))
    assert not missing, f"{stem}: ifIndex missing: {missing}"
    wrong = {
        idx: (status, by_index[idx].oper_status)
        for idx, status in expected.items()
        if status is not None and snake(status) != by_index[idx].oper_status
    }
    assert not wrong, f"{stem}: oper status differs (LibreNMS, ours): {wrong}"


def _temperatures(stem: str) -> list[dict]:
    rows = (librenms(stem).get("sensors") or {}).get("discovery", {}).get("sensors", [])
    return [r for r in rows if r.get("sensor_class") == "temperature"]


# Only recordings where LibreNMS reads temperatures: the others have nothing to compare (junos_vmx reports 0 °C
# for every component, edgeswitch and Windows have no sensor tables), so they are not generated as skips.
@pytest.mark.parametrize("stem", [s for s in STEMS if _temperatures(s)])
def test_every_librenms_temperature_within_one_degree(corpus_sim: Snmpsim, stem: str) -> None:
    ref = _temperatures(stem)
    section = polled(corpus_sim, stem).get("sensors")
    ours: dict[str, Sensor] = {s.index or "": s for s in getattr(section, "sensors", ()) if s.kind == "temperature"}
    problems = []
    for row in ref:
        idx = our_index(row["sensor_oid"])
        got = ours.get(idx or "")
        if got is None or got.value is None:
            problems.append(f"{row['sensor_descr']!r} ({row['sensor_oid']}): not reported")
        elif abs(got.value - float(row["sensor_current"])) > 1.0:
            problems.append(f"{row['sensor_descr']!r}: LibreNMS {row['sensor_current']}, ours {got.value}")
    assert not problems, f"{stem}: " + "; ".join(problems)


@pytest.mark.parametrize("stem", ["windows_svr_2019_1809", "linux_lsi", "dsm"])
def test_hosts_over_snmp(corpus_sim: Snmpsim, stem: str) -> None:
    if stem not in STEMS:
        pytest.skip(f"{stem} not in corpus")
    section = polled(corpus_sim, stem).get("hostres")
    assert section is not None, f"{stem}: HOST-RESOURCES not detected"
    host: Host = section.host  # type: ignore[attr-defined]
    assert host.cpu_count
    assert host.cpu_percent is not None
    assert host.memory_total_bytes
    assert host.memory_used_bytes is not None
    assert host.disks, f"{stem}: no disks"
    assert host.processes


def test_temperature_figures(corpus_sim: Snmpsim) -> None:
    """Totals over all non-printer recordings; prints one line per recording."""
    lines = []
    total_ref = total_ok = total_ours = 0
    for stem in STEMS:
        ref = _temperatures(stem)
        section = polled(corpus_sim, stem).get("sensors")
        ours = {s.index: s for s in getattr(section, "sensors", ()) if s.kind == "temperature"}
        ok = 0
        for row in ref:
            got = ours.get(our_index(row["sensor_oid"]) or "")
            if got is not None and got.value is not None and abs(got.value - float(row["sensor_current"])) <= 1:
                ok += 1
        lines.append(f"{stem:24s} librenms={len(ref):3d} matched={ok:3d} ours={len(ours):3d}")
        total_ref += len(ref)
        total_ok += ok
        total_ours += len(ours)
    lines.append(f"{'TOTAL':24s} librenms={total_ref:3d} matched={total_ok:3d} ours={total_ours:3d}")
    print("\n" + "\n".join(lines))
    assert total_ok == total_ref
