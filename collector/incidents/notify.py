"""Notifications through an outbox: nothing is lost when a receiver is down.

A lifecycle change writes an ``incident_outbox`` row in the same transaction
as the change itself, whichever process made it (the collector, or a
``fleetwatch incidents ack`` in a shell). The running collector calls
``deliver_pending(now)``: it fans each outbox row out to channels (the
policy's routes, or the escalation step's own list) and sends every due
delivery. A failed send is retried with doubling backoff, forever, capped;
a permanent refusal (HTTP 4xx, SMTP 5xx) is kept as ``rejected`` with the
error, visible in ``fleetwatch incidents outbox``.

Each delivery has an idempotency key that never changes across retries
(``Idempotency-Key`` header; ``Message-ID`` for mail), so a ticket system
that saw a request whose response was lost can drop the retry. Deliveries
for one incident on one channel go out in order: ``resolve`` never
overtakes an ``open`` still waiting for retry.

Several collectors may share one incident database and all run
``deliver_pending``: a delivery is claimed in a write transaction before it
is sent (its ``next_at`` pushed forward by ``CLAIM_LEASE``, and only the
process whose conditional UPDATE matched sends it), so each is sent once.
A claimer that dies mid-send leaves the lease to expire and another collector
retries it with the same idempotency key.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from functools import partial
from typing import Any

import httpx

from collector.incidents.audit import canonical
from collector.incidents.model import Incident, iso, parse_iso
from collector.incidents.policy import EmailChannel, Policy
from collector.incidents.store import write
from collector.sender import Outcome, backoff, email_message, send

log = logging.getLogger(__name__)

#: How long a claimed delivery is left to its sender before another collector may take it over
#: (longer than any send: HTTP and SMTP time out well before).
CLAIM_LEASE = timedelta(minutes=2)


def enqueue(
    conn: Any,
    inc: Incident,
    event: str,
    now: datetime,
    *,
    channels: list[str] | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    """Record an event to announce. Call inside the ``write()`` transaction that saved ``inc``."""
    key = f"fleetwatch-{inc.number}-{event}-{inc.audit_seq}"
    payload = {
        "event": event,
        "at": iso(now),
        "incident": {
            **inc.contract(),
            "inventory": inc.inventory,
            "symptom": inc.symptom,
            "readings": inc.readings,
            "runbook": inc.runbook,
            "cause": inc.cause,
            "action": inc.action,
            "result": inc.result,
            "escalation_level": len(inc.escalations),
        },
        **(extra or {}),
    }
    conn.execute(
        "INSERT INTO incident_outbox (key, incident, event, channels, payload, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (key, inc.number, event, None if channels is None else json.dumps(channels), canonical(payload), iso(now)),
    )


@dataclass
class DeliveryReport:
    delivered: list[str] = field(default_factory=list)  # idempotency keys
    retrying: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)


def _route(conn: Any, policy: Policy, now: datetime) -> None:
    rows = conn.execute("SELECT * FROM incident_outbox WHERE routed_at IS NULL ORDER BY id").fetchall()
    for r in rows:
        payload = json.loads(r["payload"])
        inc = payload["incident"]
        if r["channels"] is not None:
            names = json.loads(r["channels"])
        else:
            names = []
            for route in policy.notify.routes:
                if (
                    r["event"] in route.events
                    and inc["severity"] in route.severities
                    and (route.tiers is None or inc["tier"] in route.tiers)
                ):
                    names += [c for c in route.channels if c not in names]
        with write(conn):
            # Another collector may have routed it since the read above: only the first one fans it out.
            claimed = conn.execute(
                "UPDATE incident_outbox SET routed_at = ? WHERE id = ? AND routed_at IS NULL", (iso(now), r["id"])
            ).rowcount
            if claimed != 1:
                continue
            for name in names:
                known = name in policy.notify.channels
                conn.execute(
                    "INSERT INTO incident_deliveries (outbox_id, channel, key, status, next_at, last_error)"
                    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (
                        r["id"],
                        name,
                        f"{r['key']}-{name}",
                        "pending" if known else "rejected",
                        iso(now),
                        None if known else "channel not in the policy",
                    ),
                )


def _email(ch: EmailChannel, key: str, body: dict[str, Any]) -> EmailMessage:
    inc = body["incident"]
    msg = email_message(ch, key, f"[fleetwatch] {inc['severity']} {body['event']} #{inc['number']} {_subject(inc)}")
    lines = [f"{k}: {v}" for k, v in inc.items() if v not in (None, "", {}, [])]
    if "escalation" in body:
        lines.insert(0, f"escalation: {body['escalation']['step']}")
    msg.set_content("\n".join([f"Incident #{inc['number']} {body['event']} at {body['at']}", "", *lines]) + "\n")
    return msg


async def deliver_pending(conn: Any, policy: Policy, now: datetime) -> DeliveryReport:
    """Route new outbox rows, then send every due delivery once. Never raises for a receiver's fault."""
    _route(conn, policy, now)
    report = DeliveryReport()
    rows = conn.execute(
        "SELECT d.*, o.incident, o.payload FROM incident_deliveries d JOIN incident_outbox o ON o.id = d.outbox_id"
        " WHERE d.status = 'pending' ORDER BY d.outbox_id, d.channel"
    ).fetchall()
    blocked: set[tuple[str, int]] = set()
    async with httpx.AsyncClient() as client:
        for d in rows:
            lane = (d["channel"], d["incident"])
            due = parse_iso(d["next_at"])
            if lane in blocked or (due is not None and due > now):
                blocked.add(lane)  # keep order per incident and channel
                continue
            if not _claim(conn, d["key"], d["next_at"], now):
                blocked.add(lane)  # another collector is sending it (or did): later ones in the lane wait
                continue
            ch = policy.notify.channels.get(d["channel"])
            body = {**json.loads(d["payload"]), "idempotency_key": d["key"]}
            if ch is None:
                sent = Outcome("channel not in the policy", permanent=True)
            else:
                sent = await send(client, ch, d["key"], body, email=partial(_email, ch, d["key"], body))
            error, permanent = sent.error, sent.permanent
            attempts = d["attempts"] + 1
            with write(conn):
                if error is None:
                    conn.execute(
                        "UPDATE incident_deliveries SET status = 'delivered', attempts = ?, delivered_at = ?,"
                        " last_error = NULL WHERE key = ?",
                        (attempts, iso(now), d["key"]),
                    )
                    report.delivered.append(d["key"])
                elif permanent:
                    conn.execute(
                        "UPDATE incident_deliveries SET status = 'rejected', attempts = ?, last_error = ?"
                        " WHERE key = ?",
                        (attempts, error, d["key"]),
                    )
                    report.rejected.append(d["key"])
                    log.error("notification %s rejected by %s: %s", d["key"], d["channel"], error)
                else:
                    nxt = now + backoff(policy.notify.retry, attempts)
                    conn.execute(
                        "UPDATE incident_deliveries SET attempts = ?, next_at = ?, last_error = ? WHERE key = ?",
                        (attempts, iso(nxt), error, d["key"]),
                    )
                    report.retrying.append(d["key"])
                    blocked.add(lane)
                    log.warning("notification %s to %s failed (try %d): %s", d["key"], d["channel"], attempts, error)
    return report


