"""``fleetwatch incidents|maintenance|audit``: the people's side of the incident record.

These commands run beside the collector (another process) on the same
database: each action is one transaction, audited, and its notification is
queued in the outbox for the running collector to deliver. The clock is read
here, at the edge, and passed in.

The incident database is the state directory's SQLite file, unless
``$FLEETWATCH_INCIDENT_DB`` names another (a path or a ``postgresql://`` URL)
or the collector left a pointer to its shared PostgreSQL database there
(``collector.incidents.db``).

Note: ``--state-dir DIR`` is the state directory everywhere (collector.paths);
``incidents list --state open`` filters the lifecycle state (``--status`` is an alias).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import click
from pydantic import ValidationError

from collector import paths
from collector.alerts import SEVERITIES
from collector.cli_common import STATE_HELP_SENTENCE, existing_db, state_dir_option, who
from collector.incidents import audit as audit_log
from collector.incidents import db as incident_db
from collector.incidents import maintenance as mw
from collector.incidents import manager, notify, store
from collector.incidents.model import Incident, State, TransitionError, iso, utc
from collector.incidents.policy import parse_duration

F = TypeVar("F", bound=Callable[..., Any])


state_option = state_dir_option("state_dir", help=STATE_HELP_SENTENCE, file_okay=False)


def by_option(f: F) -> F:
    return click.option("--by", default=None, help="Who does it (default: your login name).")(f)


def _who(by: str | None) -> str:
    return who(by, os.environ.get("USER", "unknown"))


def _conn(state_dir: Path | None, *, create: bool = False) -> Any:
    """Open the incident database; only ``maintenance add`` may create it (windows can precede the collector)."""
    state_db = paths.db_path(state_dir)
    target = incident_db.target_for(state_db)
    if incident_db.is_url(target):
        try:
            return store.connect(target)
        except Exception as exc:  # psycopg.OperationalError and friends: say where, never the password
            raise click.ClickException(f"cannot open incident database {incident_db.redact(target)}: {exc}") from exc
    if Path(target) == state_db:
        return store.connect(state_db if create else existing_db(state_dir))
    if not create and not Path(target).exists():
        raise click.ClickException(f"no incident database at {target} (${incident_db.ENV})")
    return store.connect(target)


def _act(fn: Callable[[], Incident]) -> Incident:
    try:
        return fn()
    except (manager.NotFoundError, TransitionError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc


def _short(dt: datetime | None) -> str:
    return (iso(dt) or "-").replace("T", " ").removesuffix("Z")


def _met(flag: bool | None) -> str:
    return {None: "", True: " (met)", False: " (BREACHED)"}[flag]


# -- incidents -------------------------------------------------------------------------------------------


@click.group()
def incidents() -> None:
    """List and work on maintenance incidents."""


@incidents.command("list")
@state_option
@click.option(
    "--state",
    "--status",
    "status",
    type=click.Choice([s.value for s in State]),
    help="Only incidents in this lifecycle state.",
)
@click.option("--severity", type=click.Choice(SEVERITIES))
@click.option("--json", "as_json", is_flag=True, help="JSON list (contract: number, device, rule, severity, ...).")
def list_cmd(state_dir: Path | None, status: str | None, severity: str | None, as_json: bool) -> None:
    """List incidents, oldest first."""
    rows = store.query(_conn(state_dir), state=status, severity=severity)
    if as_json:
        click.echo(json.dumps([i.contract() for i in rows], indent=2))
        return
    if not rows:
        click.echo("no incidents")
        return
    click.echo(f"{'#':>5} {'sev':3} {'state':12} {'tier':8} {'device':20} {'opened':19} {'respond by':19}  summary")
    for i in rows:
        flag = "!" if i.response_met is False or i.resolve_met is False else " "
        click.echo(
            f"{i.number:>5} {i.severity:3} {i.state.value:12} {i.tier:8} {i.device[:20]:20} {_short(i.opened_at):19}"
            f" {_short(i.response_due):19}{flag} {i.summary}"
        )


@incidents.command()
@state_option
@click.argument("number", type=int)
@click.option("--json", "as_json", is_flag=True, help="The full record and its timeline as JSON.")
def show(state_dir: Path | None, number: int, as_json: bool) -> None:
    """Show one incident with its timeline."""
    conn = _conn(state_dir)
    inc = _act(lambda: manager.get_incident(conn, number))
    events = audit_log.timeline(conn, number)
    if as_json:
        record = inc.to_row() | {"timeline": [e.__dict__ for e in events]}
        click.echo(json.dumps(record, indent=2))
        return
    inv = inc.inventory
    lines = [
        f"Incident #{inc.number}  {inc.severity} {inc.state.value}  tier {inc.tier}  type {inc.type}",
        f"  summary:     {inc.summary}",
        f"  device:      {inc.device}  {inv.get('vendor') or ''} {inv.get('model') or ''}"
        f"  serial {inv.get('serial') or '-'}  location {inv.get('location') or '-'}",
        f"  rule:        {inc.rule} {inc.alert_labels or ''}",
        f"  symptom:     {inc.symptom or '-'}  readings {inc.readings}",
        f"  opened:      {_short(inc.opened_at)}  (fault since {_short(inc.fault_since)})",
        f"  respond by:  {_short(inc.response_due)}{_met(inc.response_met)}",
        f"  resolve by:  {_short(inc.resolve_due)}{_met(inc.resolve_met)}",
        f"  acknowledged:{' ' + _short(inc.acknowledged_at)} by {inc.acknowledged_by or '-'}",
        f"  assignee:    {inc.assignee or '-'}",
        f"  resolved:    {_short(inc.resolved_at)} by {inc.resolved_by or '-'}",
        f"  closed:      {_short(inc.closed_at)} by {inc.closed_by or '-'}",
        f"  cause:       {inc.cause or '-'}",
        f"  action:      {inc.action or '-'}",
        f"  result:      {inc.result or '-'}",
        f"  occurrences: {inc.occurrences}  repeats: {inc.repeat_count}  escalations: "
        + (", ".join(e.step for e in inc.escalations) or "-"),
    ]
    if not inc.auto_resolve:
        lines.append("  auto_resolve: off (a person must resolve it)")
    for n in inc.notes:
        lines.append(f"  note {_short(n.at)} {n.by}: {n.text}")
    lines.append("  timeline:")
    for e in events:
        detail = ", ".join(f"{k}={v}" for k, v in e.data.items())
        lines.append(f"    {e.at.replace('T', ' ').removesuffix('Z')}  {e.action:13} {e.actor:12} {detail}")
    click.echo("\n".join(lines))


def _done(inc: Incident, what: str) -> None:
    click.echo(f"#{inc.number} {what}: now {inc.state.value}")


@incidents.command()
@state_option
@by_option
@click.argument("number", type=int)
def ack(state_dir: Path | None, by: str | None, number: int) -> None:
    """Acknowledge (stops the response clock)."""
    conn = _conn(state_dir)
    inc = _act(lambda: manager.acknowledge(conn, number, _who(by), time.time()))
    _done(inc, f"acknowledged by {inc.acknowledged_by}{_met(inc.response_met)}")


@incidents.command()
@state_option
@by_option
@click.argument("number", type=int)
@click.argument("person")
def assign(state_dir: Path | None, by: str | None, number: int, person: str) -> None:
    """Assign to PERSON (in_progress; counts as the response if not acknowledged)."""
    conn = _conn(state_dir)
    inc = _act(lambda: manager.assign(conn, number, person, _who(by), time.time()))
    _done(inc, f"assigned to {person}")


@incidents.command()
@state_option
@by_option
@click.argument("number", type=int)
@click.argument("text")
def note(state_dir: Path | None, by: str | None, number: int, text: str) -> None:
    """Add a note to the timeline."""
    conn = _conn(state_dir)
    inc = _act(lambda: manager.add_note(conn, number, text, _who(by), time.time()))
    _done(inc, "note added")


@incidents.command()
@state_option
@by_option
@click.argument("number", type=int)
@click.option("--cause", required=True, help="What caused the fault.")
@click.option("--action", "action_taken", required=True, help="What was done.")
@click.option("--result", default=None, help="Outcome (default: fixed).")
def resolve(
    state_dir: Path | None, by: str | None, number: int, cause: str, action_taken: str, result: str | None
) -> None:
    """Resolve with cause, action taken and result."""
    conn = _conn(state_dir)
    inc = _act(
        lambda: manager.resolve(conn, number, _who(by), time.time(), cause=cause, action=action_taken, result=result)
    )
    _done(inc, f"resolved{_met(inc.resolve_met)}")


@incidents.command()
@state_option
@by_option
@click.argument("number", type=int)
def close(state_dir: Path | None, by: str | None, number: int) -> None:
    """Close a resolved incident (final sign-off)."""
    conn = _conn(state_dir)
    _done(_act(lambda: manager.close(conn, number, _who(by), time.time())), "closed")


@incidents.command()
@state_option
@by_option
@click.argument("number", type=int)
@click.option("--reason", default="", help="Why (goes to the timeline).")
def reopen(state_dir: Path | None, by: str | None, number: int, reason: str) -> None:
    """Reopen a resolved or closed incident."""
    conn = _conn(state_dir)
    _done(_act(lambda: manager.reopen(conn, number, _who(by), time.time(), reason)), "reopened")


@incidents.command()
@state_option
@click.option("--all", "include_resolved", is_flag=True, help="Include held alerts that have since cleared.")
@click.option("--json", "as_json", is_flag=True)
def suppressed(state_dir: Path | None, include_resolved: bool, as_json: bool) -> None:
    """Alerts that opened no incident: maintenance window, device or parent down."""
    rows = manager.held_alerts(_conn(state_dir), include_resolved=include_resolved)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no suppressed alerts")
    for r in rows:
        click.echo(
            f"{r['severity']} {r['state']:8} {r['device']:20} {r['rule']:24} since {r['held_since']}: "
            f"{r['held_reason']}"
        )


@incidents.command()
@state_option
@click.option("--status", type=click.Choice(["pending", "delivered", "rejected"]))
@click.option("--json", "as_json", is_flag=True)
def outbox(state_dir: Path | None, status: str | None, as_json: bool) -> None:
    """Notification deliveries (pending ones are sent by the running collector)."""
    rows = notify.deliveries(_conn(state_dir), status=status)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no notifications")
    for r in rows:
        err = f"  {r['last_error']}" if r["last_error"] else ""
        click.echo(f"#{r['incident']} {r['event']:11} {r['channel']:14} {r['status']:9} tries {r['attempts']}{err}")


@incidents.command()
@state_option
@click.option(
    "--to", "target", required=True, help="The new, empty incident database: a postgresql:// URL or a SQLite path."
)
@click.option(
    "--from",
    "source",
    default=None,
    help="Incident database to copy (default: the one the other incident commands use).",
)
@click.option("--dry-run", is_flag=True, help="Check both databases and show what would be copied; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Summary as JSON (source, target, tables, next_ids, audit).")
def migrate(state_dir: Path | None, target: str, source: str | None, dry_run: bool, as_json: bool) -> None:
    """Copy the incident history (numbers, audit log, windows, outbox) into an empty database, e.g. PostgreSQL."""
    from collector.incidents import migrate as migration

    src = source if source else incident_db.target_for(paths.db_path(state_dir))
    try:
        result = migration.migrate(src, target, dry_run=dry_run)
    except migration.MigrationError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
        return
    head = "would copy" if dry_run else "copied"
    click.echo(f"{head} incident history from {result.source} to {result.target}:")
    for table, n in result.tables.items():
        click.echo(f"  {table:22} {n:>8} rows")
    click.echo(f"  next incident number: {result.next_ids['incidents']}")
    if result.audit is None:
        click.echo("dry run: nothing written")
        return
    a = result.audit
    click.echo(f"audit verified on the target: {a.entries} entries, {a.incidents} incidents, head {a.head}")
    click.echo(
        f"next: set `incidents.database: {result.target.replace(':***@', '@', 1)}` in collector.yaml on every"
        " collector (a password in ~/.pgpass or PGPASSWORD) and restart them; the source was only read and stays"
        " as it was (keep it as a backup)."
    )


# -- maintenance -----------------------------------------------------------------------------------------


@click.group()
def maintenance() -> None:
    """Maintenance windows: no incident opens for covered devices while one is active."""


def _when(value: str | None, tz: str) -> datetime:
    if value is None:
        return utc(time.time())
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise click.BadParameter(f"not an ISO 8601 time: {value!r}") from exc
    return dt if dt.tzinfo else dt.replace(tzinfo=ZoneInfo(tz))


@maintenance.command("add")
@state_option
@by_option
@click.option("--device", help="Device id.")
@click.option("--label", help="Every device with this label, key=value.")
@click.option("--site", help="Every device whose `site` label is this.")
@click.option("--start", help="ISO 8601 (default now); local to --tz when it has no offset.")
@click.option("--end", help="One-off window end (ISO 8601).")
@click.option("--rrule", help='Recurring: RFC 5545 rule, e.g. "FREQ=WEEKLY;BYDAY=SA" (occurrences at --start\'s time).')
@click.option("--duration", help="Recurring: length of each occurrence, e.g. 4h.")
@click.option("--tz", default="UTC", show_default=True, help="Timezone for naive times and recurrences.")
@click.option("--reason", required=True)
def maintenance_add(
    state_dir: Path | None,
    by: str | None,
    device: str | None,
    label: str | None,
    site: str | None,
    start: str | None,
    end: str | None,
    rrule: str | None,
    duration: str | None,
    tz: str,
    reason: str,
) -> None:
    """Add a one-off (--end) or recurring (--rrule --duration) window."""
    scopes = [(k, v) for k, v in (("device", device), ("label", label), ("site", site)) if v]
    if len(scopes) != 1:
        raise click.UsageError("give exactly one of --device, --label, --site")
    if bool(end) == bool(rrule):
        raise click.UsageError("give --end (one-off) or --rrule with --duration (recurring)")
    try:
        w = mw.Window(
            scope=scopes[0][0],
            match=scopes[0][1],
            starts_at=_when(start, tz),
            ends_at=_when(end, tz) if end else None,
            rrule=rrule,
            duration=parse_duration(duration) if duration else None,
            timezone=tz,
            reason=reason,
            created_by=_who(by),
            created_at=utc(time.time()),
        )
    except (ValidationError, ValueError) as exc:
        raise click.ClickException(f"invalid window: {exc}") from exc
    w = mw.add(_conn(state_dir, create=True), w)
    click.echo(f"added {w.describe()}")


@maintenance.command("list")
@state_option
@click.option("--json", "as_json", is_flag=True)
def maintenance_list(state_dir: Path | None, as_json: bool) -> None:
    """List windows, marking those active now."""
    now = utc(time.time())
    windows = mw.load(_conn(state_dir))
    if as_json:
        click.echo(json.dumps([w.model_dump(mode="json") | {"active": w.active_at(now)} for w in windows], indent=2))
        return
    if not windows:
        click.echo("no maintenance windows")
    for w in windows:
        mark = "ACTIVE " if w.active_at(now) else ("ended  " if w.finished_by(now) else "       ")
        click.echo(f"{mark}{w.describe()}")


@maintenance.command("remove")
@state_option
@click.argument("window_id", type=int)
def maintenance_remove(state_dir: Path | None, window_id: int) -> None:
    """Remove a window (alerts it held open on the collector's next tick if still firing)."""
    if not mw.remove(_conn(state_dir), window_id):
        raise click.ClickException(f"no maintenance window #{window_id}")
    click.echo(f"removed maintenance #{window_id}")


# -- audit -----------------------------------------------------------------------------------------------


@click.group()
def audit() -> None:
    """The tamper-evident incident audit log."""


@audit.command()
@state_option
@click.option("--json", "as_json", is_flag=True)
def verify(state_dir: Path | None, as_json: bool) -> None:
    """Check the hash chain and every incident row against it; exit 1 on any problem."""
    conn = _conn(state_dir)
    report = audit_log.verify(conn, store.raw_rows(conn))
    if as_json:
        out = {
            "ok": report.ok,
            "entries": report.entries,
            "incidents": report.incidents,
            "head": report.head,
            "problems": [{"seq": p.seq, "incident": p.incident, "message": p.message} for p in report.problems],
        }
        click.echo(json.dumps(out, indent=2))
    else:
        for p in report.problems:
            click.echo(f"TAMPERED {p}")
        verdict = "ok" if report.ok else f"FAILED ({len(report.problems)} problems)"
        click.echo(f"{verdict}: {report.entries} entries, {report.incidents} incidents, head {report.head}")
    sys.exit(0 if report.ok else 1)
