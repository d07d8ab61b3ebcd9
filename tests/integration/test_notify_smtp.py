"""E-mail notifications against a real local SMTP server (aiosmtpd)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from collector.incidents import notify
from collector.incidents.manager import IncidentService
from collector.incidents.testing import device, event, make_policy, paris
from tests.support.net import Mailbox, free_port, start_mailbox

T0 = paris(2026, 1, 12, 10, 0)


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def smtp(port: int) -> Iterator[Mailbox]:
    ctl, box = start_mailbox(port)
    yield box
    ctl.stop()


@pytest.fixture
def svc(incident_db: str | Path, port: int) -> Iterator[IncidentService]:
    mail = {"type": "email", "host": "127.0.0.1", "port": port, "sender": "fw@example.test", "timeout": "2s"}
    policy = make_policy(
        escalation=[{"name": "p1-lead", "severities": ["P1"], "after": "5m", "notify": ["lead"]}],
        notify={
            "channels": {
                "oncall": {**mail, "to": ["oncall@example.test"]},
                "lead": {**mail, "to": ["lead@example.test"]},
            },
            "routes": [{"events": ["open"], "severities": ["P1"], "channels": ["oncall"]}],
        },
    )
    s = IncidentService(incident_db, policy)
    yield s
    s.close()


def deliver(svc: IncidentService, at) -> notify.DeliveryReport:
    return asyncio.run(svc.deliver_pending(at))


def test_open_and_escalation_mails(svc: IncidentService, smtp: Mailbox) -> None:
    svc.handle([event("firing", T0, rule="unreachable", severity="P1")], {"printer-1": device(tier="vip")}, T0)
    svc.handle([event("firing", T0, device_id="printer-2", severity="P3")], {}, T0)  # P3: not routed to mail
    assert deliver(svc, T0).delivered == ["fleetwatch-1-open-1-oncall"]
    svc.tick(T0 + timedelta(minutes=5))
    assert deliver(svc, T0 + timedelta(minutes=5)).delivered == ["fleetwatch-1-escalate-3-lead"]

    (to_oncall, opened), (to_lead, escalated) = smtp.received
    assert to_oncall == ["oncall@example.test"]
    assert opened["Subject"] == "[fleetwatch] P1 open #1 printer-1: unreachable on printer-1"
    assert opened["Message-ID"] == "<fleetwatch-1-open-1-oncall@fleetwatch>"
    assert opened["X-Fleetwatch-Idempotency-Key"] == "fleetwatch-1-open-1-oncall"
    text = opened.get_payload()
    assert "response_due: 2026-01-12T09:15:00Z" in text
    assert to_lead == ["lead@example.test"]
    assert escalated["Subject"].startswith("[fleetwatch] P1 escalate #1")
    assert "escalation: p1-lead" in escalated.get_payload()


def test_smtp_down_then_up_delivers_once(svc: IncidentService, port: int) -> None:
    svc.handle([event("firing", T0, rule="unreachable", severity="P1")], {"printer-1": device()}, T0)
    assert deliver(svc, T0).retrying == ["fleetwatch-1-open-1-oncall"]
    ctl, box = start_mailbox(port)
    try:
        assert deliver(svc, T0 + timedelta(seconds=10)).delivered == ["fleetwatch-1-open-1-oncall"]
        assert deliver(svc, T0 + timedelta(minutes=10)).delivered == []
        assert len(box.messages) == 1
    finally:
        ctl.stop()


def test_recipient_refused_is_rejected(svc: IncidentService, smtp: Mailbox) -> None:
    smtp.refuse.add("oncall@example.test")
    svc.handle([event("firing", T0, rule="unreachable", severity="P1")], {"printer-1": device()}, T0)
    assert deliver(svc, T0).rejected == ["fleetwatch-1-open-1-oncall"]
    (row,) = notify.deliveries(svc.conn, status="rejected")
    assert "550" in row["last_error"]
    assert smtp.messages == []
