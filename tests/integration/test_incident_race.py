"""Two collectors sharing one incident database, fed the same alerts in a tight race (real processes).

Each worker process has its own ``IncidentService`` on the same database (a
PostgreSQL database, or one SQLite file) and goes through the same phases
for every round, meeting the other at a barrier before each phase so that
both act at the same moment: the alert fires; an SLA/escalation tick; the
alert clears; it fires again after the reopen window (a new episode) and
clears again. After
each phase both deliver pending notifications to a real local webhook
receiver. Whatever the interleaving, there must be exactly one incident per
fault per episode, one escalation each, an audit chain that verifies, and
every outbox event received exactly once.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from collector.incidents import audit, store
from collector.incidents.manager import IncidentService
from collector.incidents.testing import device, event, make_policy, paris
from tests.support.net import WebhookReceiver

T0 = paris(2026, 1, 12, 10, 0)
ROUNDS = int(os.environ.get("FLEETWATCH_RACE_ROUNDS", "25"))
PHASE_TIMEOUT = 60.0


def _policy(hook_url: str) -> Any:
    return make_policy(
        escalation=[{"name": "lead", "severities": ["P2"], "after": "5m", "notify": ["hook"]}],
        notify={
            "channels": {"hook": {"type": "webhook", "url": hook_url, "timeout": "5s"}},
            "routes": [{"events": ["open", "reopen", "resolve"], "channels": ["hook"]}],
            "retry": {"first": "1s", "cap": "5s"},
        },
    )


def _collector(target: str, hook_url: str, rounds: int, barrier: Any, lockstep: bool) -> None:
    """One collector: the same phases as its twin, each started together at the barrier when ``lockstep``."""
    svc = IncidentService(target, _policy(hook_url))
    try:
        for r in range(rounds):
            dev = f"printer-{r}"
            devs = {dev: device(dev)}
            t = T0 + timedelta(days=r)
            phases = [
                (t, lambda t=t, dev=dev, devs=devs: svc.handle([event("firing", t, device_id=dev)], devs, t)),
                (t + timedelta(minutes=6), lambda t=t: svc.tick(t + timedelta(minutes=6))),
                (
                    t + timedelta(minutes=10),
                    lambda t=t, dev=dev, devs=devs: svc.handle(
                        [event("resolved", t + timedelta(minutes=10), device_id=dev)], devs, t + timedelta(minutes=10)
                    ),
                ),
                (
                    t + timedelta(hours=3),
                    lambda t=t, dev=dev, devs=devs: svc.handle(
                        [event("firing", t + timedelta(hours=3), device_id=dev)], devs, t + timedelta(hours=3)
                    ),
                ),
                (
                    t + timedelta(hours=3, minutes=2),
                    lambda t=t, dev=dev, devs=devs: svc.handle(
                        [event("resolved", t + timedelta(hours=3, minutes=2), device_id=dev)],
                        devs,
                        t + timedelta(hours=3, minutes=2),
                    ),
                ),
            ]
            for now, act in phases:
                if lockstep or r == 0:
                    barrier.wait(PHASE_TIMEOUT)
                act()
                asyncio.run(svc.deliver_pending(now))
        # Both finished: send whatever is left (a delivery the twin had claimed is already sent by it).
        barrier.wait(PHASE_TIMEOUT)
        asyncio.run(svc.deliver_pending(T0 + timedelta(days=rounds + 1)))
    finally:
        svc.close()


def _race(target: str, hook_url: str, rounds: int, lockstep: bool) -> None:
    ctx = multiprocessing.get_context("spawn")  # fresh interpreters: no connection or thread inherited by fork
    barrier = ctx.Barrier(2)
    procs = [ctx.Process(target=_collector, args=(target, hook_url, rounds, barrier, lockstep)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(PHASE_TIMEOUT * 4 * (rounds + 1))
    codes = [p.exitcode for p in procs]
    for p in procs:
        if p.is_alive():
            p.kill()
    assert codes == [0, 0], f"collector processes failed: exit codes {codes}"


@pytest.fixture
def receiver() -> Any:
    r = WebhookReceiver()
    yield r
    r.stop()


@pytest.mark.parametrize(
    "lockstep",
    [
        pytest.param(True, id="lockstep"),  # both act on each phase at once: the tightest collisions
        pytest.param(False, id="drifting"),  # one may run rounds ahead: the other replays stale events
    ],
)
def test_two_collectors_racing_open_once_escalate_once_notify_once(
    incident_db: str | Path, lockstep: bool, receiver: WebhookReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    store.connect(incident_db).close()  # schema first, as the first collector start does
    _race(str(incident_db), receiver.url, ROUNDS, lockstep)

    conn = store.connect(incident_db)
    incidents = store.query(conn)
    per_fault = Counter(i.device for i in incidents)
    assert per_fault == {f"printer-{r}": 2 for r in range(ROUNDS)}, "one incident per fault per episode"
    # The tick ran in both processes: the first episode's incident escalated once, the second (2 min) never.
    assert [len(i.escalations) for i in incidents] == [1, 0] * ROUNDS
    assert all(i.occurrences == 1 and i.repeat_count == 0 and not i.active for i in incidents)

    report = audit.verify(conn, store.raw_rows(conn))
    assert report.ok, [str(p) for p in report.problems]
    actions = Counter(e.action for i in incidents for e in audit.timeline(conn, i.number))
    assert actions == {"open": 2 * ROUNDS, "escalate": ROUNDS, "resolve": 2 * ROUNDS}

    outbox = [r["key"] for r in conn.execute("SELECT key FROM incident_outbox").fetchall()]
    assert len(outbox) == 5 * ROUNDS  # open, escalate, resolve; open, resolve
    keys = Counter(key for key, _ in receiver.requests)
    assert sorted(keys) == sorted(f"{k}-hook" for k in outbox), "every outbox event delivered"
    assert max(keys.values()) == 1, f"sent twice: {[k for k, n in keys.items() if n > 1]}"
    statuses = Counter(r["status"] for r in conn.execute("SELECT status FROM incident_deliveries").fetchall())
    assert statuses == {"delivered": len(outbox)}
    conn.close()
    with capsys.disabled():
        backend = "postgresql" if str(incident_db).startswith("postgresql") else "sqlite"
        print(
            f"\n[race {backend} {'lockstep' if lockstep else 'drifting'}]"
            f" {ROUNDS} rounds x 2 processes: {len(incidents)} incidents opened"
            f" ({2 * ROUNDS} episodes), {report.entries} audit entries ok,"
            f" {len(receiver.requests)} webhooks received for {len(outbox)} outbox events"
        )
