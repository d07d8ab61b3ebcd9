"""Monthly and inspection reports on a real SQLite file written by the real stores.

Story (October 2025, polls every 20 min from Fri 10 Oct 12:00 UTC to Tue 14 Oct 23:40 UTC, 324 polls):

- prn-1 (hq/finance, tier standard = office hours Europe/Paris): paper jam P2 opened Friday 17:55 Paris
  (15:55 UTC). Respond 4 h of office time: 5 min on Friday + 3 h 55 on Monday -> Mon 11:55 Paris.
  Resolve 16 h: 5 min + Monday's 10 h + 5 h 55 -> Tue 13:55 Paris. Acknowledged Mon 10:00 Paris (met),
  resolved Tue 15:00 Paris (breached).
- prn-2 (plant/sales, tier vip = 24x7): unreachable P1 Sat 11 Oct 10:00-12:00 UTC, acknowledged at 10:05
  (met: 15 min), resolved at 12:00 (met: 2 h exactly); unreachable again Mon 13 Oct 10:00-10:30, nobody
  acknowledged (response breached at 10:15), a repeat fault (same device and rule, 46 h after the fix).
- prn-3 (hq/finance, tier premium = office hours): toner low P3 Sun 12 Oct 09:00 UTC, cleared by the
  cartridge swap Mon 13:20 UTC. Respond 4 h office time: Mon 08:00 Paris + 4 h = 10:00 UTC (breached);
  resolve 1 d office time (Wed) -> met.
"""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from agent.wire import Counters, Device, DeviceKind, DevicePoll, PrinterStatus, Supply, SupplyState
from collector.alerts import AlertEvent
from collector.cli import main
from collector.incidents import manager
from collector.incidents.manager import IncidentService
from collector.incidents.testing import device, event, make_policy
from collector.reports import render
from collector.reports.inspection import inspection_report
from collector.reports.monthly import MonthlyReport, month_bounds, monthly_report
from collector.series import flatten
from collector.storage.sqlite import SqliteStorage, connect

START = datetime(2025, 10, 10, 12, 0, tzinfo=UTC)  # a Friday
STEP = timedelta(minutes=20)
N = 324
OCT, NOV = datetime(2025, 10, 1, tzinfo=UTC), datetime(2025, 11, 1, tzinfo=UTC)


def u(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 10, day, hour, minute, tzinfo=UTC)


JAM = (u(10, 15, 55), u(14, 13))
DOWN = [(u(11, 10), u(11, 12)), (u(13, 10), u(13, 10, 40))]
SWAP = 220  # poll index of the cartridge swap on prn-3: Mon 13 Oct 13:20 UTC
LABELS = {
    "prn-1": {"site": "hq", "department": "finance", "tier": "standard"},
    "prn-2": {"site": "plant", "department": "sales", "tier": "vip"},
    "prn-3": {"site": "hq", "department": "finance", "tier": "premium"},
}
PAGES_PER_POLL = {"prn-1": 5, "prn-2": 3, "prn-3": 10}


def toner(dev: str, k: int) -> float:
    if dev != "prn-3":
        return 50.0
    return round(15 - 0.05 * k, 2) if k < SWAP else round(100 - 0.05 * (k - SWAP), 2)


def poll(dev: str, k: int) -> DevicePoll:
    at = START + k * STEP
    reachable = not (dev == "prn-2" and any(a <= at < b for a, b in DOWN))
    jammed = dev == "prn-1" and JAM[0] <= at < JAM[1]
    level = toner(dev, k)
    supply = Supply(
        index="1.1",
        description="Black Toner",
        part_number="TN-421BK",
        type="toner",
        color="black",
        capacity=100,
        level=int(level),
        percent=level,
        state=SupplyState.ok,
    )
    return DevicePoll(
        device_id=dev,
        ts=at.timestamp(),
        duration_s=0.3,
        reachable=reachable,
        labels=LABELS[dev],
        device=Device(
            address="127.0.0.1",
            sys_name=dev,
            vendor="Brother",
            model="HL-L8360CDW",
            serial=f"SN-{dev}",
            kind=DeviceKind.printer,
            uptime_s=1000.0 + k * 1200,
        ),
        supplies=[supply] if reachable else [],
        counters=Counters(total_pages=10_000 + PAGES_PER_POLL[dev] * k) if reachable else Counters(),
        printer_status=PrinterStatus(
            printer_status="idle",
            device_status="down" if jammed else "running",
            error_flags=["jammed"] if jammed else [],
        )
        if reachable
        else None,
    )


