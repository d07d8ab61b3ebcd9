"""``fleetwatch report monthly|inspection``: the service reports from the collector's database.

Read-only: runs beside the collector on the same file. The clock is read
here and passed in, so a report for a month that is not over counts open
incidents up to now. Output goes to stdout or ``-o FILE``.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from collector.cli_common import STATE_HELP_SENTENCE, existing_db, state_dir_option
from collector.incidents.model import utc
from collector.incidents.policy import known_timezone
from collector.reports import render
from collector.reports.inspection import inspection_report
from collector.reports.monthly import month_bounds, monthly_report
from collector.storage.sqlite import connect


def _open(state_dir: Path | None) -> sqlite3.Connection:
    return connect(existing_db(state_dir), readonly=True)


def _tz(value: str) -> str:
    try:
        return known_timezone(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)


def _common(f):  # type: ignore[no-untyped-def]
    for opt in reversed(
        [
            state_dir_option("state_dir", help=STATE_HELP_SENTENCE, file_okay=False),
            click.option("--format", "fmt", type=click.Choice(render.FORMATS), default="html", show_default=True),
            click.option("--site", default=None, help="Only devices labelled site=S."),
            click.option("--department", default=None, help="Only devices labelled department=D."),
            click.option("--tz", default="UTC", show_default=True, callback=lambda c, p, v: _tz(v), help="IANA zone."),
            click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None),
        ]
    ):
        f = opt(f)
    return f


@click.group()
def report() -> None:
    """Service reports: monthly KPIs for the contract, daily remote inspection."""


@report.command()
@click.option("--month", default=None, metavar="YYYY-MM", help="Calendar month in --tz (default: the previous month).")
@_common
def monthly(
    month: str | None,
    state_dir: Path | None,
    fmt: render.Format,
    site: str | None,
    department: str | None,
    tz: str,
    output: Path | None,
) -> None:
    """Incidents, SLA on-time rates, MTTA/MTTR, repeat faults, availability, pages and supplies for a month."""
    now = utc(datetime.now(UTC))
    if month is None:
        first = now.astimezone(ZoneInfo(tz)).date().replace(day=1)
        month = (first - timedelta(days=1)).strftime("%Y-%m")
    try:
        start, end = month_bounds(month, tz)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--month") from exc
    if start >= now:
        raise click.BadParameter(f"{month} has not started yet", param_hint="--month")
    conn = _open(state_dir)
    try:
        rep = monthly_report(conn, start, end, site, department, now=now)
    finally:
        conn.close()
    _emit(render.render(rep, fmt, tz), output)


@report.command()
@click.option("--date", "day", default=None, metavar="YYYY-MM-DD", help="Day in --tz (default: today, as of now).")
@_common
def inspection(
    day: str | None,
    state_dir: Path | None,
    fmt: render.Format,
    site: str | None,
    department: str | None,
    tz: str,
    output: Path | None,
) -> None:
    """Every device, reachable or not: state, supplies, pages in 24 h, and what is abnormal."""
    now = utc(datetime.now(UTC))
    try:
        when = date.fromisoformat(day) if day else now.astimezone(ZoneInfo(tz)).date()
    except ValueError as exc:
        raise click.BadParameter(f"expected YYYY-MM-DD, got {day!r}", param_hint="--date") from exc
    conn = _open(state_dir)
    try:
        rep = inspection_report(conn, when, now=now, tz=tz, site=site, department=department)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--date") from exc
    finally:
        conn.close()
    _emit(render.render(rep, fmt, tz), output)
