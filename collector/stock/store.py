"""Spare-parts stock in the collector's SQLite file: parts, which devices use them, movements.

Parts are *learned* from polls (a supply reporting a part number creates an
unmanaged part row and a usage row) and become *managed* once a person gives
a stock figure (``fleetwatch stock set/receive/import``). Only managed parts
are decremented on replacements, feed ``supply_lead_time_days`` readings and
can open supply-order incidents: a learned part with "0 on hand" is unknown
stock, not an empty shelf.

Tables (times are Unix seconds):

- ``stock_parts``: part_number (key), description, on_hand, on_order, location, lead_time_days,
  safety_stock, managed (0/1), managed_since (stock counted from then: replacements before it are already
  in the count), learned_at (first seen in a poll, NULL if entered by hand), order_alert_since (collector
  state: the supply-order alert is firing since then), updated_at.
- ``stock_part_devices``: part_number, device, supply, description, first_seen, last_seen.
- ``stock_movements``: id, ts, part_number, delta, on_hand_after, reason (count | receive | replacement |
  import), device, supply (for replacements), actor, note.

Writers use ``transaction`` (``BEGIN IMMEDIATE``) so the collector and a CLI
command in another process never interleave a read-modify-write.
"""

from __future__ import annotations

import csv
import io
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from collector.stock.model import Part

SCHEMA = """
CREATE TABLE IF NOT EXISTS stock_parts (
    part_number TEXT PRIMARY KEY,
    description TEXT NOT NULL DEFAULT '',
    on_hand INTEGER NOT NULL DEFAULT 0,
    on_order INTEGER NOT NULL DEFAULT 0,
    location TEXT,
    lead_time_days REAL NOT NULL DEFAULT 7,
    safety_stock INTEGER NOT NULL DEFAULT 0,
    managed INTEGER NOT NULL DEFAULT 0,
    managed_since REAL,
    learned_at REAL,
    order_alert_since REAL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS stock_part_devices (
    part_number TEXT NOT NULL,
    device TEXT NOT NULL,
    supply TEXT NOT NULL,
    description TEXT,
    first_seen REAL NOT NULL,
    last_seen REAL NOT NULL,
    PRIMARY KEY (part_number, device, supply)
);
CREATE TABLE IF NOT EXISTS stock_movements (
    id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    part_number TEXT NOT NULL,
    delta INTEGER NOT NULL,
    on_hand_after INTEGER NOT NULL,
    reason TEXT NOT NULL,
    device TEXT,
    supply TEXT,
    actor TEXT,
    note TEXT
);
CREATE INDEX IF NOT EXISTS stock_movements_part ON stock_movements(part_number, ts);
"""

EDITABLE = ("description", "on_hand", "on_order", "location", "lead_time_days", "safety_stock")
_INT_FIELDS = ("on_hand", "on_order", "safety_stock")


class StockError(ValueError):
    """A stock change that cannot be applied (unknown part, bad figure); nothing was changed."""