def build(state: Path) -> None:
    db = state / "fleetwatch.db"
    storage = SqliteStorage(db)
    try:
        for k in range(N):
            polls = [poll(d, k) for d in LABELS]
            storage.store_batch(uuid.uuid4().hex, "agent-1", polls, [flatten(p) for p in polls], polls[0].ts + 1)
    finally:
        storage.close()
    devs = {name: device(name, **labels) for name, labels in LABELS.items()}
    down = {"device_id": "prn-2", "rule": "unreachable", "severity": "P1", "suppresses_device": True}
    toner_low = {"device_id": "prn-3", "rule": "toner_low", "severity": "P3", "incident_type": "supply"}
    swap = START + SWAP * STEP
    steps = [  # chronological, as the collector would hand them over
        (JAM[0], event("firing", JAM[0], device_id="prn-1", rule="paper_jam", severity="P2")),
        (DOWN[0][0], event("firing", DOWN[0][0], **down)),  # type: ignore[arg-type]
        (DOWN[0][0] + timedelta(minutes=5), ("ack", 2)),
        (DOWN[0][1], event("resolved", DOWN[0][1], **down)),  # type: ignore[arg-type]
        (u(12, 9), event("firing", u(12, 9), **toner_low)),  # type: ignore[arg-type]
        (u(13, 8), ("ack", 1)),  # Mon 10:00 Paris
        (DOWN[1][0], event("firing", DOWN[1][0], **down)),  # type: ignore[arg-type]
        (DOWN[1][1], event("resolved", DOWN[1][1], **down)),  # type: ignore[arg-type]
        (swap, event("resolved", swap, **toner_low)),  # type: ignore[arg-type]
        (u(14, 13), ("resolve", 1)),  # Tue 15:00 Paris
    ]
    svc = IncidentService(db, make_policy())
    try:
        for at, step in steps:
            if isinstance(step, AlertEvent):
                svc.handle([step], devs, at)
            elif step[0] == "ack":
                manager.acknowledge(svc.conn, step[1], "ana", at)
            else:
                manager.resolve(svc.conn, step[1], "ana", at, cause="torn sheet in the fuser", action="removed it")
    finally:
        svc.close()


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("reports")
    build(path)
    return path


@pytest.fixture(scope="module")
def october(state: Path) -> MonthlyReport:
    conn = connect(state / "fleetwatch.db", readonly=True)
    try:
        return monthly_report(conn, OCT, NOV, now=datetime(2026, 1, 1, tzinfo=UTC))
    finally:
        conn.close()


def test_the_story_was_stored_as_written(state: Path) -> None:
    conn = connect(state / "fleetwatch.db", readonly=True)
    rows = conn.execute("SELECT number, device, rule, severity, tier, state FROM incidents ORDER BY number").fetchall()
    conn.close()
    assert rows == [
        (1, "prn-1", "paper_jam", "P2", "standard", "resolved"),
        (2, "prn-2", "unreachable", "P1", "vip", "resolved"),
        (3, "prn-3", "toner_low", "P3", "premium", "resolved"),
        (4, "prn-2", "unreachable", "P1", "vip", "resolved"),
    ]


def test_friday_evening_jam_on_business_hours_tier(october: MonthlyReport) -> None:
    jam = next(i for i in october.sla.breached if i.number == 1)
    assert jam.response_due == u(13, 9, 55)  # Mon 11:55 Paris
    assert jam.resolve_due == u(14, 11, 55)  # Tue 13:55 Paris
    assert (jam.response_met, jam.resolve_met) == (True, False)
    standard = next(g for g in october.by_tier if g.key == "standard")
    assert (standard.response.met, standard.response.judged) == (1, 1)
    assert (standard.resolve.met, standard.resolve.judged) == (0, 1)
    assert standard.mtta_s == 64 * 3600 + 5 * 60  # wall clock Fri 17:55 -> Mon 10:00
    assert standard.mttr_s == 93 * 3600 + 5 * 60  # Fri 17:55 -> Tue 15:00


