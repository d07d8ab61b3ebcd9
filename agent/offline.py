"""Poll an ``.snmprec`` recording without sockets, through exactly the probes the poller runs.

Used to backfill history (the demo starts with two weeks of it, so forecasts
and reports have something to work on) and by tests that need a realistic
``DevicePoll`` from a recording. Detection is answered from the recording the
way a GETNEXT would answer it: a root is present when anything lies under it.
"""

from __future__ import annotations

from agent.fetch import FetchSpec
from agent.poller import DETECT_ROOTS, SYS_DESCR, SYS_OBJECT_ID, SYS_UPTIME
from agent.probes import SNMP_PROBES, identity
from agent.probes.base import Detection, text
from agent.snmprec import Recording
from agent.wire import DevicePoll, ProbeError


def detect(rec: Recording) -> Detection:
    oid = rec.get(SYS_OBJECT_ID)
    return Detection(
        sys_object_id=oid if isinstance(oid, str) else None,
        sys_descr=text(rec.get(SYS_DESCR)) or "",
        present=frozenset(root for root in DETECT_ROOTS if rec.subtree(root)),
    )


def poll_recording(
    rec: Recording,
    device_id: str,
    ts: float,
    *,
    address: str = "127.0.0.1",
    port: int = 161,
    labels: dict[str, str] | None = None,
    parent: str | None = None,
) -> DevicePoll:
    det = detect(rec)
    device = identity.parse(rec.fetch(identity.FETCH), det, address, port)
    ticks = rec.get(SYS_UPTIME)
    device = device.model_copy(update={"uptime_s": ticks / 100.0 if isinstance(ticks, int) else None})
    poll = DevicePoll(device_id=device_id, ts=ts, labels=dict(labels or {}), parent=parent, device=device)
    probes = [p for p in SNMP_PROBES if p.detect(det)]
    spec = FetchSpec()
    for p in probes:
        spec = spec + p.FETCH
    fetched = rec.fetch(spec)
    for p in probes:
        try:
            p.apply(p.parse(fetched), poll)
        except Exception as exc:  # noqa: BLE001 - same contract as the live poller: an error entry, not a crash
            poll.errors.append(ProbeError(probe=p.NAME, message=str(exc)[:500]))
    return poll
