"""Cost of the collector's ForecastStage per poll, on a realistic stored history.

    .venv/bin/python bench/forecast/stage_cost.py [--days 60] [--interval 60] [--supplies 4]

Stores ``--days`` of polls every ``--interval`` seconds for one colour printer (4 toners, office-hours
printing, page counter) through the real storage path into a temporary SQLite file, then times
``ForecastStage.observe`` on new polls: the first one after a start (full 180-day window), polls where
every level changes (recompute), and polls where nothing changed (cached).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from agent.wire import Counters, Device, DeviceKind, DevicePoll, Supply, SupplyState
from collector.forecast.stage import ForecastStage
from collector.series import flatten
from collector.storage.sqlite import SqliteStorage

COLOURS = ("black", "cyan", "magenta", "yellow", "k2", "c2")


def make_poll(ts: float, levels: list[int], pages: int) -> DevicePoll:
    return DevicePoll(
        device_id="bench-printer",
        ts=ts,
        device=Device(address="127.0.0.1", model="M477", kind=DeviceKind.printer),
        supplies=[
            Supply(
                index=f"1.{i + 1}",
                description=f"{c} cartridge",
                part_number=f"P-{c}",
                type="toner",
                color=c,
                capacity=100,
                level=lv,
                percent=float(lv),
                state=SupplyState.ok,
            )
            for i, (c, lv) in enumerate(zip(COLOURS, levels, strict=False))
        ],
        counters=Counters(total_pages=pages),
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--days", type=float, default=60)
    ap.add_argument("--interval", type=float, default=60)
    ap.add_argument("--supplies", type=int, default=4)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "fleetwatch.db"
        storage = SqliteStorage(db)
        now = time.time()
        n = int(args.days * 86400 / args.interval)
        t0 = now - n * args.interval
        pages, used = 10_000.0, [0.0] * args.supplies
        ppp = [25.0 + 5 * i for i in range(args.supplies)]
        polls: list[DevicePoll] = []
        started = time.perf_counter()
        for k in range(n):
            ts = t0 + k * args.interval
            d = datetime.fromtimestamp(ts, UTC)
            if d.weekday() < 5 and 9 <= d.hour < 17:
                dp = 20.0 * args.interval / 3600.0
                pages += dp
                used = [(u + dp / q) % 95 for u, q in zip(used, ppp, strict=True)]  # replaced at 5 % left
            polls.append(make_poll(ts, [int(100 - u) for u in used], int(pages)))
            if len(polls) == 500:
                storage.store_batch(f"b{k}", "a", polls, [flatten(p) for p in polls], ts)
                polls = []
        if polls:
            storage.store_batch("last", "a", polls, [flatten(p) for p in polls], now)
        rows = storage.db.execute("SELECT COUNT(*) FROM samples").fetchone()[0]
        print(f"stored {n} polls ({rows} samples) in {time.perf_counter() - started:.1f}s")

        stage = ForecastStage(db)
        levels = [int(100 - u) for u in used]

        def observe(ts: float, lv: list[int], pg: int) -> float:
            p = make_poll(ts, lv, pg)
            r = [flatten(p)]
            storage.store_batch(f"x{ts}", "a", [p], r, ts)
            t = time.perf_counter()
            stage.observe([p], r, ts)
            return time.perf_counter() - t

        first = observe(now + 60, levels, int(pages))
        changed, cached = [], []
        for i in range(20):
            levels = [max(lv - 1, 1) for lv in levels]
            pages += 30
            changed.append(observe(now + 120 + i * 120, levels, int(pages)))  # level change: recompute
            cached.append(observe(now + 180 + i * 120, levels, int(pages)))  # the confirming poll: recompute
        for i in range(20):
            cached.append(observe(now + 3000 + i * 10, levels, int(pages)))  # nothing changed
        cached_only = cached[20:]
        print(f"first poll after start ({args.supplies} supplies, 180-day window): {first * 1000:.1f} ms")
        print(
            f"poll with every level changed: median {statistics.median(changed) * 1000:.1f} ms,"
            f" max {max(changed) * 1000:.1f} ms"
        )
        print(f"poll with nothing changed (cached): median {statistics.median(cached_only) * 1000:.2f} ms")
        print(f"stage totals: {stage.stats.flat()}")
        stage.close()
        storage.close()


if __name__ == "__main__":
    main()
