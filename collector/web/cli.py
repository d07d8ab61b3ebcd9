"""``fleetwatch tokens``: create, list and revoke API tokens.

Works on the database directly (running or stopped). Tokens live in the
incident database, found the way ``fleetwatch incidents`` finds it: the state
directory's SQLite file (``--state-dir`` / ``$FLEETWATCH_STATE`` /
``./.fleetwatch``), unless ``$FLEETWATCH_INCIDENT_DB`` names another or the
collector left a pointer to its shared PostgreSQL database there. A token made
here then works on every collector sharing that database.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from collector import paths
from collector.cli_common import state_dir_option
from collector.incidents import db as incident_db
from collector.web import auth, data
from collector.web.auth import Role


def _db(state: Path | None) -> Path:
    db = paths.db_path(state)
    data.ensure_schema(db)
    return db


@contextmanager
def _tokens_db(state: Path | None, *, write: bool) -> Iterator[Any]:
    """The incident database's connection for tokens; a shared database that cannot be reached is a clear error."""
    db = _db(state)
    target = incident_db.target_for(db)
    with ExitStack() as stack:
        try:
            conn = stack.enter_context(data.token_writing(db) if write else data.token_reading(db))
        except Exception as exc:
            if not incident_db.is_url(target):
                raise
            # psycopg.OperationalError and friends: say where, never the password
            raise click.ClickException(f"cannot open incident database {incident_db.redact(target)}: {exc}") from exc
        yield conn


def _when(ts: float | None) -> str:
    return "-" if ts is None else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


@click.group()
def tokens() -> None:
    """API tokens for the HTTP API and the wall display (viewer, operator, admin)."""


@tokens.command("create")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True, help="what the token may do")
@click.option("--name", default=None, help="who or what uses it (shown in incident timelines)")
@state_dir_option()
def create(role: str, name: str | None, state: Path | None) -> None:
    """Create a token and print it once (only its hash is kept)."""
    with _tokens_db(state, write=True) as conn:
        info, token = auth.create_token(conn, Role(role), name or f"{role}-token", time.time())
    click.echo(token)
    click.echo(f"created token {info.id} ({info.name}, {info.role}); it is not shown again", err=True)


@tokens.command("list")
@click.option("--all", "include_revoked", is_flag=True, help="include revoked tokens")
@click.option("--json", "as_json", is_flag=True)
@state_dir_option()
def list_(include_revoked: bool, as_json: bool, state: Path | None) -> None:
    """List tokens (never the secrets)."""
    with _tokens_db(state, write=False) as conn:
        found = auth.list_tokens(conn, include_revoked=include_revoked)
    if as_json:
        rows = [{**t.__dict__, "role": t.role.value} for t in found]
        click.echo(json.dumps(rows, indent=2))
        return
    if not found:
        click.echo("no tokens")
        return
    click.echo(f"{'ID':<10} {'ROLE':<9} {'NAME':<24} {'CREATED':<21} {'LAST USED':<21} REVOKED")
    for t in found:
        click.echo(
            f"{t.id:<10} {t.role.value:<9} {t.name:<24} {_when(t.created_at):<21} {_when(t.last_used_at):<21} "
            f"{_when(t.revoked_at)}"
        )


@tokens.command("revoke")
@click.argument("token_id")
@state_dir_option()
def revoke(token_id: str, state: Path | None) -> None:
    """Revoke a token by its id (the part after ``fw_``); it stops working at once."""
    with _tokens_db(state, write=True) as conn:
        ok = auth.revoke_token(conn, token_id, time.time())
    if not ok:
        raise click.ClickException(f"no active token {token_id!r}")
    click.echo(f"revoked {token_id}")
