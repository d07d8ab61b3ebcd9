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
        pytest.param(
            "collector: {endpoint: 'tcp://127.0.0.2:1'}\ncollectors: [{endpoint: 'tcp://127.0.0.3:1'}]\n",
            "either `collector` (one) or `collectors`",
            id="collector_and_collectors",
        ),
        pytest.param(
            "collectors: [{endpoint: 'tcp://127.0.0.2:1'}, {endpoint: 'tcp://127.0.0.2:1'}]\n",
            "collectors.1.endpoint",
            id="same_twice",
        ),
        pytest.param("collectors: []\n", "collectors", id="empty_collector_list"),
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


def test_one_collector_or_several_each_with_its_own_spool(tmp_path: Path):
    one = tmp_path / "one.yaml"
    one.write_text("collector: {endpoint: 'tcp://10.1.0.5:8471', insecure: true}\nspool_dir: /var/spool/fw\n")
    cfg = load_agent_config(one)
    assert [link.endpoint for link in cfg.links()] == ["tcp://10.1.0.5:8471"]
    assert cfg.spool_dir_for(0) == Path("/var/spool/fw")

    two = tmp_path / "two.yaml"
    two.write_text(
        "collectors:\n"
        "  - {endpoint: 'tcp://10.1.0.5:8471', insecure: true}\n"
        "  - {endpoint: 'tcp://collector-b.example.net:8471', insecure: true, spool_max_batches: 50}\n"
        "spool_dir: /var/spool/fw\n"
    )
    cfg = load_agent_config(two)
    assert [link.endpoint for link in cfg.links()] == ["tcp://10.1.0.5:8471", "tcp://collector-b.example.net:8471"]
    # The first keeps the single-collector location, so adding a second collector does not orphan a spool.
    assert cfg.spool_dir_for(0) == Path("/var/spool/fw")
    assert cfg.spool_dir_for(1) == Path("/var/spool/fw/to-tcp-collector-b.example.net-8471")
    assert cfg.links()[1].spool_max_batches == 50


def test_check_config_lists_every_collector(tmp_path: Path):
    from click.testing import CliRunner

    from agent.cli import check_config

    path = tmp_path / "agent.yaml"
    path.write_text(
        "collectors:\n  - {endpoint: 'tcp://127.0.0.1:8471'}\n  - {endpoint: 'tcp://127.0.0.2:8471'}\n"
        "spool_dir: spool\ntargets: [{address: 127.0.0.1}]\n"
    )
    result = CliRunner().invoke(check_config, [str(path)])
    assert result.exit_code == 0, result.output
    assert "pushes to tcp://127.0.0.1:8471 (insecure, spool spool)" in result.output
    assert "pushes to tcp://127.0.0.2:8471 (insecure, spool spool/to-tcp-127.0.0.2-8471)" in result.output


@pytest.mark.parametrize(
    ("link", "plain"),
    [
        pytest.param("{endpoint: 'tcp://127.0.0.1:8471'}", True, id="loopback-needs-nothing"),
        pytest.param("{endpoint: 'tcp://localhost:8471'}", True, id="localhost"),
        pytest.param("{endpoint: 'ipc:///run/fleetwatch.sock'}", True, id="ipc"),
        pytest.param("{endpoint: 'tcp://10.0.0.5:8471', insecure: true}", True, id="remote-plain-said-so"),
        pytest.param(
            "{endpoint: 'tcp://10.0.0.5:8471', server_public_key: c.key, client_secret_key: a.key_secret}",
            False,
            id="remote-with-keys-is-curve",
        ),
        pytest.param(
            "{endpoint: 'tcp://127.0.0.1:8471', insecure: false, server_public_key: c.key, client_secret_key: a.k}",
            False,
            id="loopback-curve-on-request",
        ),
    ],
)
def test_link_encryption_is_what_was_asked_for(tmp_path: Path, link: str, plain: bool):
    path = tmp_path / "agent.yaml"
    path.write_text(f"collector: {link}\n")
    assert load_agent_config(path).collector.plain is plain


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        pytest.param("{endpoint: 'tcp://10.0.0.5:8471'}", "set insecure: true", id="remote-plain-not-said"),
        pytest.param("{endpoint: 'tcp://0.0.0.0:8471'}", "not on this machine", id="any-address"),
        pytest.param(
            "{endpoint: 'tcp://127.0.0.1:8471', insecure: false}", "server_public_key and", id="curve-no-keys"
        ),
        pytest.param(
            "{endpoint: 'tcp://10.0.0.5:8471', server_public_key: c.key}", "client_secret_key required", id="half-keys"
        ),
    ],
)
def test_plain_tcp_off_the_machine_must_be_asked_for(tmp_path: Path, link: str, expected: str):
    path = tmp_path / "agent.yaml"
    path.write_text(f"collector: {link}\n")
    with pytest.raises(ConfigError) as err:
        load_agent_config(path)
    assert "collector" in str(err.value)
    assert expected in str(err.value)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        pytest.param("{}", None, id="empty-is-loopback"),
        pytest.param("listen: tcp://0.0.0.0:8471\ninsecure: true\n", None, id="any-address-plain-said-so"),
        pytest.param("listen: tcp://0.0.0.0:8471\n", "set curve.enabled: true", id="any-address-plain-not-said"),
        pytest.param("listen: tcp://0.0.0.0:8471\ncurve: {enabled: true}\ninsecure: true\n", "contradicts", id="both"),
    ],
)
def test_collector_plain_tcp_off_the_machine_must_be_asked_for(tmp_path: Path, body: str, error: str | None):
    path = tmp_path / "collector.yaml"
    path.write_text(body)
    if error is None:
        load_collector_config(path)
        return
    with pytest.raises(ConfigError) as err:
        load_collector_config(path)
    assert error in str(err.value)
    assert str(path) in str(err.value)