def ensure_schema(db: sqlite3.Connection) -> None:
    db.executescript(SCHEMA)


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` .. ``COMMIT`` (rollback on error); nests as a no-op inside an open transaction."""
    if db.in_transaction:
        yield db
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


@dataclass(frozen=True)
class StockPart:
    part: Part
    managed: bool
    managed_since: float | None
    learned_at: float | None
    order_alert_since: float | None


_COLUMNS = (
    "part_number, description, on_hand, on_order, location, lead_time_days, safety_stock, managed,"
    " managed_since, learned_at, order_alert_since"
)


def _row(r: tuple) -> StockPart:  # type: ignore[type-arg]
    return StockPart(
        Part(r[0], r[1] or "", int(r[2]), int(r[3]), r[4], float(r[5]), int(r[6])), bool(r[7]), r[8], r[9], r[10]
    )


def get_part(db: sqlite3.Connection, part_number: str) -> StockPart | None:
    r = db.execute(f"SELECT {_COLUMNS} FROM stock_parts WHERE part_number = ?", (part_number,)).fetchone()
    return _row(r) if r else None


def list_parts(db: sqlite3.Connection, *, managed_only: bool = False) -> list[StockPart]:
    sql = f"SELECT {_COLUMNS} FROM stock_parts"
    if managed_only:
        sql += " WHERE managed = 1"
    return [_row(r) for r in db.execute(sql + " ORDER BY part_number").fetchall()]


def part_devices(db: sqlite3.Connection) -> dict[str, list[tuple[str, str, float]]]:
    """part_number -> [(device, supply, last_seen)] as learned from polls."""
    out: dict[str, list[tuple[str, str, float]]] = {}
    for part, dev, sup, seen in db.execute(
        "SELECT part_number, device, supply, last_seen FROM stock_part_devices ORDER BY part_number, device, supply"
    ):
        out.setdefault(part, []).append((dev, sup, seen))
    return out


def learn_part(
    db: sqlite3.Connection, part_number: str, description: str | None, device: str, supply: str, now: float
) -> None:
    """A poll showed ``device`` using ``part_number`` in ``supply``: remember the usage (and the part)."""
    db.execute(
        "INSERT INTO stock_parts (part_number, description, learned_at, updated_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT(part_number) DO UPDATE SET"
        " description = CASE WHEN stock_parts.description = '' THEN excluded.description"
        "   ELSE stock_parts.description END,"
        " learned_at = COALESCE(stock_parts.learned_at, excluded.learned_at)",
        (part_number, description or "", now, now),
    )
    db.execute(
        "INSERT INTO stock_part_devices (part_number, device, supply, description, first_seen, last_seen)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(part_number, device, supply) DO UPDATE SET"
        " last_seen = MAX(stock_part_devices.last_seen, excluded.last_seen), description = excluded.description",
        (part_number, device, supply, description, now, now),
    )


def _movement(
    db: sqlite3.Connection,
    ts: float,
    part_number: str,
    delta: int,
    on_hand_after: int,
    reason: str,
    *,
    device: str | None = None,
    supply: str | None = None,
    actor: str | None = None,
    note: str | None = None,
) -> None:
    db.execute(
        "INSERT INTO stock_movements (ts, part_number, delta, on_hand_after, reason, device, supply, actor, note)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (ts, part_number, delta, on_hand_after, reason, device, supply, actor, note),
    )


def _save(db: sqlite3.Connection, sp: StockPart, now: float) -> None:
    p = sp.part
    db.execute(
        "INSERT INTO stock_parts (part_number, description, on_hand, on_order, location, lead_time_days,"
        " safety_stock, managed, managed_since, learned_at, order_alert_since, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(part_number) DO UPDATE SET"
        " description = excluded.description, on_hand = excluded.on_hand, on_order = excluded.on_order,"
        " location = excluded.location, lead_time_days = excluded.lead_time_days,"
        " safety_stock = excluded.safety_stock, managed = excluded.managed,"
        " managed_since = excluded.managed_since, updated_at = excluded.updated_at",
        (
            p.part_number,
            p.description,
            p.on_hand,
            p.on_order,
            p.location,
            p.lead_time_days,
            p.safety_stock,
            int(sp.managed),
            sp.managed_since,
            sp.learned_at,
            sp.order_alert_since,
            now,
        ),
    )


def set_part(
    db: sqlite3.Connection,
    part_number: str,
    now: float,
    *,
    actor: str | None = None,
    reason: str = "count",
    **fields: object,
) -> StockPart:
    """Create or edit a part; it becomes managed. A changed on-hand figure is recorded as a movement."""
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise StockError(f"unknown field(s) {sorted(unknown)}; editable: {', '.join(EDITABLE)}")
    changes = {k: v for k, v in fields.items() if v is not None}
    with transaction(db):
        old = get_part(db, part_number)
        base = old.part if old else Part(part_number)
        try:
            new_part = replace(base, **changes)  # type: ignore[arg-type]
        except (ValueError, TypeError) as exc:
            raise StockError(str(exc)) from None
        managed_since = old.managed_since if old and old.managed else now
        sp = StockPart(
            new_part, True, managed_since, old.learned_at if old else None, old.order_alert_since if old else None
        )
        _save(db, sp, now)
        before = base.on_hand if old and old.managed else 0
        if new_part.on_hand != before or not (old and old.managed):
            _movement(db, now, part_number, new_part.on_hand - before, new_part.on_hand, reason, actor=actor)
    return sp


def receive(db: sqlite3.Connection, part_number: str, qty: int, now: float, *, actor: str | None = None) -> StockPart:
    """A delivery: on hand + qty, on order - qty (not below 0)."""
    if qty <= 0:
        raise StockError(f"quantity must be a positive whole number, got {qty}")
    with transaction(db):
        old = get_part(db, part_number)
        if old is None:
            raise StockError(f"unknown part {part_number!r}: add it first with `fleetwatch stock set {part_number}`")
        p = replace(old.part, on_hand=old.part.on_hand + qty, on_order=max(0, old.part.on_order - qty))
        sp = replace(old, part=p, managed=True, managed_since=old.managed_since if old.managed else now)
        _save(db, sp, now)
        _movement(db, now, part_number, qty, p.on_hand, "receive", actor=actor)
    return sp


def consume_for_replacement(
    db: sqlite3.Connection, part_number: str, device: str, supply: str, replaced_at: float, now: float
) -> StockPart | None:
    """Take one unit off the shelf for a replacement seen at ``replaced_at``; None when not applicable.

    Not applicable: the part is not managed, or the replacement happened
    before stock was counted (the count already reflects it). The caller
    deduplicates (``forecast.store.record_life``). On hand never goes below
    zero: the movement is still recorded, with a note.
    """
    with transaction(db):
        sp = get_part(db, part_number)
        if sp is None or not sp.managed or sp.managed_since is None or replaced_at < sp.managed_since:
            return None
        before = sp.part.on_hand
        on_hand = max(0, before - 1)
        note = None if before > 0 else "on hand was already 0: the unit came from outside the counted stock"
        sp = replace(sp, part=replace(sp.part, on_hand=on_hand))
        _save(db, sp, now)
        _movement(
            db,
            replaced_at,
            part_number,
            on_hand - before,
            on_hand,
            "replacement",
            device=device,
            supply=supply,
            actor="fleetwatch",
            note=note,
        )
    return sp


def set_order_alert(db: sqlite3.Connection, part_number: str, since: float | None) -> None:
    db.execute("UPDATE stock_parts SET order_alert_since = ? WHERE part_number = ?", (since, part_number))


def movements(db: sqlite3.Connection, part_number: str | None = None, limit: int = 100) -> list[dict[str, object]]:
    sql = "SELECT ts, part_number, delta, on_hand_after, reason, device, supply, actor, note FROM stock_movements"
    args: tuple[object, ...] = ()
    if part_number:
        sql += " WHERE part_number = ?"
        args = (part_number,)
    cur = db.execute(sql + " ORDER BY id DESC LIMIT ?", (*args, limit))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


# -- CSV import (pure parsing, then one transaction) ---------------------------------------------------------


def parse_import_csv(text: str) -> list[dict[str, object]]:
    """Rows of ``part_number`` + any of the editable columns; blank cells leave a field as it is.

    Every row is checked before anything is written; raises ``StockError``
    listing each bad line (``line N: ...``).
    """
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        raise StockError("empty file: expected a header row with part_number and any of " + ", ".join(EDITABLE))
    header = [h.strip() for h in reader.fieldnames]
    reader.fieldnames = header
    if "part_number" not in header:
        raise StockError("line 1: no part_number column")
    unknown = [h for h in header if h not in ("part_number", *EDITABLE)]
    if unknown:
        raise StockError(f"line 1: unknown column(s) {unknown}; expected part_number and any of {', '.join(EDITABLE)}")
    rows: list[dict[str, object]] = []
    errors: list[str] = []
    seen: dict[str, int] = {}
    for row in reader:
        n = reader.line_num
        part = (row.get("part_number") or "").strip()
        if not part and not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue
        if not part:
            errors.append(f"line {n}: part_number is empty")
            continue
        if part in seen:
            errors.append(f"line {n}: {part} already given on line {seen[part]}")
            continue
        seen[part] = n
        out: dict[str, object] = {"part_number": part}
        for key in EDITABLE:
            raw = (row.get(key) or "").strip()
            if not raw:
                continue
            try:
                if key in _INT_FIELDS:
                    value: object = int(raw)
                    if int(raw) < 0:
                        raise ValueError("negative")
                elif key == "lead_time_days":
                    value = float(raw)
                    if not value >= 0:  # also rejects NaN
                        raise ValueError("negative")
                else:
                    value = raw
            except ValueError:
                kind = "a whole number >= 0" if key in _INT_FIELDS else "a number of days >= 0"
                errors.append(f"line {n}: {key} must be {kind}, got {raw!r}")
                continue
            out[key] = value
        rows.append(out)
    if errors:
        raise StockError("; ".join(errors))
    if not rows:
        raise StockError("no part rows in the file")
    return rows


def import_rows(db: sqlite3.Connection, rows: list[dict[str, object]], now: float, *, actor: str | None = None) -> int:
    with transaction(db):
        for row in rows:
            fields = {k: v for k, v in row.items() if k != "part_number"}
            set_part(db, str(row["part_number"]), now, actor=actor, reason="import", **fields)
    return len(rows)
