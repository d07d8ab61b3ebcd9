"""``fleetwatch keys generate``: CURVE key pairs for the collector and each agent."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click


@click.group()
def keys() -> None:
    """Manage CURVE keys for encrypted, authenticated agents."""


@keys.command("generate")
@click.argument("name")
@click.option("--dir", "directory", type=click.Path(path_type=Path), default=Path("keys"), show_default=True)
@click.option("--force", is_flag=True, help="overwrite existing key files")
def generate(name: str, directory: Path, force: bool) -> None:
    """Write NAME.key (public, give it to the other side) and NAME.key_secret (keep private, mode 600)."""
    import zmq.auth

    directory.mkdir(parents=True, exist_ok=True)
    public = directory / f"{name}.key"
    secret = directory / f"{name}.key_secret"
    if not force and (public.exists() or secret.exists()):
        click.echo(f"error: {public} or {secret} exists; use --force to replace", err=True)
        sys.exit(1)
    public_path, secret_path = zmq.auth.create_certificates(str(directory), name)
    os.chmod(secret_path, 0o600)
    click.echo(f"public key: {public_path}\nsecret key: {secret_path}")
