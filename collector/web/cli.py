"""``fleetwatch tokens``: create, list and revoke API tokens.

Works on the collector's database directly (running or stopped), like the
other reading commands, and finds it the same way (``--state-dir`` /
``$FLEETWATCH_STATE`` / ``./.fleetwatch``).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import click

from collector import paths
from collector.cli_common import state_dir_option
from collector.web import auth, data
from collector.web.auth import Role


def _db(state: Path | None) -> Path:
    db = paths.db_path(state)
    data.ensure_schema(db)
    return db


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
    with data.writing(_db(state)) as conn:
        info, token = auth.create_token(conn, Role(role), name or f"{role}-token", time.time())
    click.echo(token)
    click.echo(f"created token {info.id} ({info.name}, {info.role}); it is not shown again", err=True)


@tokens.command("list")
@click.option("--all", "include_revoked", is_flag=True, help="include revoked tokens")
@click.option("--json", "as_json", is_flag=True)
@state_dir_option()
def list_(include_revoked: bool, as_json: bool, state: Path | None) -> None:
    """List tokens (never the secrets)."""
    with data.reading(_db(state)) as conn:
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
    with data.writing(_db(state)) as conn:
        ok = auth.revoke_token(conn, token_id, time.time())
    if not ok:
        raise click.ClickException(f"no active token {token_id!r}")
    click.echo(f"revoked {token_id}")
