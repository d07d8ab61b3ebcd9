"""A dead agent becomes one incident (agent_silent), not a quiet blind spot; it resolves when the agent is back.

Real processes: snmpsim, collector (stale_after 3 s), agent. The agent is stopped, its printer goes stale
(one synthetic unreachable poll, which by design opens no printer incident), and the collector opens a P2
on ``agent:e2e`` carrying the labels its devices share. Started again, the agent's first batch resolves it.
"""

from __future__ import annotations

import pytest
import yaml

from tests.e2e.conftest import Stack
from tests.support.net import wait_for

pytestmark = pytest.mark.e2e


def _incidents(stack: Stack, **filters: object) -> list[dict[str, object]]:
    rows = stack.cli_json("incidents", "list")
    assert isinstance(rows, list)
    return [r for r in rows if all(r.get(k) == v for k, v in filters.items())]


def test_silent_agent_opens_one_incident_and_resolves_when_back(stack: Stack) -> None:
    stack.write_configs(
        [{"name": "lexmark", "address": "127.0.0.1", "community": "test-printer", "labels": {"tier": "vip"}}],
        stale_after="3s",
    )
    agent_cfg = yaml.safe_load(stack.agent_cfg.read_text())
    agent_cfg["labels"] = {"site": "lyon"}  # on every device it polls, its own host included
    stack.agent_cfg.write_text(yaml.safe_dump(agent_cfg))
    stack.collector.start()
    stack.agent.start()
    wait_for(lambda: "lexmark" in stack.devices(), 30, "the printer's first poll")
    assert _incidents(stack, rule="agent_silent") == []

    stack.agent.stop()
    (inc,) = wait_for(lambda: _incidents(stack, rule="agent_silent"), 30, "the agent_silent incident")
    assert inc["device"] == "agent:e2e"
    assert inc["severity"] == "P2"
    assert inc["state"] == "open"
    detail = stack.cli_json("incidents", "show", str(inc["number"]))
    assert isinstance(detail, dict)
    # The labels all its devices share (site), not one device's own (tier).
    assert detail["inventory"]["labels"] == {"site": "lyon"}
    assert detail["inventory"]["kind"] == "agent"
    wait_for(lambda: stack.devices()["lexmark"]["reachable"] is False, 20, "the printer marked stale")
    down = [i for i in _incidents(stack, device="lexmark") if "unreachable" in str(i["rule"])]
    assert down == [], "a stale printer behind a dead agent opens no unreachable incident of its own"

    stack.agent.start()
    wait_for(
        lambda: _incidents(stack, number=inc["number"], state="resolved") or None, 30, "resolved by the next batch"
    )
    assert len(_incidents(stack, rule="agent_silent")) == 1
    assert stack.collector.alive()