def test_monthly_summary_figures(october: MonthlyReport) -> None:
    s = october.summary
    assert (s.devices, s.incidents_opened, s.incidents_resolved, s.active_at_end) == (3, 4, 4, 0)
    # response: #1 met, #2 met, #3 breached (Mon 10:00 UTC), #4 breached (10:15) -> 2/4
    assert (s.response.met, s.response.judged, s.response.rate) == (2, 4, 0.5)
    # resolution: #1 breached, #2 met (12:00 on the dot), #3 met, #4 met -> 3/4
    assert (s.resolve.met, s.resolve.judged, s.resolve.rate) == (3, 4, 0.75)
    assert s.mtta_s == (230_700 + 300) / 2
    # MTTR: 93h05 (335100) + 2 h (7200) + 28h20 (102000) + 40 min (2400) -> 446700 / 4
    assert s.mttr_s == 111_675
    assert (s.fault_occurrences, s.repeat_faults) == (3, 1)
    assert s.repeat_fault_rate == pytest.approx(1 / 3)
    # observed: Fri 12:00 -> last poll Tue 23:40 + 30 min = 108 h 10 min per device
    observed = 389_400
    assert s.fleet_availability == pytest.approx((3 * observed - 335_100 - 9_600) / (3 * observed))
    assert s.pages_printed == 5 * 323 + 3 * 323 + 10 * 323
    assert s.supplies_replaced == 1


def test_monthly_breakdowns(october: MonthlyReport) -> None:
    assert [(g.key, g.opened) for g in october.by_severity] == [("P1", 2), ("P2", 1), ("P3", 1), ("P4", 0)]
    assert {g.key: g.opened for g in october.by_type} == {"fault": 3, "supply": 1}
    assert october.by_department == {"finance": 2, "sales": 2}
    assert october.by_site == {"hq": 2, "plant": 2}
    assert october.by_device == {"prn-2": 2, "prn-1": 1, "prn-3": 1}
    vip = next(g for g in october.by_tier if g.key == "vip")
    assert (vip.response.met, vip.response.judged, vip.resolve.met, vip.resolve.judged) == (1, 2, 2, 2)
    assert [t.device for t in october.top_devices] == ["prn-2", "prn-1", "prn-3"]
    assert [(r.number, r.previous_resolved_at) for r in october.repeat_faults] == [(4, u(11, 12))]
    assert [i.number for i in october.sla.within] == [2]
    assert [i.number for i in october.sla.breached] == [1, 3, 4]


def test_devices_availability_pages_and_supplies(october: MonthlyReport) -> None:
    d = {line.device: line for line in october.devices}
    assert d["prn-2"].unreachable_s == 9_600  # 2 h + 40 min (each failed poll holds until the next poll)
    assert d["prn-2"].incident_down_s == 9_600
    assert d["prn-2"].down_s == 9_600  # the P1 incidents overlap the unreachable time exactly: counted once
    assert d["prn-2"].availability == pytest.approx((389_400 - 9_600) / 389_400)
    assert d["prn-1"].incident_down_s == 335_100
    assert d["prn-3"].availability == 1.0  # a P3 does not make the device unavailable
    assert d["prn-1"].no_data_s == 31 * 86_400 - 389_400  # October minus the 108 h 10 min with polls
    assert [(s.supply, s.at, s.cause) for s in d["prn-3"].supplies_replaced] == [("1.1", u(13, 13, 20), "level_jump")]
    assert d["prn-3"].supplies_replaced[0].previous_end_level == pytest.approx(4.05)
    assert d["prn-2"].pages_printed == 969


def test_site_filter(state: Path) -> None:
    conn = connect(state / "fleetwatch.db", readonly=True)
    try:
        rep = monthly_report(conn, OCT, NOV, site="plant", now=datetime(2026, 1, 1, tzinfo=UTC))
    finally:
        conn.close()
    assert [d.device for d in rep.devices] == ["prn-2"]
    assert rep.summary.incidents_opened == 2
    assert rep.scope.site == "plant"


