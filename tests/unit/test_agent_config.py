from pathlib import Path

import pytest

from agent.config import ConfigError, load_agent_config, parse_duration
from collector.config import load_collector_config
from collector.paths import REPO_ROOT

EXAMPLE = REPO_ROOT / "deploy" / "agent.example.yaml"


def test_example_config_loads_and_resolves_targets():
    cfg = load_agent_config(EXAMPLE)
    targets = {t.device_id: t for t in cfg.resolved_targets()}
    assert set(targets) == {"printer-2f-east", "switch-2f", "mfp-reception"}
    switch = targets["switch-2f"]
    assert switch.interval == 30.0
    assert switch.credentials.community == "netops-ro"
    assert switch.labels == {"site": "hq", "department": "it", "tier": "vip"}
    mfp = targets["mfp-reception"]
    assert mfp.credentials.version == "3"
    assert mfp.credentials.auth_protocol == "sha256"
    assert targets["printer-2f-east"].parent == "switch-2f"


def test_collector_example_config_loads():
    cfg = load_collector_config(REPO_ROOT / "deploy" / "collector.example.yaml")
    assert cfg.http.port == 8470
    assert cfg.devices["printer-2f-east"].parent == "switch-2f"


def test_secrets_do_not_appear_in_repr():
    cfg = load_agent_config(EXAMPLE)
    text = repr(cfg) + repr(cfg.resolved_targets())
    assert "change-me-auth-key" not in text
    assert "netops-ro" not in text


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param("targets:\n  - address: 10.0.0.1\n    port: seventy\n", "targets.0.port", id="wrong_type"),
        pytest.param("targets:\n  - {address: a}\n  - {address: a}\n", "targets.1.name", id="duplicate_device"),
        pytest.param("targets:\n  - {address: a, version: '3'}\n", "targets.0.v3", id="v3_without_user"),
        pytest.param("defaults: {interval: soon}\n", "defaults.interval", id="bad_duration"),
        pytest.param("colector: {}\n", "colector: unknown field", id="typo_top_level"),
        pytest.param("targets:\n  - {address: a, v3: {user: u, auth_key: short}}\n", "targets.0.v3", id="short_key"),
        pytest.param("- just\n- a list\n", "expected a mapping", id="not_a_mapping"),
        pytest.param("targets: [\n", "not valid YAML", id="broken_yaml"),
    ],
)
def test_bad_config_names_file_and_field(tmp_path: Path, body: str, expected: str):
    path = tmp_path / "agent.yaml"
    path.write_text(body)
    with pytest.raises(ConfigError) as err:
        load_agent_config(path)
    message = str(err.value)
    assert str(path) in message
    assert expected in message


def test_missing_file_is_a_clear_error(tmp_path: Path):
    with pytest.raises(ConfigError, match="file not found"):
        load_agent_config(tmp_path / "nope.yaml")


@pytest.mark.parametrize(("raw", "seconds"), [(30, 30.0), ("30s", 30.0), ("5m", 300.0), ("1.5h", 5400.0)])
def test_durations(raw, seconds):
    assert parse_duration(raw) == seconds
