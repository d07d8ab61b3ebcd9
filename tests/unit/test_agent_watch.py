"""An agent that stops delivering raises one agent_silent alert, resolved when it delivers again."""

from __future__ import annotations

from collector.agent_watch import AgentWatch, agent_info, common_labels
from collector.alerts import AlertState


def test_silence_fires_once_and_resolves_when_a_batch_arrives() -> None:
    watch = AgentWatch(silent_after=300)
    watch.seen("hq", 1000.0)
    watch.seen("branch", 1000.0)
    assert watch.check(1299.0) == []
    watch.seen("hq", 1290.0)
    (fired,) = watch.check(1301.0)
    assert (fired.state, fired.rule, fired.device_id, fired.severity) == (
        AlertState.firing,
        "agent_silent",
        "agent:branch",
        "P2",
    )
    assert fired.since == 1000.0, "the fault began with the last batch"
    assert fired.suppresses_device
    assert "branch" in fired.annotations["summary"]
    assert watch.check(2000.0)[0].device_id == "agent:hq", "hq goes silent later, branch is not re-fired"
    assert watch.check(3000.0) == []

    watch.seen("branch", 3005.0)
    (resolved,) = watch.check(3006.0)
    assert (resolved.state, resolved.device_id, resolved.fingerprint) == (
        AlertState.resolved,
        "agent:branch",
        fired.fingerprint,
    )
    assert watch.check(3007.0) == []


def test_an_older_batch_does_not_move_the_clock_back() -> None:
    watch = AgentWatch(silent_after=60)
    watch.seen("hq", 500.0)
    watch.seen("hq", 100.0)  # a resent batch acknowledged late
    assert watch.check(550.0) == []


def test_agent_incident_carries_the_labels_all_its_devices_share() -> None:
    labels = [
        {"site": "lyon", "tier": "vip", "department": "finance"},
        {"site": "lyon", "tier": "vip", "department": "sales"},
    ]
    assert common_labels(labels) == {"site": "lyon", "tier": "vip"}
    assert common_labels([]) == {}
    info = agent_info("lyon-1", labels)
    assert (info.device_id, info.kind, info.labels) == ("agent:lyon-1", "agent", {"site": "lyon", "tier": "vip"})