def test_period_not_over_counts_open_time_up_to_now(state: Path) -> None:
    conn = connect(state / "fleetwatch.db", readonly=True)
    try:
        rep = monthly_report(conn, OCT, NOV, now=u(11, 11))  # during prn-2's first outage
    finally:
        conn.close()
    assert rep.period.observed_end == u(11, 11)
    assert rep.summary.active_at_end == 2  # the jam and the outage
    assert rep.summary.incidents_opened == 2


# -- rendering ------------------------------------------------------------------------------------------------


def test_html_shows_the_figures(october: MonthlyReport) -> None:
    html = render.monthly_html(october, tz="Europe/Paris")
    assert "Service report" in html
    assert "50.0 %" in html  # response on time
    assert "75.0 %" in html  # resolution on time
    assert "33.3 %" in html  # repeat-fault rate
    assert "1 d 7 h" in html  # MTTR 111675 s
    assert "2025-10-10 17:55" in html  # the jam, in Paris time
    assert "<script" not in html


def test_csv_parses_and_holds_every_figure(october: MonthlyReport) -> None:
    rows = list(csv.DictReader(io.StringIO(render.monthly_csv(october))))
    cell = {(r["section"], r["key"], r["field"]): r["value"] for r in rows}
    assert cell[("summary", "all", "response_rate")] == "0.5"
    assert cell[("summary", "all", "mttr_s")] == "111675"
    assert cell[("tier", "standard", "resolve_judged")] == "1"
    assert cell[("device", "prn-2", "pages_printed")] == "969"
    assert cell[("incident", "1", "sla")] == "breached"
    assert cell[("severity", "P4", "response_rate")] == ""  # nothing to divide


ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def test_json_contract(october: MonthlyReport) -> None:
    doc = json.loads(render.to_json(october))
    assert doc["schema"] == "fleetwatch.report.monthly/1"
    assert set(doc) >= {
        "generated_at",
        "period",
        "scope",
        "summary",
        "by_severity",
        "by_type",
        "by_tier",
        "by_site",
        "by_department",
        "by_device",
        "devices",
        "top_devices",
        "repeat_faults",
        "sla",
    }
    assert set(doc["summary"]["response"]) == {"met", "judged", "rate"}
    assert ISO.match(doc["period"]["start"])
    assert doc["period"]["start"] == "2025-10-01T00:00:00Z"
    assert ISO.match(doc["sla"]["breached"][0]["opened_at"])
    assert set(doc["devices"][0]) >= {"device", "availability", "pages_printed", "supplies_replaced", "down_s"}
    assert MonthlyReport.model_validate(doc) == october  # the JSON reads back into the model


# -- inspection ------------------------------------------------------------------------------------------------


def test_inspection_monday_morning(state: Path) -> None:
    conn = connect(state / "fleetwatch.db", readonly=True)
    try:
        rep = inspection_report(conn, date(2025, 10, 13), now=u(13, 10, 10))
    finally:
        conn.close()
    assert rep.as_of == u(13, 10, 10)
    d = {x.device: x for x in rep.devices}
    assert [x.device for x in rep.devices] == ["prn-2", "prn-1", "prn-3"]  # worst first
    assert d["prn-2"].status == "unreachable"
    assert "unreachable since 2025-10-13 10:00 UTC" in d["prn-2"].abnormal
    assert [i.number for i in d["prn-2"].open_incidents] == [4]
    assert d["prn-1"].status == "fault"
    assert d["prn-1"].error_flags == ["jammed"]
    assert [i.number for i in d["prn-1"].open_incidents] == [1]
    assert d["prn-3"].status == "warning"
    assert d["prn-3"].supplies[0].low
    assert d["prn-3"].supplies[0].percent == 4.5
    assert any(a.startswith("low supply: Black Toner (4.5%)") for a in d["prn-3"].abnormal)
    # pages since yesterday 10:10: prior poll 10:00 (k=138) -> 10:00 today (k=210); prn-2's last good poll is 09:40
    assert (d["prn-3"].pages_24h, d["prn-1"].pages_24h, d["prn-2"].pages_24h) == (720, 360, 213)
    assert (rep.summary.unreachable, rep.summary.fault, rep.summary.warning, rep.summary.ok) == (1, 1, 1, 0)


