"""Webhook notifications through the outbox against a real local HTTP receiver.

The receiver behaves like a ticket system honouring ``Idempotency-Key``: it
creates one ticket per key, however many times a key is posted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from collector.incidents import notify, store
from collector.incidents.manager import IncidentService, acknowledge, resolve
from collector.incidents.testing import device, event, make_policy, paris
from tests.support.net import WebhookReceiver, free_port

T0 = paris(2026, 1, 12, 10, 0)


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def receiver(port: int) -> Iterator[WebhookReceiver]:
    r = WebhookReceiver(port)
    yield r
    r.stop()


@pytest.fixture
def svc(incident_db: str | Path, port: int) -> Iterator[IncidentService]:
    policy = make_policy(
        escalation=[],
        notify={
            "channels": {"tickets": {"type": "webhook", "url": f"http://127.0.0.1:{port}/hook", "timeout": "2s"}},
            "routes": [{"events": ["open", "acknowledge", "resolve"], "channels": ["tickets"]}],
            "retry": {"first": "10s", "cap": "5m"},
        },
    )
    s = IncidentService(incident_db, policy)
    yield s
    s.close()


def deliver(svc: IncidentService, at) -> notify.DeliveryReport:
    return asyncio.run(svc.deliver_pending(at))


def _open_ack_resolve(svc: IncidentService) -> None:
    svc.handle([event("firing", T0)], {"printer-1": device()}, T0)
    acknowledge(svc.conn, 1, "ana", T0 + timedelta(minutes=1))
    resolve(svc.conn, 1, "ana", T0 + timedelta(minutes=2), cause="jam", action="cleared")


def test_delivers_once_with_payload(svc: IncidentService, receiver: WebhookReceiver) -> None:
    svc.handle([event("firing", T0)], {"printer-1": device(tier="premium")}, T0)
    report = deliver(svc, T0)
    assert report.delivered == ["fleetwatch-1-open-1-tickets"]
    ((key, body),) = receiver.requests
    assert key == body["idempotency_key"] == "fleetwatch-1-open-1-tickets"
    assert body["event"] == "open"
    inc = body["incident"]
    assert (inc["number"], inc["device"], inc["severity"], inc["tier"]) == (1, "printer-1", "P2", "premium")
    assert inc["response_due"] == "2026-01-12T10:00:00Z"
    assert inc["inventory"]["serial"] == "SN-printer-1"
    assert deliver(svc, T0 + timedelta(hours=1)).delivered == []
    assert len(receiver.requests) == 1


def test_receiver_down_retries_then_delivers_each_once_in_order(svc: IncidentService, port: int) -> None:
    _open_ack_resolve(svc)
    t = T0 + timedelta(minutes=3)
    first = deliver(svc, t)
    # open fails; acknowledge and resolve wait behind it (same incident, same channel)
    assert first.retrying == ["fleetwatch-1-open-1-tickets"]
    assert first.delivered == []
    (row, *_) = notify.deliveries(svc.conn)
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert "ConnectError" in row["last_error"]
    assert deliver(svc, t + timedelta(seconds=9)).retrying == []  # backoff: not due before 10 s
    assert deliver(svc, t + timedelta(seconds=10)).retrying == ["fleetwatch-1-open-1-tickets"]
    assert notify.deliveries(svc.conn)[0]["next_at"] == "2026-01-12T09:03:30Z"  # then 20 s

    receiver = WebhookReceiver(port)  # the ticket system comes back on the same address
    try:
        report = deliver(svc, t + timedelta(seconds=30))
        assert report.delivered == [
            "fleetwatch-1-open-1-tickets",
            "fleetwatch-1-acknowledge-2-tickets",
            "fleetwatch-1-resolve-3-tickets",
        ]
        assert [b["event"] for _, b in receiver.requests] == ["open", "acknowledge", "resolve"]
        assert deliver(svc, t + timedelta(hours=1)).delivered == []
        assert len(receiver.requests) == 3
        assert {r["status"] for r in notify.deliveries(svc.conn)} == {"delivered"}
    finally:
        receiver.stop()


def test_lost_response_retry_reuses_key(svc: IncidentService, receiver: WebhookReceiver) -> None:
    receiver.status = [503]  # processed, but the answer says "try again"
    svc.handle([event("firing", T0)], {"printer-1": device()}, T0)
    assert deliver(svc, T0).retrying == ["fleetwatch-1-open-1-tickets"]
    assert deliver(svc, T0 + timedelta(seconds=10)).delivered == ["fleetwatch-1-open-1-tickets"]
    keys = [k for k, _ in receiver.requests]
    assert keys == ["fleetwatch-1-open-1-tickets", "fleetwatch-1-open-1-tickets"]
    assert receiver.requests[0][1] == receiver.requests[1][1]  # byte-identical body on retry
    assert len(receiver.tickets) == 1


def test_client_error_is_rejected_and_visible(svc: IncidentService, receiver: WebhookReceiver) -> None:
    receiver.status = [400]
    svc.handle([event("firing", T0)], {"printer-1": device()}, T0)
    assert deliver(svc, T0).rejected == ["fleetwatch-1-open-1-tickets"]
    assert deliver(svc, T0 + timedelta(hours=1)).delivered == []
    (row,) = notify.deliveries(svc.conn, status="rejected")
    assert row["last_error"].startswith("HTTP 400")


def test_cli_action_in_another_connection_is_delivered_by_the_service(
    svc: IncidentService, receiver: WebhookReceiver, incident_db: str | Path
) -> None:
    svc.handle([event("firing", T0)], {"printer-1": device()}, T0)
    other = store.connect(incident_db)  # what `fleetwatch incidents ack` does
    acknowledge(other, 1, "ana", T0 + timedelta(minutes=1))
    other.close()
    deliver(svc, T0 + timedelta(minutes=2))
    assert [b["event"] for _, b in receiver.requests] == ["open", "acknowledge"]
    assert receiver.requests[1][1]["incident"]["state"] == "acknowledged"
