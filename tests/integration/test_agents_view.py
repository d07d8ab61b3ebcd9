"""`fleetwatch agents` and GET /api/v1/agents: which agents report, and which went silent.

Real SQLite written by SqliteStorage, the real CLI (click runner) and a real uvicorn server.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from collector.agents import read_agents
from collector.config import CollectorConfig
from collector.query_cli import agents
from collector.series import flatten
from collector.storage.sqlite import SqliteStorage, connect
from collector.web import auth, data, testing
from collector.web.app import create_app
from collector.web.auth import Role

T0 = 1_800_000_000.0  # for the tests that only need times relative to each other


@pytest.fixture
def now() -> float:
    """Taken when the test starts: the CLI and the API read the real clock, so the data must be fresh."""
    return time.time()


def _send(storage: SqliteStorage, agent: str, polls: list, at: float, dropped_before: int = 0) -> None:  # type: ignore[type-arg]
    storage.store_batch(uuid.uuid4().hex, agent, polls, [flatten(p) for p in polls], at, dropped_before)


@pytest.fixture
def db(tmp_path: Path, now: float) -> Path:
    path = tmp_path / "fleetwatch.db"
    storage = SqliteStorage(path)
    try:
        # hq: healthy, 3 printers polled twice in the last hour (one unreachable), its spool dropped 4 long ago.
        _send(storage, "hq", [testing.printer_poll(f"hq-{i}", now - 7200) for i in range(3)], now - 7200, 4)
        _send(storage, "hq", [testing.printer_poll(f"hq-{i}", now - 600) for i in range(3)], now - 600, 4)
        _send(
            storage,
            "hq",
            [testing.printer_poll("hq-0", now - 30), testing.printer_poll("hq-1", now - 30, reachable=False)],
            now - 30,
            4,
        )
        # branch: last heard from 20 minutes ago.
        _send(storage, "branch", [testing.printer_poll("br-0", now - 1200)], now - 1200)
    finally:
        storage.close()
    return path


def test_read_agents_counts_from_stored_batches(db: Path, now: float) -> None:
    conn = connect(db, readonly=True)
    try:
        rows = {r.agent_id: r for r in read_agents(conn, now)}
    finally:
        conn.close()
    assert list(rows) == ["hq", "branch"]
    hq = rows["hq"]
    assert (hq.batches_last_hour, hq.polls_last_hour) == (2, 5)
    assert (hq.devices, hq.devices_unreachable, hq.dropped_batches) == (3, 1, 4)
    assert hq.silent_s == pytest.approx(30, abs=1)
    assert not hq.silent(300)
    branch = rows["branch"]
    assert (branch.devices, branch.polls_last_hour) == (1, 1)
    assert branch.silent(300)
    assert not branch.silent(3600)


def test_cli_lists_agents_and_exits_3_when_one_is_silent(db: Path) -> None:
    runner = CliRunner()
    table = runner.invoke(agents, ["--state-dir", str(db.parent)])
    assert table.exit_code == 3, table.output
    lines = table.output.splitlines()
    assert lines[1].split()[:2] == ["hq", "ok"]
    assert lines[2].split()[:2] == ["branch", "SILENT"]
    assert lines[-1] == "2 agent(s), 1 silent"

    as_json = runner.invoke(agents, ["--state-dir", str(db.parent), "--json", "--silent-after", "3600"])
    assert as_json.exit_code == 0, as_json.output
    got = json.loads(as_json.output)
    assert [a["agent_id"] for a in got] == ["hq", "branch"]
    assert set(got[0]) == {
        "agent_id",
        "last_batch_at",
        "batches_last_hour",
        "polls_last_hour",
        "dropped_batches",
        "devices",
        "devices_unreachable",
        "silent_s",
        "silent",
    }
    assert [a["silent"] for a in got] == [False, False]


def test_cli_without_state_says_where_it_looked(tmp_path: Path) -> None:
    result = CliRunner().invoke(agents, ["--state-dir", str(tmp_path / "nowhere")])
    assert result.exit_code == 1
    assert "no collector state" in result.output


def test_api_agents_needs_a_token_and_uses_the_collectors_stale_after(db: Path) -> None:
    data.ensure_schema(db)
    with data.writing(db) as conn:
        _, token = auth.create_token(conn, Role.viewer, "noc", time.time())
    srv = testing.ServerThread(create_app(db, CollectorConfig(stale_after=900))).start()
    try:
        assert httpx.get(f"{srv.url}/api/v1/agents", timeout=10).status_code == 401
        got = httpx.get(f"{srv.url}/api/v1/agents", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert got.status_code == 200
        by_id = {a["agent_id"]: a for a in got.json()}
        assert by_id["hq"]["silent"] is False
        assert by_id["branch"]["silent"] is True  # 1,200 s > stale_after 900 s
        assert by_id["hq"]["devices_unreachable"] == 1
    finally:
        srv.stop()


def test_after_a_collector_outage_agents_get_stale_after_from_the_restart(db: Path, now: float) -> None:
    """Every agent's last batch is old when the collector comes back: that is not the agents' fault."""
    from collector.service import CollectorService

    restart = now + 86_400  # the collector was down for a day
    config = CollectorConfig(state_dir=db.parent, stale_after=300)
    service = CollectorService(config, clock=lambda: restart)
    try:
        assert service.agents.check(restart + 299) == []
        fired = service.agents.check(restart + 301)
        assert sorted(e.device_id for e in fired) == ["agent:branch", "agent:hq"]
    finally:
        service.storage.close()


def test_agent_silent_incident_survives_a_collector_restart_and_resolves_when_the_agent_returns(
    tmp_path: Path,
) -> None:
    """Real rules stage + incident service on SQLite; the 'restart' is a new stage and watch on the same state."""
    from collector.agent_watch import AgentWatch
    from collector.incidents.manager import IncidentService
    from collector.incidents.testing import make_policy
    from collector.stages import RulesStage

    db_path = tmp_path / "fleetwatch.db"
    state = tmp_path / "rules_state.json"

    def stage(watch: AgentWatch) -> tuple[RulesStage, IncidentService]:
        incidents = IncidentService(db_path, make_policy())
        labels = [{"site": "lyon", "tier": "vip"}]
        return RulesStage([], state, incidents, agents=watch, agent_device_labels=lambda _a: labels), incidents

    def agent_incidents(incidents: IncidentService) -> list[tuple[str, str]]:
        from collector.incidents import store

        return [
            (i.device, i.state.value, i.occurrences) for i in store.query(incidents.conn) if i.rule == "agent_silent"
        ]

    watch = AgentWatch(silent_after=300)
    watch.seen("lyon-1", T0)
    rules, incidents = stage(watch)
    rules.tick(T0 + 301)
    assert agent_incidents(incidents) == [("agent:lyon-1", "open", 1)]
    incidents.close()

    restart = T0 + 86_400
    watch = AgentWatch(silent_after=300)
    watch.seen("lyon-1", restart)  # as CollectorService seeds it: not before the restart
    rules, incidents = stage(watch)
    rules.tick(restart + 400)
    assert agent_incidents(incidents) == [("agent:lyon-1", "open", 1)], "fired once, not again after the restart"

    watch.seen("lyon-1", restart + 500)
    rules.tick(restart + 501)
    assert agent_incidents(incidents) == [("agent:lyon-1", "resolved", 1)]
    incidents.close()
