"""``fleetwatch discover``: sweep address ranges, identify SNMP devices, draft a target file."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import click

from agent.discover import MAX_CONCURRENCY, DiscoverError, SweepResult, expand, sweep, targets_document
from agent.snmp import AUTH_PROTOCOLS, PRIV_PROTOCOLS, Credentials


def _credentials(communities: tuple[str, ...], v3: dict[str, str | None]) -> list[Credentials]:
    creds: list[Credentials] = []
    if v3.get("user"):
        auth = v3.get("auth_proto") or ("sha" if v3.get("auth_key") else "none")
        priv = v3.get("priv_proto") or ("aes" if v3.get("priv_key") else "none")
        if auth != "none" and not v3.get("auth_key"):
            raise click.UsageError("--auth-key is required with --auth-proto")
        if priv != "none" and not v3.get("priv_key"):
            raise click.UsageError("--priv-key is required with --priv-proto")
        if priv != "none" and auth == "none":
            raise click.UsageError("SNMPv3 privacy needs authentication: give --auth-proto and --auth-key")
        creds.append(
            Credentials(
                version="3",
                user=v3["user"],
                auth_protocol=auth,
                auth_key=v3.get("auth_key"),
                priv_protocol=priv,
                priv_key=v3.get("priv_key"),
                context=v3.get("context") or "",
            )
        )
    creds += [Credentials(version="2c", community=c) for c in communities]
    if not creds:
        creds.append(Credentials(version="2c", community="public"))
    return creds


@click.command()
@click.argument("ranges", nargs=-1, required=True)
@click.option("--port", default=161, show_default=True, type=click.IntRange(1, 65535))
@click.option("--community", "communities", multiple=True, help="SNMPv2c community to try (repeatable; default public)")
@click.option("--v3-user", help="SNMPv3 user (tried before the communities)")
@click.option("--auth-proto", type=click.Choice(sorted(AUTH_PROTOCOLS)), help="SNMPv3 authentication protocol")
@click.option("--auth-key", help="SNMPv3 authentication passphrase")
@click.option("--priv-proto", type=click.Choice(sorted(PRIV_PROTOCOLS)), help="SNMPv3 privacy protocol")
@click.option("--priv-key", help="SNMPv3 privacy passphrase")
@click.option("--v3-context", default="", help="SNMPv3 context name (rarely needed)")
@click.option("--timeout", default=1.0, show_default=True, type=click.FloatRange(0.05, 30), help="seconds per try")
@click.option(
    "--concurrency",
    default=100,
    show_default=True,
    type=click.IntRange(1, MAX_CONCURRENCY),
    help="addresses probed at once",
)
@click.option("--json", "as_json", is_flag=True, help="print the devices found as JSON instead of a table")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="write the target file here")
def discover(
    ranges: tuple[str, ...],
    port: int,
    communities: tuple[str, ...],
    v3_user: str | None,
    auth_proto: str | None,
    auth_key: str | None,
    priv_proto: str | None,
    priv_key: str | None,
    v3_context: str,
    timeout: float,
    concurrency: int,
    as_json: bool,
    output: Path | None,
) -> None:
    """Sweep RANGES (CIDR, a-b ranges or addresses) for SNMP devices and draft agent targets.

    Only a few GETs per address, never a walk. Review the file before adding it to the agent config.
    """
    try:
        addresses = expand(ranges)
    except DiscoverError as exc:
        raise click.UsageError(str(exc)) from exc
    creds = _credentials(
        communities,
        {
            "user": v3_user,
            "auth_proto": auth_proto,
            "auth_key": auth_key,
            "priv_proto": priv_proto,
            "priv_key": priv_key,
            "context": v3_context,
        },
    )
    started = time.monotonic()
    with click.progressbar(length=len(addresses), label="sweeping", file=sys.stderr) as bar:
        result: SweepResult = asyncio.run(
            sweep(
                addresses,
                creds,
                port=port,
                timeout=timeout,
                concurrency=concurrency,
                on_done=lambda _a: bar.update(1),
            )
        )
    elapsed = time.monotonic() - started
    click.echo(
        f"{len(addresses)} addresses in {elapsed:.1f}s: {len(result.found)} devices, "
        f"{len(result.problems)} with problems, {result.silent} silent",
        err=True,
    )
    for _address, problem in sorted(result.problems.items()):
        click.echo(f"problem: {problem}", err=True)
    if as_json:
        rows = [
            {
                "address": f.address,
                "port": f.port,
                "credentials": "v3:" + (f.credentials.user or "") if f.credentials.version == "3" else "v2c",
                **f.device.model_dump(mode="json", exclude={"address", "port", "uptime_s"}),
            }
            for f in result.found
        ]
        click.echo(json.dumps({"devices": rows, "problems": result.problems, "silent": result.silent}, indent=2))
    else:
        for f in result.found:
            d = f.device
            click.echo(
                f"{f.address:15s} {d.kind.value:8s} {d.vendor or '-':12s} {d.model or '-':28s} {d.sys_name or ''}"
            )
    if output is not None:
        output.write_text(targets_document(result.found))
        output.chmod(0o600)  # it holds communities / keys
        click.echo(f"wrote {len(result.found)} targets to {output}", err=True)