def test_inspection_after_the_story_is_all_ok(state: Path) -> None:
    conn = connect(state / "fleetwatch.db", readonly=True)
    try:
        rep = inspection_report(conn, date(2025, 10, 14), now=datetime(2026, 1, 1, tzinfo=UTC))
    finally:
        conn.close()
    assert rep.as_of == datetime(2025, 10, 15, tzinfo=UTC)
    assert {x.device: x.status for x in rep.devices} == {"prn-1": "ok", "prn-2": "ok", "prn-3": "ok"}
    rows = list(csv.DictReader(io.StringIO(render.inspection_csv(rep))))
    assert [r["device"] for r in rows] == ["prn-1", "prn-2", "prn-3"]
    assert rows[0]["pages_24h"] == str(5 * 72)  # from the last poll before midnight (23:40) to 23:40: 72 polls
    html = render.inspection_html(rep)
    assert "nothing abnormal" in html


def test_inspection_a_day_with_no_polls_says_no_data(state: Path) -> None:
    conn = connect(state / "fleetwatch.db", readonly=True)
    try:
        rep = inspection_report(conn, date(2025, 10, 20))
    finally:
        conn.close()
    assert {x.status for x in rep.devices} == {"no_data"}
    assert all(x.abnormal[0].startswith("no poll in the last 24 h") for x in rep.devices)


# -- CLI --------------------------------------------------------------------------------------------------------


def test_cli_monthly_json(state: Path) -> None:
    r = CliRunner().invoke(
        main, ["report", "monthly", "--month", "2025-10", "--format", "json", "--state-dir", str(state)]
    )
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["summary"]["incidents_opened"] == 4
    assert doc["summary"]["resolve"] == {"met": 3, "judged": 4, "rate": 0.75}


def test_cli_monthly_html_to_file_with_department(state: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    r = CliRunner().invoke(
        main,
        [
            "report",
            "monthly",
            "--month",
            "2025-10",
            "--department",
            "finance",
            "-o",
            str(out),
            "--state-dir",
            str(state),
        ],
    )
    assert r.exit_code == 0, r.output
    html = out.read_text()
    assert "department finance" in html
    assert "prn-3" in html
    assert "prn-2" not in html


def test_cli_inspection_csv(state: Path) -> None:
    r = CliRunner().invoke(
        main, ["report", "inspection", "--date", "2025-10-13", "--format", "csv", "--state-dir", str(state)]
    )
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(r.output)))
    # as of the end of Monday: the jam is still open (fixed Tuesday), the rest is fine again
    assert {row["device"]: row["status"] for row in rows} == {"prn-1": "fault", "prn-2": "ok", "prn-3": "ok"}
    assert rows[0]["page_counter"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["monthly", "--month", "2025-13"], "month must be YYYY-MM", id="bad-month"),
        pytest.param(["monthly", "--month", "2999-01"], "has not started yet", id="future-month"),
        pytest.param(["inspection", "--date", "13/10/2025"], "expected YYYY-MM-DD", id="bad-date"),
        pytest.param(["monthly", "--tz", "Mars/Olympus"], "unknown timezone", id="bad-zone"),
    ],
)
def test_cli_bad_input_is_a_clear_error(state: Path, args: list[str], message: str) -> None:
    r = CliRunner().invoke(main, ["report", *args, "--state-dir", str(state)])
    assert r.exit_code == 2
    assert message in r.output


def test_cli_without_database_says_where_it_looked(tmp_path: Path) -> None:
    r = CliRunner().invoke(main, ["report", "monthly", "--state-dir", str(tmp_path / "none")])
    assert r.exit_code == 1
    assert "no fleetwatch database" in r.output
    assert not (tmp_path / "none").exists()  # a report never creates a database


def test_month_bounds_in_a_zone() -> None:
    start, end = month_bounds("2025-12", "Europe/Paris")
    assert start.astimezone(UTC) == datetime(2025, 11, 30, 23, tzinfo=UTC)
    assert end.astimezone(UTC) == datetime(2025, 12, 31, 23, tzinfo=UTC)
