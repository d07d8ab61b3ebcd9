"""Poll one SNMP device: detect once in a while, then fetch what its probes need.

Cost model (see bench/poll): one GET for sysUpTime together with the probes'
scalars, one GETBULK stream over the union of the probes' columns. Detection (a GET of
the system group + one GETNEXT over every probe's DETECT_ROOTS) and identity
run on the first poll and every ``identity_every`` polls after, or when the
uptime says the device rebooted (firmware may have changed).

Failures never escape: an unreachable device gives ``reachable=False`` and an
error entry; a probe that fails gives an error entry and the others go on.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from types import ModuleType

from agent.fetch import Fetched, FetchSpec
from agent.probes import SNMP_PROBES, identity  # identity: always run, not in SNMP_PROBES
from agent.probes.base import Detection, text
from agent.snmp import SnmpError, SnmpProtocolError, SnmpSession, SnmpTimeout, Value
from agent.wire import Device, DevicePoll, ProbeError

SYS_DESCR = "1.3.6.1.2.1.1.1.0"  # SNMPv2-MIB::sysDescr.0
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"  # SNMPv2-MIB::sysObjectID.0
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"  # SNMPv2-MIB::sysUpTime.0


@dataclass
class TargetState:
    """What the agent remembers about a device between polls."""

    detection: Detection | None = None
    device: Device | None = None
    probes: tuple[ModuleType, ...] = ()
    polls: int = 0
    last_uptime_s: float | None = None
    spec: FetchSpec = field(default_factory=FetchSpec)
    #: The device did not answer sysUpTime and the probes' scalars in one PDU but does answer sysUpTime
    #: alone: ask them separately from then on (see ``_uptime_and_scalars``).
    split_scalars: bool = False


def _all_detect_roots() -> tuple[str, ...]:
    roots: dict[str, None] = dict.fromkeys(getattr(identity, "DETECT_ROOTS", ()))
    for probe in SNMP_PROBES:
        roots.update(dict.fromkeys(probe.DETECT_ROOTS))
    return tuple(roots)


DETECT_ROOTS = _all_detect_roots()


async def detect(session: SnmpSession) -> Detection:
    system = await session.get([SYS_DESCR, SYS_OBJECT_ID])
    if system.get(SYS_DESCR) is None and system.get(SYS_OBJECT_ID) is None:
        raise SnmpProtocolError(f"{session.name}: answers but has no system group (sysDescr/sysObjectID)")
    present: set[str] = set()
    roots = list(DETECT_ROOTS)
    # A GETNEXT per root, several roots per PDU: tells which MIBs exist without walking any.
    for i in range(0, len(roots), 16):
        chunk = roots[i : i + 16]
        try:
            found = await session.get_next(chunk)
        except SnmpTimeout:
            # Some agents silently drop a PDU when one root lands on an object they cannot encode (seen on
            # a Windows SNMP service with broken OIDs): ask root by root, a root that times out is absent.
            found = {}
            for root in chunk:
                with contextlib.suppress(SnmpTimeout):
                    found.update(await session.get_next([root]))
        for root in chunk:
            hit = found.get(root)
            if hit is not None and hit[0].startswith(root + "."):
                present.add(root)
    oid = system.get(SYS_OBJECT_ID)
    return Detection(
        sys_object_id=oid if isinstance(oid, str) else None,
        sys_descr=text(system.get(SYS_DESCR)) or "",
        present=frozenset(present),
    )


async def fetch(session: SnmpSession, spec: FetchSpec, scalars: dict[str, Value] | None = None) -> Fetched:
    """GET the scalars (unless already read, ``scalars``), then walk the columns in one GETBULK stream."""
    if scalars is None:
        scalars = await session.get(spec.scalars) if spec.scalars else {}
    columns = await session.walk_columns(spec.columns) if spec.columns else {}
    return Fetched(scalars=scalars, columns=columns)


def _error(probe: str, exc: BaseException) -> ProbeError:
    message = str(exc) or type(exc).__name__
    return ProbeError(probe=probe, message=message[:500])


async def poll_target(
    session: SnmpSession,
    device_id: str,
    state: TargetState,
    *,
    identity_every: int = 10,
    labels: dict[str, str] | None = None,
    parent: str | None = None,
) -> DevicePoll:
    ts = time.time()
    started = time.monotonic()
    errors: list[ProbeError] = []
    base = Device(address=session.address, port=session.port)
    poll = DevicePoll(device_id=device_id, ts=ts, labels=dict(labels or {}), parent=parent, device=state.device or base)
    answered = False
    try:
        refresh = state.detection is None or state.polls % max(1, identity_every) == 0
        if refresh:
            await _refresh_identity(session, state, errors)
        ticks, scalars = await _uptime_and_scalars(session, state)
        answered = True
        uptime_s = ticks / 100.0 if isinstance(ticks, int) else None
        if not refresh and uptime_s is not None and state.last_uptime_s is not None and uptime_s < state.last_uptime_s:
            # Rebooted: firmware or installed options may have changed, and with them the probes' scalars.
            await _refresh_identity(session, state, errors)
            scalars = None
        state.last_uptime_s = uptime_s
        assert state.device is not None
        poll.device = state.device.model_copy(update={"uptime_s": uptime_s})
        await _run_probes(session, state, poll, errors, scalars)
    except SnmpError as exc:
        # Before the device answered anything usable (timeout, SNMPv3 auth failure, no system group) it
        # is unreachable for us; a timeout in the middle of a poll is an error on a reachable device.
        poll.reachable = answered
        errors.append(_error("snmp", exc))
    except Exception as exc:  # noqa: BLE001 - a device must never crash the agent
        errors.append(_error("poller", exc))
    state.polls += 1
    poll.errors = errors
    poll.duration_s = round(time.monotonic() - started, 4)
    return poll


async def _uptime_and_scalars(session: SnmpSession, state: TargetState) -> tuple[Value, dict[str, Value] | None]:
    """sysUpTime and the probes' scalars in one GET: one request per poll fewer than asking them apart.

    Returns (sysUpTime ticks, scalars or ``None`` when they were not read here). A device that times out
    on the combined PDU but answers sysUpTime alone (agents that drop a whole PDU for one object they
    cannot encode, see ``detect``) is asked separately from then on, so a probe's scalar never makes a
    device look unreachable.
    """
    wanted = [o for o in state.spec.scalars if o != SYS_UPTIME]
    if not wanted or state.split_scalars:
        return (await session.get([SYS_UPTIME])).get(SYS_UPTIME), None
    try:
        values = await session.get([SYS_UPTIME, *wanted])
    except SnmpTimeout:
        ticks = (await session.get([SYS_UPTIME])).get(SYS_UPTIME)  # still a timeout: unreachable
        state.split_scalars = True
        return ticks, None
    ticks = values.pop(SYS_UPTIME, None)
    if SYS_UPTIME in state.spec.scalars:
        values[SYS_UPTIME] = ticks
    return ticks, values


async def _refresh_identity(session: SnmpSession, state: TargetState, errors: list[ProbeError]) -> None:
    det = await detect(session)
    fetched = await fetch(session, identity.FETCH)
    try:
        state.device = identity.parse(fetched, det, session.address, session.port)
    except Exception as exc:  # noqa: BLE001 - keep polling with what we know
        errors.append(_error("identity", exc))
        state.device = Device(address=session.address, port=session.port, sys_descr=det.sys_descr or None)
    state.detection = det
    state.probes = tuple(p for p in SNMP_PROBES if _safe_detect(p, det, errors))
    spec = FetchSpec()
    for p in state.probes:
        spec = spec + p.FETCH
    state.spec = spec


def _safe_detect(probe: ModuleType, det: Detection, errors: list[ProbeError]) -> bool:
    try:
        return bool(probe.detect(det))
    except Exception as exc:  # noqa: BLE001
        errors.append(_error(probe.NAME, exc))
        return False


async def _run_probes(
    session: SnmpSession,
    state: TargetState,
    poll: DevicePoll,
    errors: list[ProbeError],
    scalars: dict[str, Value] | None = None,
) -> None:
    if not state.probes:
        return
    try:
        fetched = await fetch(session, state.spec, scalars)
    except SnmpProtocolError:
        # One probe's columns broke the walk (looping agent, bad PDU): isolate it, keep the others.
        for probe in state.probes:
            try:
                part = await fetch(session, probe.FETCH)
            except SnmpProtocolError as exc:
                errors.append(_error(probe.NAME, exc))
                continue
            _apply(probe, part, poll, errors)
        return
    for probe in state.probes:
        _apply(probe, fetched, poll, errors)


def _apply(probe: ModuleType, fetched: Fetched, poll: DevicePoll, errors: list[ProbeError]) -> None:
    try:
        section = probe.parse(fetched)
        probe.apply(section, poll)
    except Exception as exc:  # noqa: BLE001 - parsers are tolerant, but never let one kill the poll
        errors.append(_error(probe.NAME, exc))