def _claim(conn: Any, key: str, seen_next_at: str, now: datetime) -> bool:
    """Take a due delivery for this process: True when the row still held what we read (nobody claimed it)."""
    with write(conn):
        cur = conn.execute(
            "UPDATE incident_deliveries SET next_at = ? WHERE key = ? AND status = 'pending' AND next_at = ?",
            (iso(now + CLAIM_LEASE), key, seen_next_at),
        )
        return bool(cur.rowcount == 1)


def deliveries(conn: Any, *, status: str | None = None) -> list[dict[str, Any]]:
    sql = (
        "SELECT d.key, d.channel, d.status, d.attempts, d.next_at, d.delivered_at, d.last_error, o.incident, o.event"
        " FROM incident_deliveries d JOIN incident_outbox o ON o.id = d.outbox_id"
    )
    args: tuple[str, ...] = ()
    if status:
        sql += " WHERE d.status = ?"
        args = (status,)
    return [dict(r) for r in conn.execute(sql + " ORDER BY d.outbox_id, d.channel", args).fetchall()]


def _subject(inc: dict[str, Any]) -> str:
    """``device: summary`` without saying the device twice (the shipped rules' summaries start with it)."""
    device, summary = str(inc["device"]), str(inc["summary"] or "")
    return summary if summary.startswith(f"{device}:") else f"{device}: {summary}"
