"""``fleetwatch devices``, ``fleetwatch latest`` and ``fleetwatch agents``: what the collector holds.

Both read the SQLite file directly (read-only), so they work while the
collector runs and when it is stopped. They find the state with no options
from the directory the collector was started in (see collector.paths).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

import click

from agent.cli import render_poll
from agent.wire import poll_to_json
from collector.agents import read_agents
from collector.cli_common import open_db, state_dir_option
from collector.storage.sqlite import read_devices, read_events, read_latest

state_option = state_dir_option()


def _age(ts: float | None, now: float) -> str:
    if ts is None:
        return "never"
    s = max(0, now - ts)
    if s < 120:
        return f"{s:.0f}s ago"
    if s < 7200:
        return f"{s / 60:.0f}m ago"
    return f"{s / 3600:.1f}h ago"


@click.command()
@state_option
@click.option("--json", "as_json", is_flag=True, help="machine-readable list")
@click.option("--events", "events", is_flag=True, help="inventory events instead: new, discovered, vanished, reboots")
@click.option("--limit", default=100, show_default=True, help="with --events: newest N events")
def devices(state: Path | None, as_json: bool, events: bool, limit: int) -> None:
    """List every device the collector knows, with kind, identity and reachability."""
    if events:
        _events(state, as_json, limit)
        return
    with open_db(state) as db:
        rows = read_devices(db)
    if as_json:
        click.echo(json.dumps([asdict(r) for r in rows], indent=2))
        return
    now = time.time()
    click.echo(f"{'DEVICE':22} {'KIND':8} {'VENDOR':10} {'MODEL':28} {'SERIAL':16} {'STATE':12} LAST SEEN")
    for r in rows:
        st = "reachable" if r.reachable else "UNREACHABLE"
        click.echo(
            f"{r.device_id[:22]:22} {(r.kind or '-')[:8]:8} {(r.vendor or '-')[:10]:10} {(r.model or '-')[:28]:28} "
            f"{(r.serial or '-')[:16]:16} {st:12} {_age(r.last_seen, now)}"
        )
    click.echo(f"{len(rows)} device(s)")


def _events(state: Path | None, as_json: bool, limit: int) -> None:
    with open_db(state) as db:
        rows = read_events(db, limit=limit)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    click.echo(f"{'TIME':20} {'DEVICE':22} {'EVENT':17} DETAIL")
    for r in rows:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(r["ts"])))  # type: ignore[arg-type]
        detail = r["detail"] if isinstance(r["detail"], dict) else {}
        text = " ".join(f"{k}={v}" for k, v in detail.items() if v is not None)
        click.echo(f"{when:20} {str(r['device_id'])[:22]:22} {str(r['kind'])[:17]:17} {text}")
    click.echo(f"{len(rows)} event(s)")


@click.command()
@click.argument("device")
@state_option
@click.option("--json", "as_json", is_flag=True, help="the latest DevicePoll as JSON")
def latest(device: str, state: Path | None, as_json: bool) -> None:
    """Show the latest poll of DEVICE: supplies, trays, counters, states, errors."""
    with open_db(state) as db:
        poll = read_latest(db, device)
    if poll is None:
        click.echo(f"error: unknown device {device!r} (see `fleetwatch devices`)", err=True)
        sys.exit(1)
    click.echo(poll_to_json(poll) if as_json else render_poll(poll))


@click.command()
@state_option
@click.option("--json", "as_json", is_flag=True, help="machine-readable list")
@click.option(
    "--silent-after",
    default=300.0,
    show_default=True,
    type=click.FloatRange(min=1),
    help="seconds without a batch before an agent is shown SILENT (the collector's stale_after)",
)
def agents(state: Path | None, as_json: bool, silent_after: float) -> None:
    """List the agents reporting here: last batch, polls in the last hour, devices, spool drops.

    Exits 0, or 3 when at least one agent is silent (for scripts and checks).
    """
    now = time.time()
    with open_db(state) as db:
        rows = read_agents(db, now)
    silent = [r for r in rows if r.silent(silent_after)]
    if as_json:
        click.echo(json.dumps([{**asdict(r), "silent": r.silent(silent_after)} for r in rows], indent=2))
    else:
        click.echo(
            f"{'AGENT':24} {'STATE':7} {'LAST BATCH':11} {'POLLS/H':>8} {'DEVICES':>8} {'UNREACH':>8} {'DROPPED':>8}"
        )
        for r in rows:
            st = "SILENT" if r.silent(silent_after) else "ok"
            click.echo(
                f"{r.agent_id[:24]:24} {st:7} {_age(r.last_batch_at, now):11} {r.polls_last_hour:>8} "
                f"{r.devices:>8} {r.devices_unreachable:>8} {r.dropped_batches:>8}"
            )
        click.echo(f"{len(rows)} agent(s), {len(silent)} silent")
    if silent:
        sys.exit(3)
