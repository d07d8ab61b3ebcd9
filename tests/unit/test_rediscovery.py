"""Scheduled rediscovery: the pure comparison between sweeps, and its configuration."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from agent.config import AgentConfig, Discovery
from agent.rediscovery import diff, load_sweep, save_sweep
from agent.wire import Batch, Device, DeviceKind, InventoryEvent, decode_batch, encode_batch
from collector.paths import REPO_ROOT


def _dev(address: str, name: str = "prn") -> Device:
    return Device(address=address, sys_name=name, kind=DeviceKind.printer, vendor="HP", model="M880")


A, B, C = ("10.0.0.1", 161), ("10.0.0.2", 161), ("10.0.0.3", 1161)


@pytest.mark.parametrize(
    ("previous", "current", "configured", "expected"),
    [
        pytest.param({}, {A: _dev("10.0.0.1")}, [], [("discovered", A)], id="first-sweep-reports-all"),
        pytest.param({A: _dev("10.0.0.1")}, {A: _dev("10.0.0.1")}, [], [], id="unchanged-is-silent"),
        pytest.param({A: _dev("10.0.0.1")}, {}, [], [("vanished", A)], id="gone-is-vanished"),
        pytest.param({}, {A: _dev("10.0.0.1"), B: _dev("10.0.0.2")}, [A], [("discovered", B)], id="configured-skip"),
        pytest.param({C: _dev("10.0.0.3")}, {}, [C], [], id="configured-never-vanishes"),
        pytest.param({A: _dev("10.0.0.1")}, {B: _dev("10.0.0.2")}, [], [("discovered", B), ("vanished", A)], id="swap"),
    ],
)
def test_diff(previous, current, configured, expected) -> None:
    events = diff(previous, current, configured, now=1000.0)
    assert [(e.event, (e.address, e.port)) for e in events] == expected
    assert all(e.ts == 1000.0 for e in events)


def test_event_carries_identity_and_port() -> None:
    (ev,) = diff({}, {C: _dev("10.0.0.3", "lobby")}, [], now=5.0)
    assert (ev.sys_name, ev.vendor, ev.model, ev.kind, ev.port) == ("lobby", "HP", "M880", DeviceKind.printer, 1161)


def test_batch_with_events_only_round_trips_and_old_batches_still_decode() -> None:
    ev = InventoryEvent(event="vanished", address="10.0.0.1", ts=3.0)
    batch = Batch(batch_id="b", agent_id="a", sent_at=3.0, polls=[], events=[ev])
    assert decode_batch(encode_batch(batch)).events == [ev]
    old = b'{"v":1,"batch_id":"b","agent_id":"a","sent_at":1.0,"polls":[]}'
    assert decode_batch(old).events == []


def test_discovery_config_defaults_and_durations() -> None:
    d = Discovery.model_validate({"ranges": ["127.0.0.0/30"], "every": "5m", "timeout": "500ms"})
    assert (d.every, d.timeout, d.port) == (300.0, 0.5, 161)
    assert [c.community for c in d.credentials()] == ["public"]
    d3 = Discovery.model_validate(
        {"ranges": ["127.0.0.1"], "communities": [], "v3": {"user": "u", "auth_key": "12345678"}}
    )
    assert [(c.version, c.user) for c in d3.credentials()] == [("3", "u")]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param({"ranges": []}, "at least 1", id="no-ranges"),
        pytest.param({"ranges": ["printer.local"]}, "not an address", id="hostname"),
        pytest.param({"ranges": ["10.0.0.0/8"]}, "more than", id="too-big"),
        pytest.param({"ranges": ["127.0.0.1"], "every": 0}, "positive", id="zero-interval"),
        pytest.param({"ranges": ["127.0.0.1"], "evry": "1h"}, "Extra inputs", id="typo"),
    ],
)
def test_discovery_config_rejects(raw, message) -> None:
    with pytest.raises(ValidationError, match=message):
        AgentConfig.model_validate({"discovery": raw})


def test_commented_example_in_sample_config_is_valid() -> None:
    """The sample shows discovery commented out; uncommented, it must load."""
    text = (REPO_ROOT / "deploy" / "agent.example.yaml").read_text()
    block = text[text.index("# discovery:") :]
    uncommented = "\n".join(re.sub(r"^# ?", "", line) for line in block.splitlines() if line.startswith("#"))
    cfg = AgentConfig.model_validate(yaml.safe_load(uncommented))
    assert cfg.discovery is not None
    assert cfg.discovery.every == 3600.0
    assert len(cfg.discovery.credentials()) == 3


def test_saved_sweep_round_trips_and_replaces_atomically(tmp_path: Path) -> None:
    path = tmp_path / "spool" / "discovery.json"
    assert load_sweep(path) == {}, "no file yet is an empty sweep"
    sweep = {A: _dev("10.0.0.1"), C: _dev("10.0.0.3", name="other")}
    save_sweep(path, sweep)
    assert load_sweep(path) == sweep
    save_sweep(path, {B: _dev("10.0.0.2")})
    assert load_sweep(path) == {B: _dev("10.0.0.2")}
    assert [p.name for p in path.parent.iterdir()] == ["discovery.json"], "no temporary file left behind"


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"", id="empty-file"),
        pytest.param(b"{not json", id="truncated"),
        pytest.param(b'[["10.0.0.1", "x", {}]]', id="wrong-types"),
    ],
)
def test_unreadable_saved_sweep_starts_from_scratch(tmp_path: Path, content: bytes, caplog) -> None:
    path = tmp_path / "discovery.json"
    path.write_bytes(content)
    assert load_sweep(path) == {}
    assert str(path) in caplog.text
