"""SNMP credentials and API tokens never appear in logs, ``--json`` outputs or the collector's database.

Real processes at debug log level: snmpsim serving a recording under a secret community and an SNMPv3
user, an agent polling it with right and wrong credentials (so the error paths log too), a collector
with its HTTP API used with a real token, and every CLI command that prints JSON.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import pytest
import yaml

from agent.simulator import Snmpsim, free_udp_port
from tests.e2e.conftest import DATA, Proc, fleetwatch
from tests.support.net import free_port, wait_for

pytestmark = pytest.mark.e2e

COMMUNITY = "c0mmunity-leakcheck-4471"  # = the recording's file name: snmpsim serves it under this community
WRONG_COMMUNITY = "wr0ng-leakcheck-8812"
AUTH_KEY = "authk3y-leakcheck-2290"
PRIV_KEY = "privk3y-leakcheck-6634"
WRONG_AUTH_KEY = "wr0ngauth-leakcheck-5517"
SECRETS = (COMMUNITY, WRONG_COMMUNITY, AUTH_KEY, PRIV_KEY, WRONG_AUTH_KEY)


def _found(secrets: tuple[str, ...], text: str | bytes) -> list[str]:
    blob = text if isinstance(text, bytes) else text.encode()
    return [s for s in secrets if s.encode() in blob]


def test_no_secret_in_logs_json_or_database(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    shutil.copyfile(DATA / "test-printer.snmprec", data / f"{COMMUNITY}.snmprec")
    user = {"user": "fwuser", "auth_key": AUTH_KEY, "auth_proto": "SHA", "priv_key": PRIV_KEY, "priv_proto": "AES"}
    sim = Snmpsim(data, [("127.0.0.1", free_udp_port())], v3_users=[user]).start(wait_community=COMMUNITY)
    zmq_port, http_port = free_port(), free_port()
    (tmp_path / "collector.yaml").write_text(
        yaml.safe_dump(
            {
                "listen": f"tcp://127.0.0.1:{zmq_port}",
                "http": {"enabled": True, "port": http_port},
                "rule_interval": 0.5,
            }
        )
    )
    v3 = {"user": "fwuser", "auth_protocol": "sha", "priv_protocol": "aes", "context": COMMUNITY}
    (tmp_path / "agent.yaml").write_text(
        yaml.safe_dump(
            {
                "agent_id": "leakcheck",
                "collector": {"endpoint": f"tcp://127.0.0.1:{zmq_port}", "batch_max_wait": 0.2},
                "spool_dir": str(tmp_path / "spool"),
                "defaults": {"interval": 1, "timeout": 1, "retries": 1, "port": sim.port},
                "local_host": {"enabled": False},
                "targets": [
                    {"name": "v2c-ok", "address": "127.0.0.1", "community": COMMUNITY},
                    {"name": "v2c-wrong", "address": "127.0.0.1", "community": WRONG_COMMUNITY},
                    {"name": "v3-ok", "address": "127.0.0.1", "v3": {**v3, "auth_key": AUTH_KEY, "priv_key": PRIV_KEY}},
                    {
                        "name": "v3-wrong",
                        "address": "127.0.0.1",
                        "v3": {**v3, "auth_key": WRONG_AUTH_KEY, "priv_key": PRIV_KEY},
                    },
                ],
            }
        )
    )
    collector = Proc(["collector", "run", "--config", "collector.yaml", "-vv"], tmp_path, tmp_path / "collector.log")
    agent = Proc(["agent", "run", "--config", "agent.yaml", "-vv"], tmp_path, tmp_path / "agent.log")
    outputs: dict[str, str] = {}
    try:
        collector.start()
        agent.start()

        def devices() -> dict[str, dict[str, object]]:
            if not (tmp_path / ".fleetwatch" / "fleetwatch.db").exists():
                return {}
            return {d["device_id"]: d for d in json.loads(fleetwatch("devices", "--json", cwd=tmp_path).stdout)}

        expected = {"v2c-ok": True, "v3-ok": True, "v2c-wrong": False, "v3-wrong": False}
        # Right credentials must work, wrong ones must not (waited for: a first poll may time out on a busy box).
        wait_for(lambda: {d: v["reachable"] for d, v in devices().items()} == expected, 60, "each target's state")
        assert "wrong authentication key" in agent.output(), "the wrong v3 key must be explained (without the key)"

        created = fleetwatch("tokens", "create", "--role", "operator", "--name", "leakcheck", cwd=tmp_path)
        token = next(w for w in created.stdout.split() if w.startswith("fw_"))
        token_secret = token.split("_", 2)[2]
        api = f"http://127.0.0.1:{http_port}/api/v1"
        wait_for(lambda: httpx.get(f"http://127.0.0.1:{http_port}/healthz").status_code == 200, 20, "HTTP up")
        assert httpx.get(f"{api}/devices", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        assert httpx.get(f"{api}/devices", headers={"Authorization": f"Bearer {token}x"}).status_code == 401

        for args in (
            ("devices", "--json"),
            ("devices", "--events", "--json"),
            ("latest", "v2c-ok", "--json"),
            ("incidents", "list", "--json"),
            ("collector", "status", "--json"),
            ("tokens", "list", "--json"),
            ("agent", "check-config", "agent.yaml"),
        ):
            done = fleetwatch(*args, cwd=tmp_path, check=False)
            outputs[" ".join(args)] = done.stdout + done.stderr
        for community in (COMMUNITY, WRONG_COMMUNITY):
            done = fleetwatch(
                "poll", "127.0.0.1", "--port", str(sim.port), "-c", community, "--timeout", "0.3", "--retries", "0",
                "--json", cwd=tmp_path, check=False,
            )  # fmt: skip
            outputs[f"poll -c {community[:5]}…"] = done.stdout + done.stderr
        assert '"reachable": true' in outputs[f"poll -c {COMMUNITY[:5]}…"].replace(":true", ": true")
    finally:
        agent.stop()
        collector.stop()
        sim.stop()

    everything = {"agent log": agent.output(), "collector log": collector.output(), **outputs}
    leaks = {where: _found((*SECRETS, token_secret), text) for where, text in everything.items()}
    assert not any(leaks.values()), {k: v for k, v in leaks.items() if v}
    for db_file in (tmp_path / ".fleetwatch").glob("fleetwatch.db*"):
        assert not _found((*SECRETS, token_secret), db_file.read_bytes()), f"{db_file.name} holds a secret"
    # The error paths did run and log: the check above had something to look at.
    assert "v2c-wrong: unreachable" in agent.output()
    assert "v3-wrong: unreachable" in agent.output()
