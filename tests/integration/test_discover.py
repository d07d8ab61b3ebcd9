"""``fleetwatch discover`` against real snmpsim agents on 127.0.0.x, with silent addresses around them.

Only 127.0.0.0/8 is ever swept here. Each device is its own snmpsim process
on its own loopback address (community ``public``), so the sweep has to tell
them apart by what they answer, as on a real network.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from agent.config import Target
from agent.discover import DiscoverError, Found, expand, target_entry, target_name, targets_document
from agent.discover_cli import discover
from agent.simulator import Snmpsim, free_udp_port
from agent.snmp import Credentials
from agent.wire import Device, DeviceKind

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "librenms"

#: loopback address -> recording served there
DEVICES = {
    "127.0.0.3": "ios_2960x",
    "127.0.0.7": "jetdirect_m880",
    "127.0.0.12": "dsm",
    "127.0.0.20": "apc_smt750x-nmc2",
}
V3_ADDRESS = "127.0.0.30"
V3_USER = {
    "user": "scanner",
    "auth_key": "auth-secret-1",
    "auth_proto": "SHA",
    "priv_key": "priv-secret-1",
    "priv_proto": "AES",
}
EXPECTED_KIND = {
    "127.0.0.3": DeviceKind.network,
    "127.0.0.7": DeviceKind.printer,
    "127.0.0.12": DeviceKind.storage,
    "127.0.0.20": DeviceKind.power,
}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> int:
    if not all((CORPUS / f"{stem}.snmprec").exists() for stem in DEVICES.values()):
        pytest.skip(f"corpus not present at {CORPUS}")
    port = free_udp_port()
    sims = []
    for address, stem in [*DEVICES.items(), (V3_ADDRESS, "linux_lsi")]:
        data = tmp_path_factory.mktemp(stem)
        # A copy, not a symlink: snmpsim derives the community from the resolved path.
        shutil.copyfile(CORPUS / f"{stem}.snmprec", data / "public.snmprec")
        users = [V3_USER] if address == V3_ADDRESS else None
        sims.append(Snmpsim(data, [(address, port)], v3_users=users).start())
    try:
        for sim in sims:
            sim.wait_ready("public")
        yield port
    finally:
        for sim in sims:
            sim.stop()


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(discover, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_sweep_finds_and_identifies_every_device(fleet: int, tmp_path: Path) -> None:
    out_file = tmp_path / "targets.yaml"
    started = time.monotonic()
    code, stdout, stderr = run(
        "127.0.0.1-127.0.0.29",
        "--port",
        str(fleet),
        "--community",
        "wrong",
        "--community",
        "public",
        "--timeout",
        "0.5",
        "--json",
        "-o",
        str(out_file),
    )
    elapsed = time.monotonic() - started
    assert code == 0, stderr
    doc = json.loads(stdout)
    by_addr = {d["address"]: d for d in doc["devices"]}
    assert set(by_addr) == set(DEVICES)
    for address, kind in EXPECTED_KIND.items():
        assert by_addr[address]["kind"] == kind.value, address
    assert by_addr["127.0.0.3"]["vendor"] == "Cisco"
    assert by_addr["127.0.0.7"]["model"]
    assert doc["silent"] == 29 - len(DEVICES)
    assert "29 addresses" in stderr
    # Silent addresses cost one short timeout each, concurrently: seconds, not minutes.
    assert elapsed < 15

    text = out_file.read_text()
    assert out_file.stat().st_mode & 0o077 == 0
    entries = yaml.safe_load(text)["targets"]
    assert [e["address"] for e in entries] == sorted(DEVICES, key=lambda a: int(a.rsplit(".", 1)[1]))
    for e in entries:
        target = Target.model_validate(e)  # the agent's own config model accepts the draft
        assert target.port == fleet
        assert target.community is not None
        assert target.community.get_secret_value() == "public"
        assert e["labels"]["kind"] == EXPECTED_KIND[e["address"]].value
    assert len({e["name"] for e in entries}) == len(entries)


def test_snmpv3_sweep_and_wrong_key_named(fleet: int) -> None:
    common = ["--port", str(fleet), "--timeout", "0.5", "--v3-user", "scanner", "--auth-proto", "sha"]
    common += ["--priv-proto", "aes", "--priv-key", "priv-secret-1", "--v3-context", "public", "--json"]
    code, stdout, stderr = run(V3_ADDRESS, *common, "--auth-key", "auth-secret-1")
    assert code == 0, stderr
    (dev,) = json.loads(stdout)["devices"]
    assert (dev["address"], dev["credentials"], dev["kind"]) == (V3_ADDRESS, "v3:scanner", "host")

    code, stdout, stderr = run(V3_ADDRESS, *common, "--auth-key", "not-the-key")
    assert code == 0
    doc = json.loads(stdout)
    assert doc["devices"] == []
    assert V3_ADDRESS in doc["problems"]
    assert "wrong authentication key" in doc["problems"][V3_ADDRESS]
    assert f"{V3_ADDRESS}:{fleet}" in stderr


def test_bad_range_is_a_usage_error() -> None:
    result = CliRunner().invoke(discover, ["127.0.0.1-127.0.0.0"])
    assert result.exit_code == 2
    assert "range end is before its start" in result.output


@pytest.mark.parametrize(
    ("specs", "expected"),
    [
        pytest.param(["127.0.0.1"], ["127.0.0.1"], id="single"),
        pytest.param(["127.0.0.0/30"], ["127.0.0.1", "127.0.0.2"], id="cidr-hosts-only"),
        pytest.param(["127.0.0.8/31"], ["127.0.0.8", "127.0.0.9"], id="point-to-point-31"),
        pytest.param(["127.0.0.5-7"], ["127.0.0.5", "127.0.0.6", "127.0.0.7"], id="short-range"),
        pytest.param(["127.0.0.2-127.0.0.3", "127.0.0.3"], ["127.0.0.2", "127.0.0.3"], id="duplicates-once"),
    ],
)
def test_expand(specs: list[str], expected: list[str]) -> None:
    assert expand(specs) == expected


@pytest.mark.parametrize(
    "spec",
    [
        pytest.param("printer.local", id="hostname"),
        pytest.param("127.0.0.300", id="bad-octet"),
        pytest.param("", id="empty"),
        pytest.param("127.0.0.9-127.0.0.1", id="reversed"),
    ],
)
def test_expand_rejects(spec: str) -> None:
    with pytest.raises(DiscoverError):
        expand([spec])


def test_expand_refuses_huge_sweeps() -> None:
    with pytest.raises(DiscoverError, match="more than"):
        expand(["10.0.0.0/8"])


def _found(address: str, sys_name: str | None, creds: Credentials | None = None, port: int = 161) -> Found:
    device = Device(address=address, sys_name=sys_name, kind=DeviceKind.printer, vendor="HP", model="LaserJet M880")
    return Found(address, port, creds or Credentials(community="public"), device)


def test_names_unique_and_clean() -> None:
    taken: set[str] = set()
    assert target_name(_found("10.0.0.1", "PRN Floor 2"), taken) == "prn-floor-2"
    assert target_name(_found("10.0.0.2", "prn floor 2"), taken) == "prn-floor-2-2"
    assert target_name(_found("10.0.0.3", None), taken) == "10.0.0.3"


def test_v3_entry_round_trips_through_agent_config() -> None:
    creds = Credentials(
        version="3", user="mon", auth_protocol="sha256", auth_key="a" * 10, priv_protocol="aes256", priv_key="p" * 10
    )
    entry = target_entry(_found("10.0.0.9", "x", creds, port=1161), "x")
    t = Target.model_validate(entry)
    assert t.version == "3"
    assert t.v3 is not None
    assert (t.v3.user, t.v3.auth_protocol, t.v3.priv_protocol, t.port) == ("mon", "sha256", "aes256", 1161)
    assert entry["labels"] == {"kind": "printer", "vendor": "HP", "model": "LaserJet M880"}
    assert "targets:" in targets_document([_found("10.0.0.9", "x", creds)])
