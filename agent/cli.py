"""``fleetwatch agent run`` and ``fleetwatch poll``."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from pathlib import Path

import click

from agent.config import ConfigError, load_agent_config
from agent.snmp import AUTH_PROTOCOLS, PRIV_PROTOCOLS, Credentials, SnmpSession, new_engine
from agent.wire import DevicePoll, poll_to_json


def setup_logging(verbose: int) -> None:
    level = logging.WARNING - 10 * verbose
    logging.basicConfig(level=max(level, logging.DEBUG), format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@click.group()
def agent() -> None:
    """Run the polling agent."""


@agent.command("run")
@click.option("--config", "config_path", required=True, type=click.Path(path_type=Path), help="agent.yaml")
@click.option("-v", "--verbose", count=True, help="-v info, -vv debug")
def agent_run(config_path: Path, verbose: int) -> None:
    """Poll the configured targets and push to the collector until stopped (Ctrl-C / SIGTERM)."""
    setup_logging(verbose + 1)
    try:
        config = load_agent_config(config_path)
    except ConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    for link in config.links():
        if link.plain:
            logging.getLogger("fleetwatch.agent").warning(
                "collector link to %s is insecure (plain TCP, no CURVE): use only on a trusted network", link.endpoint
            )
    from agent.runner import AgentRunner

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await AgentRunner(config).run(stop)

    asyncio.run(main())


@agent.command("check-config")
@click.argument("config_path", type=click.Path(path_type=Path))
def check_config(config_path: Path) -> None:
    """Validate an agent config file and list its targets."""
    try:
        config = load_agent_config(config_path)
    except ConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    for t in config.resolved_targets():
        click.echo(f"{t.device_id:24} {t.address}:{t.port} v{t.credentials.version} every {t.interval:g}s")
    for i, link in enumerate(config.links()):
        security = "insecure" if link.plain else "CURVE"
        click.echo(f"pushes to {link.endpoint} ({security}, spool {config.spool_dir_for(i)})")
    click.echo(f"{config_path}: ok, {len(config.targets)} target(s)")


@click.command()
@click.argument("host")
@click.option("--port", default=161, show_default=True, type=click.IntRange(1, 65535))
@click.option("--community", "-c", default="public", show_default=True, help="SNMP v1/v2c community")
@click.option("--version", "snmp_version", type=click.Choice(["1", "2c", "3"]), default=None)
@click.option("--v3-user", default=None, help="SNMPv3 user (selects v3)")
@click.option("--auth-proto", type=click.Choice(sorted(AUTH_PROTOCOLS)), default="sha", show_default=True)
@click.option("--auth-key", default=None, envvar="FLEETWATCH_AUTH_KEY")
@click.option("--priv-proto", type=click.Choice(sorted(PRIV_PROTOCOLS)), default="none", show_default=True)
@click.option("--priv-key", default=None, envvar="FLEETWATCH_PRIV_KEY")
@click.option("--context", default="", help="SNMPv3 context name")
@click.option("--timeout", default=2.0, show_default=True, type=float)
@click.option("--retries", default=1, show_default=True, type=int)
@click.option("--json", "as_json", is_flag=True, help="print the DevicePoll JSON contract")
def poll(
    host: str,
    port: int,
    community: str,
    snmp_version: str | None,
    v3_user: str | None,
    auth_proto: str,
    auth_key: str | None,
    priv_proto: str,
    priv_key: str | None,
    context: str,
    timeout: float,
    retries: int,
    as_json: bool,
) -> None:
    """Poll one device once and print the normalised reading.

    Exits 0 when the device answered (probe failures are listed in errors),
    1 when it could not be reached, 2 when the options are wrong.
    """
    version = snmp_version or ("3" if v3_user else "2c")
    if version == "3":
        if not v3_user:
            raise click.UsageError("SNMPv3 needs --v3-user")
        if auth_key is None:
            auth_proto = "none"
        if priv_key is None:
            priv_proto = "none"
        creds = Credentials(
            version="3",
            user=v3_user,
            auth_protocol=auth_proto,
            auth_key=auth_key,
            priv_protocol=priv_proto,
            priv_key=priv_key,
            context=context,
        )
    else:
        creds = Credentials(version=version, community=community)  # type: ignore[arg-type]
    result = asyncio.run(_poll_once(host, port, creds, timeout, retries))
    if as_json:
        click.echo(poll_to_json(result))
    else:
        click.echo(render_poll(result))
    if not result.reachable:
        reason = result.errors[0].message if result.errors else "no answer"
        click.echo(f"error: {host}:{port} could not be polled: {reason}", err=True)
        sys.exit(1)


async def _poll_once(host: str, port: int, creds: Credentials, wait_s: float, retries: int) -> DevicePoll:
    from agent.poller import TargetState, poll_target

    session = SnmpSession(new_engine(), host, port, creds, timeout=wait_s, retries=retries)
    device_id = host if port == 161 else f"{host}:{port}"
    return await poll_target(session, device_id, TargetState())


def render_poll(p: DevicePoll) -> str:
    d = p.device
    lines = [
        f"{p.device_id}  {'reachable' if p.reachable else 'UNREACHABLE'}  ({p.duration_s:.2f}s)",
        f"  {d.kind.value}: {d.vendor or '?'} {d.model or ''}  serial {d.serial or '-'}  firmware {d.firmware or '-'}",
        f"  name {d.sys_name or '-'}  location {d.sys_location or '-'}  uptime {d.uptime_s or 0:.0f}s",
    ]
    if p.supplies:
        lines.append("  supplies:")
        for s in p.supplies:
            amount = f"{s.percent:5.1f}%" if s.percent is not None else f"{s.state.value:>6}"
            lines.append(f"    {s.index:6} {amount}  {s.type:12} {s.color or '':8} {s.description}")
    if p.trays:
        lines.append("  trays:")
        for t in p.trays:
            amount = f"{t.percent:5.1f}%" if t.percent is not None else f"{t.state.value:>6}"
            lines.append(f"    {t.index:6} {amount}  {t.name or ''}")
    counters = {k: v for k, v in p.counters.model_dump().items() if v is not None}
    if counters:
        lines.append("  counters: " + ", ".join(f"{k}={v}" for k, v in counters.items()))
    if p.printer_status:
        ps = p.printer_status
        lines.append(
            f"  status: printer={ps.printer_status} device={ps.device_status} "
            f"errors=[{', '.join(ps.error_flags)}] alerts={len(ps.alerts)}"
        )
        if ps.console_text:
            lines.append(f"  display: {ps.console_text}")
    if p.interfaces:
        up = sum(1 for i in p.interfaces if i.oper_status == "up")
        lines.append(f"  interfaces: {len(p.interfaces)} ({up} up)")
    for s in p.sensors:
        lines.append(f"  sensor {s.kind} {s.name}: {s.value} {s.unit or ''} {s.status or ''}")
    for e in p.errors:
        lines.append(f"  error [{e.probe}] {e.message}")
    return "\n".join(lines)
