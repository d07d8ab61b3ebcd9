"""API tokens live in the incident database: behind a load balancer, a token made on one collector works on all.

Two web apps with their own SQLite state directories share one PostgreSQL
incident database (real server, real HTTP). A token created through A's API
or the CLI verifies on B; a revoke on B is a 401 on A at once.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from collector.cli import main
from collector.config import CollectorConfig
from collector.incidents import db as incident_db
from collector.web import auth, data, testing
from collector.web.app import create_app
from collector.web.auth import Role
from tests.support.cli import fleetwatch


@pytest.fixture
def two(tmp_path: Path, pg_url: str) -> Iterator[tuple[str, str, Path, Path, str]]:
    """Collectors A and B (URLs), their state databases, and the shared incident database."""
    paths = []
    for name in ("a", "b"):
        path = tmp_path / name / "fleetwatch.db"
        path.parent.mkdir()
        incident_db.use(path, pg_url)
        paths.append(path)
    config = CollectorConfig(incidents={"database": pg_url})  # type: ignore[arg-type]
    servers = [testing.ServerThread(create_app(p, config, forecasts=False)).start() for p in paths]
    try:
        yield servers[0].url, servers[1].url, paths[0], paths[1], pg_url
    finally:
        for s in servers:
            s.stop()
        for p in paths:
            incident_db.use(p, None)
        incident_db.close_shared()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _cli_admin(state_dir: Path) -> str:
    """`fleetwatch tokens create` with the collector's state directory (the CLI finds the shared database)."""
    r = CliRunner().invoke(
        main, ["tokens", "create", "--role", "admin", "--name", "ops", "--state-dir", str(state_dir)]
    )
    assert r.exit_code == 0, r.output
    return r.stdout.strip()


def test_token_made_on_a_works_on_b_and_a_revoke_on_b_applies_on_a(two: tuple[str, str, Path, Path, str]) -> None:
    url_a, url_b, path_a, path_b, _ = two
    admin = _bearer(_cli_admin(path_a.parent))
    with httpx.Client(timeout=10) as client:
        assert client.get(f"{url_b}/api/v1/tokens", headers=admin).status_code == 200  # CLI on A, API on B

        made = client.post(f"{url_a}/api/v1/tokens", json={"role": "viewer", "name": "wall"}, headers=admin)
        assert made.status_code == 201, made.text
        wall = _bearer(made.json()["token"])
        assert client.get(f"{url_b}/api/v1/devices", headers=wall).status_code == 200
        listed_on_b = {t["id"] for t in client.get(f"{url_b}/api/v1/tokens", headers=admin).json()}
        assert made.json()["id"] in listed_on_b

        assert client.delete(f"{url_b}/api/v1/tokens/{made.json()['id']}", headers=admin).status_code == 204
        for base in (url_a, url_b):
            denied = client.get(f"{base}/api/v1/devices", headers=wall)
            assert denied.status_code == 401, base
        assert client.delete(f"{url_a}/api/v1/tokens/{made.json()['id']}", headers=admin).status_code == 404

    # nothing went to the collectors' own SQLite files
    for path in (path_a, path_b):
        with data.reading(path) as conn:
            assert conn.execute("SELECT COUNT(*) FROM api_tokens").fetchone()[0] == 0


def test_timestamps_keep_sub_second_precision_on_postgresql(two: tuple[str, str, Path, Path, str]) -> None:
    _, _, path_a, _, pg_url = two
    now = 1_767_225_600.123456  # 2026-01-01, microseconds: float4 would round this by ~64 s
    with data.token_writing(path_a) as conn:
        info, _ = auth.create_token(conn, Role.viewer, "precise", now)
        auth.touch(conn, info.id, now + 61.5)
        assert auth.revoke_token(conn, info.id, now + 120.25)
    pg = incident_db.connect_raw(pg_url)
    try:
        kinds = dict(
            pg.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'api_tokens'"
            ).fetchall()
        )
        (stored,) = auth.list_tokens(pg, include_revoked=True)
    finally:
        pg.close()
    assert kinds["created_at"] == kinds["last_used_at"] == kinds["revoked_at"] == "double precision"
    assert (stored.created_at, stored.last_used_at, stored.revoked_at) == (now, now + 61.5, now + 120.25)


def test_cli_elsewhere_finds_tokens_through_env_and_pointer_file(
    two: tuple[str, str, Path, Path, str], tmp_path: Path
) -> None:
    url_a, _, path_a, _, pg_url = two
    token = _cli_admin(path_a.parent)
    token_id = token.split("_")[1]
    # a host that is not a collector: only $FLEETWATCH_INCIDENT_DB, in a process of its own
    env = {**os.environ, incident_db.ENV: pg_url}
    proc = fleetwatch(
        "tokens", "list", "--json", "--state-dir", str(tmp_path / "elsewhere"), cwd=tmp_path, env=env, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert [t["id"] for t in json.loads(proc.stdout)] == [token_id]
    # a stopped collector's state directory: its pointer file
    other = tmp_path / "stopped"
    other.mkdir()
    (other / incident_db.POINTER_FILE).write_text(pg_url + "\n")
    env = {k: v for k, v in os.environ.items() if k != incident_db.ENV}
    proc = fleetwatch("tokens", "revoke", token_id, "--state-dir", str(other), cwd=tmp_path, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    assert httpx.get(f"{url_a}/api/v1/tokens", headers=_bearer(token), timeout=10).status_code == 401


def test_unreachable_shared_database_is_a_clear_cli_error_without_the_password(tmp_path: Path) -> None:
    url = f"postgresql://fw:s3cret-pw@127.0.0.1:{testing.free_port()}/fleetwatch"
    env = {**os.environ, incident_db.ENV: url}
    proc = fleetwatch("tokens", "list", "--state-dir", str(tmp_path), cwd=tmp_path, env=env, check=False)
    assert proc.returncode == 1
    assert "cannot open incident database postgresql://fw:***@127.0.0.1" in proc.stderr
    assert "s3cret-pw" not in proc.stderr + proc.stdout


def test_shared_database_down_is_503_with_retry_not_500(tmp_path: Path) -> None:
    """Nobody listens on the port: the token check cannot be done, which is the server's problem, for now."""
    from tests.support.net import free_port

    path = tmp_path / "fleetwatch.db"
    dead = f"postgresql://fleetwatch:s3cret-down@127.0.0.1:{free_port()}/fleetwatch?connect_timeout=2"
    incident_db.use(path, dead)
    server = testing.ServerThread(create_app(path, CollectorConfig(), forecasts=False)).start()
    try:
        r = httpx.get(f"{server.url}/api/v1/devices", headers=_bearer("fw_0000_whatever"), timeout=20)
    finally:
        server.stop()
        incident_db.use(path, None)
        incident_db.close_shared()
    assert r.status_code == 503, r.text
    assert r.headers["retry-after"] == "5"
    assert "s3cret-down" not in r.text
