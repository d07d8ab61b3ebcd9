"""``fleetwatch collector run``."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from pathlib import Path

import click

from agent.config import ConfigError
from collector.cli_common import STATE_HELP_SHORT, state_dir_option
from collector.config import load_collector_config


@click.group()
def collector() -> None:
    """Run the collector."""


@collector.command("run")
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=None, help="collector.yaml")
@state_dir_option(help=STATE_HELP_SHORT)
@click.option("-v", "--verbose", count=True)
def run(config_path: Path | None, state: Path | None, verbose: int) -> None:
    """Receive agents' batches, store them, evaluate rules, open incidents (until Ctrl-C / SIGTERM)."""
    logging.basicConfig(
        level=max(logging.DEBUG, logging.INFO - 10 * verbose), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        config = load_collector_config(config_path)
    except ConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    if state is not None:
        config = config.model_copy(update={"state_dir": state})
    from collector.app import build_and_run

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await build_and_run(config, stop)

    try:
        asyncio.run(main())
    except ConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)


@collector.command("status")
@state_dir_option(help=STATE_HELP_SHORT)
@click.option("--json", "as_json", is_flag=True)
def status(state: Path | None, as_json: bool) -> None:
    """The collector's own counters: batches received/stored/rejected (by reason), readings stored."""
    import json

    from collector.cli_common import open_db
    from collector.storage.sqlite import read_stats

    with open_db(state) as db:
        stats = read_stats(db)
    if as_json:
        click.echo(json.dumps(stats, indent=2, sort_keys=True))
        return
    for key, value in stats.items():
        click.echo(f"{key:32} {value:g}")
