"""Faults on simulated devices become incidents by themselves, over real processes.

snmpsim serves the demo recordings (collector.demo.fleet rewrites them at run time), the agent polls every
second, the collector evaluates the shipped rules and notifies a real local HTTP receiver.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from collector.demo.fleet import SimulatedFleet
from collector.paths import REPO_ROOT
from tests.e2e.conftest import Stack
from tests.support.net import WebhookReceiver, wait_for

RECORDINGS = REPO_ROOT / "deploy" / "demo" / "recordings"
PRINTER = "hp-clj-m477"
SWITCH = "cisco-c9200l-24p"
OTHER_PRINTER = "lexmark-ms621dn"


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[SimulatedFleet]:
    f = SimulatedFleet(RECORDINGS, tmp_path / "fleet", devices=[PRINTER, SWITCH, OTHER_PRINTER])
    f.start()
    yield f
    f.close()


def _start(stack: Stack, fleet: SimulatedFleet, receiver: WebhookReceiver) -> None:
    policy = yaml.safe_load((REPO_ROOT / "deploy" / "sla.yaml").read_text())
    policy["notify"]["channels"] = {
        "ticketing": {"type": "webhook", "url": f"http://127.0.0.1:{receiver.port}/hook"},
    }
    policy["notify"]["routes"] = [{"events": ["open", "reopen", "acknowledge", "resolve"], "channels": ["ticketing"]}]
    for step in policy["escalation"]:
        step["notify"] = ["ticketing"]
    (stack.root / "sla.yaml").write_text(yaml.safe_dump(policy))
    _, port = fleet.endpoint
    stack.sim = type("S", (), {"port": port})()  # the fleet's snmpsim replaces the session one
    stack.write_configs(
        [
            {
                "name": PRINTER,
                "address": "127.0.0.1",
                "community": PRINTER,
                "parent": SWITCH,
                "labels": {"tier": "vip"},
            },
            {"name": OTHER_PRINTER, "address": "127.0.0.1", "community": OTHER_PRINTER, "parent": SWITCH},
            {"name": SWITCH, "address": "127.0.0.1", "community": SWITCH},
        ],
        sla_policy=str(stack.root / "sla.yaml"),
    )
    stack.collector.start()
    stack.agent.start()
    wait_for(lambda: {PRINTER, SWITCH, OTHER_PRINTER} <= set(stack.devices()), 40, "all devices polled")


def _incidents(stack: Stack, **filters: str) -> list[dict[str, object]]:
    rows = stack.cli_json("incidents", "list")
    return [r for r in rows if all(r.get(k) == v for k, v in filters.items())]


def test_jam_opens_once_notifies_once_and_resolves(stack: Stack, fleet: SimulatedFleet, receiver: WebhookReceiver):
    _start(stack, fleet, receiver)
    time.sleep(2)  # a few clean polls first
    assert _incidents(stack, device=PRINTER, rule="paper_jam") == []
    jammed_at = time.time()
    fleet.paper_jam(PRINTER)
    (inc,) = wait_for(lambda: _incidents(stack, device=PRINTER, rule="paper_jam"), 20, "the jam incident")
    latency = time.time() - jammed_at
    assert latency < 1.0 + 5.0, f"opened {latency:.1f}s after the jam (poll interval 1s)"
    print(f"\nfault -> incident: {latency:.2f}s")
    assert inc["severity"] == "P2"
    assert inc["tier"] == "vip"
    assert inc["state"] == "open"
    # vip P2: respond 30 min, resolve 4 h, around the clock.
    opened = _ts(inc["opened_at"])
    assert abs(_ts(inc["response_due"]) - opened - 1800) < 2
    assert abs(_ts(inc["resolve_due"]) - opened - 4 * 3600) < 2
    number = inc["number"]
    wait_for(lambda: receiver.events(number) == ["open"], 15, "one webhook for the opening")

    time.sleep(3)  # the jam persists for several polls: occurrences, no duplicate incident, no second webhook
    assert len(_incidents(stack, device=PRINTER, rule="paper_jam")) == 1
    assert receiver.events(number) == ["open"]

    fleet.clear_jam(PRINTER)
    wait_for(lambda: _incidents(stack, number=number, state="resolved") or None, 20, "auto-resolve")
    wait_for(lambda: receiver.events(number) == ["open", "resolve"], 15, "the resolve webhook")
    keys = [k for k, b in receiver.requests if b.get("event") in ("open", "resolve")]
    assert len(keys) == len(set(keys))
    assert all(keys)
    assert stack.collector.alive()


def test_dead_switch_suppresses_its_printers(stack: Stack, fleet: SimulatedFleet, receiver: WebhookReceiver):
    _start(stack, fleet, receiver)
    fleet.take_offline(SWITCH)
    fleet.take_offline(PRINTER)
    fleet.take_offline(OTHER_PRINTER)
    (inc,) = wait_for(lambda: _incidents(stack, device=SWITCH), 30, "the switch unreachable incident")
    assert inc["severity"] == "P1"
    time.sleep(4)  # printers behind it are polled unreachable for more than 3 polls meanwhile
    for printer in (PRINTER, OTHER_PRINTER):
        rules = [r["rule"] for r in _incidents(stack, device=printer)]
        assert "printer_unreachable" not in rules, f"{printer} opened its own incident behind a dead switch"
    held = stack.cli_json("incidents", "suppressed")
    assert {h["device"] for h in held if h["rule"] == "printer_unreachable"} == {PRINTER, OTHER_PRINTER}, (
        "suppressed alerts stay visible"
    )


def test_unreachable_printer_opens_p1(stack: Stack, fleet: SimulatedFleet, receiver: WebhookReceiver):
    _start(stack, fleet, receiver)
    fleet.take_offline(OTHER_PRINTER)
    (inc,) = wait_for(
        lambda: _incidents(stack, device=OTHER_PRINTER, rule="printer_unreachable"), 30, "unreachable incident"
    )
    assert inc["severity"] == "P1"
    fleet.bring_online(OTHER_PRINTER)
    wait_for(lambda: _incidents(stack, number=inc["number"], state="resolved") or None, 30, "resolved when it answers")


def _ts(iso: object) -> float:
    from datetime import datetime

    return datetime.fromisoformat(str(iso).replace("Z", "+00:00")).timestamp()
