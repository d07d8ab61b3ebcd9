"""Everything in deploy/ loads: YAML and JSON parse, systemd units parse (and verify), samples validate.

Docker is not available here, so the compose file is checked for structure and for pointing at files
that exist, not run.
"""

from __future__ import annotations

import configparser
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from agent.config import load_agent_config
from agent.wire import Counters, Device, DevicePoll, Interface, Supply
from collector.config import load_collector_config
from collector.series import flatten
from collector.storage.influx import InfluxSink, make_timeseries_sink

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
YAML_FILES = sorted(p for ext in ("*.yaml", "*.yml") for p in DEPLOY.rglob(ext))
JSON_FILES = sorted(DEPLOY.rglob("*.json"))
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))


def _rel(p: Path) -> str:
    return str(p.relative_to(DEPLOY))


def test_deploy_has_the_files_we_document():
    assert {_rel(p) for p in UNITS} == {"systemd/fleetwatch-agent.service", "systemd/fleetwatch-collector.service"}
    for name in ("docker-compose.yml", "Dockerfile", "README.md", "systemd/README.md", "remote-site/README.md"):
        assert (DEPLOY / name).is_file(), name


@pytest.mark.parametrize("path", YAML_FILES, ids=_rel)
def test_yaml_parses(path: Path):
    assert yaml.safe_load(path.read_text(encoding="utf-8")) is not None


@pytest.mark.parametrize("path", JSON_FILES, ids=_rel)
def test_json_parses(path: Path):
    json.loads(path.read_text(encoding="utf-8"))


def _unit(path: Path) -> configparser.ConfigParser:
    # systemd allows repeated keys (SystemCallFilter twice): not strict, no % interpolation (%S specifiers).
    cp = configparser.ConfigParser(strict=False, interpolation=None)
    cp.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    cp.read_string(path.read_text(encoding="utf-8"), source=str(path))
    return cp


@pytest.mark.parametrize("path", UNITS, ids=_rel)
def test_systemd_unit_is_hardened(path: Path):
    unit = _unit(path)
    assert unit.sections() == ["Unit", "Service", "Install"]
    svc = unit["Service"]
    assert svc["ExecStart"].startswith("/opt/fleetwatch/.venv/bin/fleetwatch ")
    assert svc["DynamicUser"] == "yes"
    assert svc["ProtectSystem"] == "strict"
    assert svc["NoNewPrivileges"] == "yes"
    assert svc["CapabilityBoundingSet"] == ""
    assert svc["StateDirectory"].startswith("fleetwatch")
    assert unit["Install"]["WantedBy"] == "multi-user.target"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
@pytest.mark.parametrize("path", UNITS, ids=_rel)
def test_systemd_unit_verifies(path: Path, tmp_path: Path):
    # verify wants the binary to exist: substitute one that does, keep every other line.
    copy = tmp_path / path.name
    copy.write_text(path.read_text().replace("/opt/fleetwatch/.venv/bin/fleetwatch", "/bin/true"))
    out = subprocess.run(["systemd-analyze", "verify", str(copy)], capture_output=True, text=True, timeout=60)
    problems = [line for line in out.stderr.splitlines() if str(copy) in line]
    assert problems == []


def test_compose_stack_structure():
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"collector", "influxdb", "grafana"}
    assert (DEPLOY.parent / services["collector"]["build"]["dockerfile"]).is_file()
    assert services["collector"]["depends_on"]["influxdb"]["condition"] == "service_healthy"
    assert "8471:8471" in services["collector"]["ports"]
    for svc in services.values():
        for vol in svc.get("volumes", []):
            source = vol.split(":")[0]
            if source.startswith("./"):
                assert (DEPLOY / source).exists(), f"compose mounts missing {source}"
            else:
                assert source in compose["volumes"], f"undeclared named volume {source}"
    env = services["influxdb"]["environment"]
    assert (env["DOCKER_INFLUXDB_INIT_ORG"], env["DOCKER_INFLUXDB_INIT_BUCKET"]) == ("fleetwatch", "fleetwatch")


def test_compose_collector_config_selects_influxdb():
    cfg = load_collector_config(DEPLOY / "compose" / "collector.yaml")
    assert cfg.storage.backend == "influxdb"
    assert cfg.storage.influxdb is not None
    assert cfg.storage.influxdb.url == "http://influxdb:8086"
    sink = make_timeseries_sink(cfg.storage)
    assert isinstance(sink, InfluxSink)
    sink.close()


def test_dockerfile_copies_what_exists():
    for line in (DEPLOY / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY "):
            for src in line.split()[1:-1]:
                assert (DEPLOY.parent / src).exists(), line


def test_remote_site_agent_config_is_valid():
    cfg = load_agent_config(DEPLOY / "remote-site" / "agent.yaml")
    assert cfg.collector.insecure is False
    assert cfg.collector.server_public_key is not None
    assert {t.device_id for t in cfg.resolved_targets()} == {"lyon-mfp-1", "lyon-printer-2", "lyon-switch"}


def _metrics_we_write() -> set[str]:
    poll = DevicePoll(
        device_id="x",
        ts=0,
        device=Device(address="127.0.0.1", uptime_s=1),
        supplies=[Supply(index="1.1", description="d", type="toner", level=5, capacity=10, percent=50.0)],
        counters=Counters(total_pages=1),
        interfaces=[Interface(index=1, name="eth0", in_octets=1, out_octets=1, oper_status="up")],
    )
    return {r.metric for r in flatten(poll)}


def test_grafana_dashboard_queries_metrics_that_exist():
    dash = json.loads((DEPLOY / "grafana" / "fleetwatch-dashboard.json").read_text())
    ds = yaml.safe_load((DEPLOY / "grafana" / "provisioning" / "datasources" / "influxdb.yaml").read_text())
    uid = ds["datasources"][0]["uid"]
    titles = {p["title"] for p in dash["panels"]}
    assert {"Devices up", "Supply levels", "Pages per day", "Interface rate in", "Interface rate out"} <= titles
    known = _metrics_we_write()
    for panel in dash["panels"]:
        assert panel["datasource"]["uid"] == uid
        for target in panel["targets"]:
            measurements = re.findall(r'r\._measurement == "(\w+)"', target["query"])
            assert measurements, panel["title"]
            assert set(measurements) <= known, f"{panel['title']}: {set(measurements) - known}"
            assert 'r._field == "value"' in target["query"]
