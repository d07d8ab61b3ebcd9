"""``fleetwatch stock`` and ``fleetwatch reorder``: the spare-parts shelf and what to buy.

Parts appear by themselves once a printer reports a part number (unmanaged:
stock unknown). ``stock set`` / ``receive`` / ``import`` give them a count,
which makes them managed: decremented on each detected replacement, and a
supply-order incident opens when the stock falls below the reorder point.

``fleetwatch stock list --json`` prints a list of objects (a contract)::

    {"part_number": "CF410A", "description": "Black Cartridge", "managed": true,
     "on_hand": 2, "on_order": 0, "location": "store B2", "lead_time_days": 7.0, "safety_stock": 1,
     "reorder_point": 2, "below_reorder_point": false,
     "devices": [{"device": "hp-clj-m477", "supply": "1.1", "last_seen": "2026-03-02T10:00:00+00:00"}]}

An unmanaged part has ``managed: false`` and ``null`` for on_hand, on_order,
reorder_point and below_reorder_point (unknown, not zero).

``fleetwatch reorder --json`` prints the purchase list, most urgent first
(only parts to order now, i.e. quantity > 0, unless ``--all``)::

    {"part_number": "CF410A", "description": "Black Cartridge", "quantity": 2,
     "order_by": "2026-03-04",        # date (UTC) to order by to keep the safety stock; null: not in the horizon
     "order_by_days": 0.0, "overdue": true,
     "on_hand": 1, "on_order": 0, "safety_stock": 1, "lead_time_days": 7.0, "location": "store B2",
     "reorder_point": 3, "demand_over_lead_time": 2,
     "devices": ["hp-a", "hp-b"],     # devices whose forecast drives the order, soonest first
     "unknown_devices": ["hp-c"]}     # use the part but have no forecast (demand not counted)

``--csv`` has the columns part_number, description, quantity, order_by,
devices (separated by ``;``), on_hand, on_order, lead_time_days, location.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

import click

from collector.cli_common import open_db, state_dir_option, who
from collector.forecast.store import ensure_schema as ensure_forecast_schema
from collector.stock import orders, store
from collector.stock.store import StockError

DAY = 86400.0


def _open(state: Path | None) -> sqlite3.Connection:
    conn = open_db(state, readonly=False)
    store.ensure_schema(conn)
    ensure_forecast_schema(conn)
    return conn


def _actor(by: str | None) -> str:
    return who(by, "cli")


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def _fail(msg: str, code: int = 2) -> NoReturn:
    click.echo(f"error: {msg}", err=True)
    sys.exit(code)


@click.group()
def stock() -> None:
    """Spare parts on the shelf: list, set, receive, import."""


def _list_rows(conn: sqlite3.Connection, now: float) -> list[dict[str, object]]:
    recs = {sp.part.part_number: rec for sp, rec in orders.evaluate(conn, now)}
    usage = store.part_devices(conn)
    out = []
    for sp in store.list_parts(conn):
        p = sp.part
        rec = recs.get(p.part_number)
        rp = orders.reorder_point(p, rec) if rec else None
        out.append(
            {
                "part_number": p.part_number,
                "description": p.description,
                "managed": sp.managed,
                "on_hand": p.on_hand if sp.managed else None,
                "on_order": p.on_order if sp.managed else None,
                "location": p.location,
                "lead_time_days": p.lead_time_days,
                "safety_stock": p.safety_stock,
                "reorder_point": rp,
                "below_reorder_point": None if rec is None or rp is None else rec.position < rp,
                "devices": [
                    {"device": d, "supply": s, "last_seen": _iso(seen)} for d, s, seen in usage.get(p.part_number, [])
                ],
            }
        )
    return out


@stock.command("list")
@state_dir_option()
@click.option("--json", "as_json", is_flag=True, help="machine-readable list (see module doc)")
def list_cmd(state: Path | None, as_json: bool) -> None:
    """Every part: counted stock, reorder point, devices using it."""
    with _open(state) as conn:
        rows = _list_rows(conn, time.time())
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    click.echo(
        f"{'PART':14} {'DESCRIPTION':26} {'ON HAND':>7} {'ORDERED':>7} {'SAFETY':>6} {'LEAD':>5} {'ROP':>4} "
        f"{'LOCATION':12} {'DEVICES':>7} STATUS"
    )
    for r in rows:

        def num(key: str, r: dict[str, object] = r) -> str:
            v = r[key]
            return "-" if v is None else f"{v:g}" if isinstance(v, float) else str(v)

        status = "unmanaged" if not r["managed"] else ("REORDER" if r["below_reorder_point"] else "ok")
        click.echo(
            f"{str(r['part_number'])[:14]:14} {str(r['description'])[:26]:26} {num('on_hand'):>7} "
            f"{num('on_order'):>7} {num('safety_stock'):>6} {num('lead_time_days'):>5} {num('reorder_point'):>4} "
            f"{str(r['location'] or '-')[:12]:12} {len(r['devices']):>7} {status}"  # type: ignore[arg-type]
        )
    if not rows:
        click.echo("no parts yet (they appear when a printer reports a part number, or with `stock set`)")


@stock.command("set")
@click.argument("part")
@click.option("--on-hand", type=click.IntRange(min=0), default=None, help="units on the shelf (a count)")
@click.option("--on-order", type=click.IntRange(min=0), default=None, help="units ordered, not yet received")
@click.option("--lead-time-days", type=click.FloatRange(min=0), default=None, help="supplier lead time, days")
@click.option("--safety-stock", type=click.IntRange(min=0), default=None, help="units to keep in reserve")
@click.option("--location", default=None, help="where it is stored")
@click.option("--description", default=None, help="what it is")
@click.option("--by", default=None, help="who does it (default: your login name)")
@state_dir_option()
def set_cmd(
    part: str,
    on_hand: int | None,
    on_order: int | None,
    lead_time_days: float | None,
    safety_stock: int | None,
    location: str | None,
    description: str | None,
    by: str | None,
    state: Path | None,
) -> None:
    """Create or edit PART; giving a stock figure puts it under stock management."""
    part = part.strip()
    if not part:
        _fail("empty part number")
    with _open(state) as conn:
        try:
            sp = store.set_part(
                conn,
                part,
                time.time(),
                actor=_actor(by),
                on_hand=on_hand,
                on_order=on_order,
                lead_time_days=lead_time_days,
                safety_stock=safety_stock,
                location=location,
                description=description,
            )
        except StockError as exc:
            _fail(str(exc))
    p = sp.part
    click.echo(
        f"{p.part_number}: {p.on_hand} on hand, {p.on_order} on order, safety stock {p.safety_stock}, "
        f"lead time {p.lead_time_days:g} days"
    )


@stock.command("receive")
@click.argument("part")
@click.argument("qty", type=int)
@click.option("--by", default=None, help="who does it (default: your login name)")
@state_dir_option()
def receive_cmd(part: str, qty: int, by: str | None, state: Path | None) -> None:
    """A delivery of QTY units of PART (on hand + QTY, on order - QTY)."""
    with _open(state) as conn:
        try:
            sp = store.receive(conn, part, qty, time.time(), actor=_actor(by))
        except StockError as exc:
            _fail(str(exc))
    click.echo(f"{sp.part.part_number}: {sp.part.on_hand} on hand, {sp.part.on_order} on order")


@stock.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", default=None, help="who does it (default: your login name)")
@state_dir_option()
def import_cmd(file: Path, by: str | None, state: Path | None) -> None:
    """Set many parts from a CSV: part_number + any of description, on_hand, on_order, location,
    lead_time_days, safety_stock. Every row is checked first; one bad row changes nothing."""
    try:
        rows = store.parse_import_csv(file.read_text(encoding="utf-8-sig"))
    except (StockError, UnicodeDecodeError) as exc:
        _fail(f"{file}: {exc}")
    with _open(state) as conn:
        n = store.import_rows(conn, rows, time.time(), actor=_actor(by))
    click.echo(f"{n} part(s) imported from {file}")


@stock.command("movements")
@click.argument("part", required=False)
@click.option("--limit", type=click.IntRange(min=1), default=50)
@click.option("--json", "as_json", is_flag=True)
@state_dir_option()
def movements_cmd(part: str | None, limit: int, as_json: bool, state: Path | None) -> None:
    """Stock movements (counts, deliveries, replacements), newest first."""
    with _open(state) as conn:
        rows = store.movements(conn, part, limit)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for m in rows:
        where = f" {m['device']} supply {m['supply']}" if m["device"] else ""
        note = f" ({m['note']})" if m["note"] else ""
        click.echo(
            f"{_iso(float(m['ts']))}  {m['part_number']:14} {int(m['delta']):+4d} -> {m['on_hand_after']:>4}  "  # type: ignore[call-overload]
            f"{m['reason']}{where}{note}"
        )


# -- reorder ------------------------------------------------------------------------------------------------


def _reorder_rows(
    conn: sqlite3.Connection, now: float, planning_days: float, everything: bool
) -> list[dict[str, object]]:
    from collector.stock.reorder import recommend_all

    managed = store.list_parts(conn, managed_only=True)
    recs = recommend_all([sp.part for sp in managed], orders.unit_forecasts(conn, now), planning_days)
    parts = {sp.part.part_number: sp.part for sp in managed}
    out = []
    for rec in recs:
        if rec.quantity <= 0 and not everything:
            continue
        p = parts[rec.part_number]
        order_by = (
            None
            if rec.order_by_days is None
            else datetime.fromtimestamp(now + rec.order_by_days * DAY, UTC).date().isoformat()
        )
        out.append(
            {
                "part_number": p.part_number,
                "description": p.description,
                "quantity": rec.quantity,
                "order_by": order_by,
                "order_by_days": None if rec.order_by_days is None else round(rec.order_by_days, 2),
                "overdue": rec.overdue,
                "on_hand": p.on_hand,
                "on_order": p.on_order,
                "safety_stock": p.safety_stock,
                "lead_time_days": p.lead_time_days,
                "location": p.location,
                "reorder_point": orders.reorder_point(p, rec),
                "demand_over_lead_time": rec.demand_over_lead_time,
                "devices": list(rec.drivers),
                "unknown_devices": list(rec.unknown_devices),
            }
        )
    return out


@click.command()
@state_dir_option()
@click.option("--json", "as_json", is_flag=True, help="purchase list as JSON (see module doc)")
@click.option("--csv", "as_csv", is_flag=True, help="purchase list as CSV, for a spreadsheet or a supplier")
@click.option("--all", "everything", is_flag=True, help="every managed part, also those not to order now")
@click.option("--planning-days", type=click.FloatRange(min=1), default=90.0, help="horizon after the lead time")
def reorder(state: Path | None, as_json: bool, as_csv: bool, everything: bool, planning_days: float) -> None:
    """What to order now: quantity, order-by date and the devices driving it, most urgent first."""
    if as_json and as_csv:
        _fail("--json and --csv exclude each other")
    with _open(state) as conn:
        rows = _reorder_rows(conn, time.time(), planning_days, everything)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if as_csv:
        buf = io.StringIO()
        cols = ["part_number", "description", "quantity", "order_by", "devices", "on_hand", "on_order"]
        cols += ["lead_time_days", "location"]
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(cols)
        for r in rows:
            w.writerow(["; ".join(r["devices"]) if k == "devices" else r[k] for k in cols])  # type: ignore[arg-type]
        click.echo(buf.getvalue(), nl=False)
        return
    if not rows:
        click.echo("nothing to order now" + ("" if everything else " (--all lists every managed part)"))
        return
    click.echo(f"{'PART':14} {'DESCRIPTION':26} {'QTY':>4} {'ORDER BY':12} {'STOCK':>5} DEVICES")
    for r in rows:
        when = str(r["order_by"] or "-") + (" !" if r["overdue"] else "")
        devs = ", ".join(r["devices"]) or "-"  # type: ignore[arg-type]
        click.echo(
            f"{str(r['part_number'])[:14]:14} {str(r['description'])[:26]:26} {r['quantity']:>4} {when:12} "
            f"{r['on_hand']:>5} {devs}"
        )
