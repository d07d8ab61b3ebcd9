"""Report scheduling: which run is due (pure), once per period and channel, delivered to a real local
SMTP server (aiosmtpd) and a real HTTP receiver, with retries and refusals recorded."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from agent.wire import Counters, Device, DeviceKind, DevicePoll
from collector.incidents.manager import IncidentService
from collector.incidents.policy import Policy
from collector.incidents.testing import device, event, make_policy
from collector.reports.schedule import ReportSchedule, ReportScheduler, Run, latest_runs
from collector.series import flatten
from collector.storage.sqlite import SqliteStorage
from tests.support.net import Mailbox, WebhookReceiver, free_port, start_mailbox

PARIS_SCHEDULE = {
    "timezone": "Europe/Paris",
    "monthly": {"day": 1, "at": "07:00", "channels": ["mail", "hook"]},
    "inspection": {"at": "06:00", "channels": ["hook"]},
}


def z(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# -- which run is due (pure) -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "schedule", "expected"),
    [
        pytest.param(
            z(2025, 11, 1, 5, 59),  # 06:59 Paris (CET): inspection yes, monthly not yet
            PARIS_SCHEDULE,
            [Run("inspection", "2025-11-01", z(2025, 11, 1, 5, 0))],
            id="before-monthly-time",
        ),
        pytest.param(
            z(2025, 11, 1, 6, 0),
            PARIS_SCHEDULE,
            [Run("monthly", "2025-10", z(2025, 11, 1, 6, 0)), Run("inspection", "2025-11-01", z(2025, 11, 1, 5, 0))],
            id="day-1-07h00-previous-month",
        ),
        pytest.param(
            z(2026, 1, 1, 6, 30),
            {**PARIS_SCHEDULE, "inspection": None},
            [Run("monthly", "2025-12", z(2026, 1, 1, 6, 0))],
            id="january-reports-december",
        ),
        pytest.param(
            z(2025, 11, 8, 6, 0),  # exactly 7 days late: still sent after an outage
            {**PARIS_SCHEDULE, "inspection": None},
            [Run("monthly", "2025-10", z(2025, 11, 1, 6, 0))],
            id="monthly-catch-up-7-days",
        ),
        pytest.param(
            z(2025, 11, 8, 6, 1), {**PARIS_SCHEDULE, "inspection": None}, [], id="monthly-too-late-not-resent"
        ),
        pytest.param(
            z(2025, 11, 2, 4, 30),  # 05:30 Paris: today's 06:00 is ahead, yesterday's is 23.5 h old
            {**PARIS_SCHEDULE, "monthly": None},
            [],
            id="yesterdays-inspection-is-stale",
        ),
        pytest.param(
            z(2025, 11, 1, 17, 0),  # 12 h after 06:00 Paris
            {**PARIS_SCHEDULE, "monthly": None},
            [Run("inspection", "2025-11-01", z(2025, 11, 1, 5, 0))],
            id="inspection-catch-up-12-hours",
        ),
        pytest.param(
            z(2025, 11, 1, 9, 0),  # a Saturday
            {
                **PARIS_SCHEDULE,
                "monthly": None,
                "inspection": {"at": "06:00", "weekdays": [0, 1, 2, 3, 4], "channels": ["hook"]},
            },
            [],
            id="inspection-weekdays-only",
        ),
        pytest.param(
            z(2025, 10, 1, 5, 0),  # 07:00 Paris in summer time (CEST)
            {**PARIS_SCHEDULE, "inspection": None},
            [Run("monthly", "2025-09", z(2025, 10, 1, 5, 0))],
            id="summer-time-offset",
        ),
    ],
)
def test_latest_runs(now: datetime, schedule: dict[str, Any], expected: list[Run]) -> None:
    assert latest_runs(ReportSchedule.model_validate(schedule), now) == expected


def test_schedule_rejects_unquoted_yaml_time() -> None:
    with pytest.raises(ValidationError, match="quoted"):
        ReportSchedule.model_validate({"monthly": {"at": 420, "channels": ["mail"]}})


# -- delivery -----------------------------------------------------------------------------------------------------


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    port = free_port()
    ctl, box = start_mailbox(port)
    yield box, port
    ctl.stop()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    r = WebhookReceiver(path="/reports")
    yield r
    r.stop()


@pytest.fixture
def policy(mailbox: tuple[Mailbox, int], receiver: WebhookReceiver) -> Policy:
    return make_policy(
        escalation=[],
        notify={
            "channels": {
                "mail": {
                    "type": "email",
                    "host": "127.0.0.1",
                    "port": mailbox[1],
                    "to": ["boss@example.test"],
                    "timeout": "5s",
                },
                "hook": {"type": "webhook", "url": receiver.url, "timeout": "5s"},
            },
            "retry": {"first": "10s", "cap": "5m"},
        },
    )


def _poll(dev: str, at: datetime, pages: int) -> DevicePoll:
    return DevicePoll(
        device_id=dev,
        ts=at.timestamp(),
        labels={"site": "hq", "department": "finance"},
        device=Device(address="127.0.0.1", vendor="Kyocera", model="TASKalfa 2553ci", kind=DeviceKind.printer),
        counters=Counters(total_pages=pages),
    )


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """Two printers polled every 15 min on 31 Oct and 1 Nov 2025; one jam on 31 Oct, fixed in 45 min."""
    path = tmp_path / "fleetwatch.db"
    storage = SqliteStorage(path)
    try:
        t0 = z(2025, 10, 31, 0, 0)
        for k in range(4 * 36):
            at = t0 + timedelta(minutes=15 * k)
            polls = [_poll("kyo-1", at, 1000 + 7 * k), _poll("kyo-2", at, 5000 + 2 * k)]
            storage.store_batch(uuid.uuid4().hex, "a", polls, [flatten(p) for p in polls], at.timestamp())
    finally:
        storage.close()
    svc = IncidentService(path, make_policy())
    try:
        devs = {"kyo-1": device("kyo-1", tier="vip", site="hq", department="finance")}
        svc.handle([event("firing", z(2025, 10, 31, 9), device_id="kyo-1")], devs, z(2025, 10, 31, 9))
        svc.handle([event("resolved", z(2025, 10, 31, 9, 45), device_id="kyo-1")], devs, z(2025, 10, 31, 9, 45))
    finally:
        svc.close()
    return path


@pytest.fixture
def scheduler(db: Path, policy: Policy) -> Iterator[ReportScheduler]:
    s = ReportScheduler(db, ReportSchedule.model_validate(PARIS_SCHEDULE), policy)
    yield s
    s.close()


NOW = z(2025, 11, 1, 6, 30)  # 07:30 Paris on 1 Nov: both reports due


def test_sends_each_report_once_per_period_and_channel(
    scheduler: ReportScheduler, mailbox: tuple[Mailbox, int], receiver: WebhookReceiver
) -> None:
    box, _ = mailbox
    due = scheduler.tick(NOW)
    assert [(d.run.kind, d.run.period, d.channels) for d in due] == [
        ("monthly", "2025-10", ("mail", "hook")),
        ("inspection", "2025-11-01", ("hook",)),
    ]
    assert scheduler.tick(NOW) == due  # tick decides, it does not record

    results = asyncio.run(scheduler.run_due(NOW))
    assert [r for _, r in results] == [{"mail": "delivered", "hook": "delivered"}, {"hook": "delivered"}]
    assert scheduler.tick(NOW) == []
    assert scheduler.tick(NOW + timedelta(hours=3)) == []
    assert asyncio.run(scheduler.run_due(NOW + timedelta(hours=3))) == []
    assert len(box.messages) == 1
    assert len(receiver.requests) == 2

    # the next morning: only the inspection again
    nxt = scheduler.tick(z(2025, 11, 2, 5, 0))
    assert [(d.run.kind, d.run.period) for d in nxt] == [("inspection", "2025-11-02")]


def test_email_has_the_html_report_and_a_csv_attachment(
    scheduler: ReportScheduler, mailbox: tuple[Mailbox, int]
) -> None:
    box, _ = mailbox
    asyncio.run(scheduler.run_due(NOW))
    (msg,) = box.messages
    assert msg["Subject"] == "[fleetwatch] Monthly service report October 2025"
    assert msg["Message-ID"] == "<fleetwatch-report-monthly-2025-10-mail@fleetwatch>"
    html = msg.get_body(preferencelist=("html",)).get_content()
    assert "Service report" in html
    assert "2025-10-31 10:00" in html  # the jam, opened 09:00 UTC, shown in Paris time
    text = msg.get_body(preferencelist=("plain",)).get_content()
    assert "resolution on time 100.0 %" in text
    (att,) = list(msg.iter_attachments())
    assert att.get_filename() == "fleetwatch-monthly-2025-10.csv"
    cells = {(r["section"], r["key"], r["field"]): r["value"] for r in csv.DictReader(io.StringIO(att.get_content()))}
    assert cells[("summary", "all", "incidents_opened")] == "1"
    assert cells[("summary", "all", "mttr_s")] == "2700"
    # October (Paris time) ends 31 Oct 23:00 UTC: 92 polls of 15 min from 00:00 UTC, 91 intervals of 7 pages
    assert cells[("device", "kyo-1", "pages_printed")] == str(7 * 91)


def test_webhook_gets_the_json_contract(scheduler: ReportScheduler, receiver: WebhookReceiver) -> None:
    asyncio.run(scheduler.run_due(NOW))
    by_kind = {body["kind"]: (key, body) for key, body in receiver.requests}
    key, body = by_kind["monthly"]
    assert key == "fleetwatch-report-monthly-2025-10-hook"
    assert body["event"] == "report"
    assert body["report"]["schema"] == "fleetwatch.report.monthly/1"
    assert body["report"]["period"]["start"] == "2025-09-30T22:00:00Z"  # 1 Oct 00:00 Paris
    _, insp = by_kind["inspection"]
    assert insp["report"]["schema"] == "fleetwatch.report.inspection/1"
    assert insp["report"]["as_of"] == "2025-11-01T06:30:00Z"
    assert {d["device"] for d in insp["report"]["devices"]} == {"kyo-1", "kyo-2"}


def test_failed_channel_is_retried_after_backoff_and_others_are_not_resent(
    scheduler: ReportScheduler, mailbox: tuple[Mailbox, int], receiver: WebhookReceiver
) -> None:
    box, _ = mailbox
    receiver.status = [503, 503]  # monthly and inspection both fail once
    results = asyncio.run(scheduler.run_due(NOW))
    assert [r for _, r in results] == [{"mail": "delivered", "hook": "failed"}, {"hook": "failed"}]
    rows = {(r["kind"], r["channel"]): r for r in scheduler.deliveries()}
    assert rows[("monthly", "hook")]["next_at"] == "2025-11-01T06:30:10Z"
    assert "HTTP 503" in str(rows[("monthly", "hook")]["last_error"])
    assert scheduler.tick(NOW + timedelta(seconds=9)) == []  # backoff
    due = scheduler.tick(NOW + timedelta(seconds=10))
    assert [(d.run.kind, d.channels) for d in due] == [("monthly", ("hook",)), ("inspection", ("hook",))]
    asyncio.run(scheduler.run_due(NOW + timedelta(seconds=10)))
    assert scheduler.tick(NOW + timedelta(minutes=5)) == []
    assert len(box.messages) == 1  # the mail went out once
    keys = [k for k, _ in receiver.requests]
    assert keys.count("fleetwatch-report-monthly-2025-10-hook") == 2  # same key on the retry


def test_refused_delivery_is_final(scheduler: ReportScheduler, receiver: WebhookReceiver) -> None:
    receiver.status = [400]
    results = asyncio.run(scheduler.run_due(NOW))
    assert results[0][1]["hook"] == "rejected"
    assert [d.run.kind for d in scheduler.tick(NOW + timedelta(hours=1))] == []


def test_unknown_channel_is_an_error_at_start(db: Path, policy: Policy) -> None:
    schedule = ReportSchedule.model_validate({"monthly": {"channels": ["mial"]}})
    with pytest.raises(ValueError, match="unknown channel 'mial'"):
        ReportScheduler(db, schedule, policy)
