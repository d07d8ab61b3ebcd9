"""``fleetwatch forecast``: days until each supply runs out.

``fleetwatch forecast series FILE.csv --json`` forecasts one supply from a CSV
(``timestamp,level_percent,page_count``); its JSON is a contract users script
against: ``days_to_empty``, ``empty_at``, ``low``, ``high`` (days),
``confidence`` and ``reason`` when not good (plus informative extras).
``fleetwatch forecast [--device D] [--json]`` lists the collector's supplies
soonest-empty first, as the running collector keeps them (``forecasts``
table, see ``forecast.store``; days counted from now, plus ``installed_at``,
``computed_at`` and ``days_per_unit``); ``--recompute`` computes them from the
stored history instead (same keys but those three).
"""

from __future__ import annotations

import csv
import io
import json
import math
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import click

from collector.cli_common import STATE_HELP_SHORT, open_db, state_dir_option
from collector.forecast.forecaster import forecast as run_forecast
from collector.forecast.model import Calendar, Sample, SupplyKind


def parse_time(text: str) -> float:
    """ISO 8601 (naive = UTC) or Unix seconds."""
    s = text.strip()
    try:
        v = float(s)
    except ValueError:
        pass
    else:
        if not math.isfinite(v):
            raise ValueError(f"not a timestamp: {text!r}")
        return v
    try:
        dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"not a timestamp (ISO 8601 or Unix seconds): {text!r}") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def parse_series_csv(text: str) -> list[Sample]:
    """Rows ``timestamp,level_percent,page_count``; a header row is optional; blank fields are "not reported".

    A level of -3 is RFC 3805 "some remaining" (kept as a state), other
    negative levels (-1 unlimited, -2 unknown) carry no level. Raises
    ``ValueError`` naming the line of the first bad row.
    """
    out: list[Sample] = []
    for n, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or all(not c.strip() for c in row) or row[0].lstrip().startswith("#"):
            continue
        if n == 1 and row[0].strip().lower() in ("timestamp", "ts", "time"):
            continue
        if len(row) < 2:
            raise ValueError(f"line {n}: expected timestamp,level_percent[,page_count], got {row!r}")
        try:
            ts = parse_time(row[0])
            lv = row[1].strip()
            level = float(lv) if lv else None
            pc = row[2].strip() if len(row) > 2 else ""
            pages = float(pc) if pc else None
        except ValueError as exc:
            raise ValueError(f"line {n}: {exc}") from None
        state = "ok"
        if level is not None and level < 0:
            state = "some_remaining" if level == -3 else "unknown"
            level = None
        elif level is not None and level > 100:
            raise ValueError(f"line {n}: level_percent {level} is above 100")
        out.append(Sample(ts, level, pages, state))
    if not out:
        raise ValueError("no samples in the file")
    return out


def _load_holidays(path: Path | None) -> frozenset[date]:
    if path is None:
        return frozenset()
    days = set()
    for n, line in enumerate(path.read_text().splitlines(), start=1):
        s = line.split("#", 1)[0].strip()
        if s:
            try:
                days.add(date.fromisoformat(s))
            except ValueError:
                raise click.BadParameter(f"{path}:{n}: not a date (YYYY-MM-DD): {s!r}") from None
    return frozenset(days)


def _stored(db, now: float, device: str | None) -> list[dict[str, object]] | None:  # type: ignore[no-untyped-def]
    """The collector's forecasts (``forecasts`` table), or None when it has stored none."""
    from collector.forecast.store import read_forecasts

    has_table = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'forecasts'").fetchone()
    if not has_table or not db.execute("SELECT 1 FROM forecasts LIMIT 1").fetchone():
        return None
    return read_forecasts(db, now, device)


@click.group(invoke_without_command=True)
@click.option("--device", default=None, help="only this device")
@state_dir_option(help=STATE_HELP_SHORT)
@click.option("--json", "as_json", is_flag=True, help="machine-readable list")
@click.option("--recompute", is_flag=True, help="compute from the stored history instead of the collector's table")
@click.option("--holidays", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="file of YYYY-MM-DD")
@click.pass_context
def forecast(
    ctx: click.Context, device: str | None, state: Path | None, as_json: bool, recompute: bool, holidays: Path | None
) -> None:
    """Days until each supply runs out (or a waste container fills), soonest first.

    Reads what the running collector keeps current (``forecasts`` table);
    with ``--recompute``, or when the collector has stored none, computes
    every forecast from the stored history (slower).
    """
    if ctx.invoked_subcommand is not None:
        return
    from collector.forecast.fleet import fleet_forecasts

    now = time.time()
    with open_db(state) as db:
        rows = None if recompute or holidays else _stored(db, now, device)
        if rows is None:
            cal = Calendar(holidays=_load_holidays(holidays))
            rows = [r.to_json() for r in fleet_forecasts(db, now, device, cal)]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    click.echo(f"{'DEVICE':20} {'SUPPLY':28} {'LEVEL':>6} {'DAYS (LOW-HIGH)':>20} {'EMPTY AT':17} CONFIDENCE")
    for r in rows:
        lvl = "-" if r.get("level_now") is None else f"{r['level_now']:.0f}%"
        days = "-" if r["days_to_empty"] is None else f"{r['days_to_empty']:.1f} ({r['low']:.1f}-{r['high']:.1f})"
        at = "-" if r["empty_at"] is None else str(r["empty_at"])[:16].replace("T", " ")
        why = f" ({r['reason']})" if r.get("reason") else ""
        name = str(r.get("description") or r["supply"])
        click.echo(f"{str(r['device'])[:20]:20} {name[:28]:28} {lvl:>6} {days:>20} {at:17} {r['confidence']}{why}")
    if not rows:
        click.echo("no supplies with a level history")


@forecast.command("series")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="print the forecast as JSON (stable keys)")
@click.option("--now", "now_text", default=None, help="forecast as of this time (default: the last sample)")
@click.option("--receptacle", is_flag=True, help="the level is a fill level (waste toner container)")
@click.option("--holidays", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="file of YYYY-MM-DD")
def series(file: Path, as_json: bool, now_text: str | None, receptacle: bool, holidays: Path | None) -> None:
    """Forecast one supply from a CSV of timestamp,level_percent,page_count."""
    try:
        samples = parse_series_csv(file.read_text(encoding="utf-8-sig"))
        now = parse_time(now_text) if now_text else max(s.ts for s in samples)
    except (ValueError, UnicodeDecodeError) as exc:
        click.echo(f"error: {file}: {exc}", err=True)
        sys.exit(2)
    kind = SupplyKind.receptacle if receptacle else SupplyKind.consumed
    f = run_forecast(samples, now, kind=kind, calendar=Calendar(holidays=_load_holidays(holidays)))
    if as_json:
        click.echo(json.dumps(f.to_json(), indent=2))
        return
    if f.days_to_empty is None:
        click.echo(f"no forecast ({', '.join(r.value for r in f.reasons) or 'unknown'})")
        return
    out = f.to_json()
    click.echo(f"empty in {f.days_to_empty:.1f} days ({f.low:.1f}-{f.high:.1f}), at {out['empty_at']}")
    click.echo(f"confidence: {f.confidence.value}" + (f" ({out['reason']})" if f.reasons else ""))
