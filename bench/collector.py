"""Collector throughput: readings/second from ZeroMQ to stored SQLite rows with the shipped rules evaluated.

Two receivers on the same machine, same run, same traffic shape:

- ``ceiling``: a ROUTER that unpacks pre-flattened rows (``struct``) and
  inserts them into a ``WITHOUT ROWID`` samples table, one transaction per
  message, then acks. ZeroMQ + SQLite inserts alone: what no real collector
  can beat;
- ``collector``: the real ``CollectorService`` (pydantic decode, flatten,
  series ids, inventory upsert, batch dedup, one transaction per batch, ack)
  with the shipped rules evaluated on every poll by ``RuleEngine``.

A sender thread behaves like agents: up to ``--window`` batches in flight,
each of ``--polls`` printer polls (~45 readings each). Result: readings/s of
each and the ratio.

    .venv/bin/python bench/collector.py                # ~1 minute
    .venv/bin/python bench/collector.py --batches 400 --polls 50
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sqlite3
import struct
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import zmq
import zmq.asyncio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.wire import (
    FRAME_MAGIC,
    Batch,
    Counters,
    Device,
    DeviceKind,
    DevicePoll,
    Interface,
    PrinterStatus,
    Supply,
    SupplyState,
    Tray,
    TrayState,
    encode_batch,
)
from collector.config import CollectorConfig, HttpConfig
from collector.paths import shipped_rules_dir
from collector.series import Reading, flatten
from collector.service import CollectorService

ROW = struct.Struct("<Idd")  # series id, ts, value


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def printer_poll(device: int, ts: float) -> DevicePoll:
    colours = ("black", "cyan", "magenta", "yellow")
    supplies = [
        Supply(index=f"1.{i + 1}", description=f"{c.title()} Toner", type="toner", color=c, capacity=100,
               level=(device * 7 + i * 13) % 100, percent=float((device * 7 + i * 13) % 100), state=SupplyState.ok)
        for i, c in enumerate(colours)
    ]  # fmt: skip
    supplies.append(Supply(index="1.5", description="Waste", type="waste_toner", capacity=100, level=30,
                           percent=70.0, state=SupplyState.ok, **{"class": "receptacle"}))  # fmt: skip
    return DevicePoll(
        device_id=f"printer-{device:05d}",
        ts=ts,
        duration_s=0.05,
        labels={"site": f"site-{device % 20}", "tier": "standard"},
        device=Device(address=f"10.{device // 65536}.{device // 256 % 256}.{device % 256}", kind=DeviceKind.printer,
                      vendor="Lexmark", model="MS510dn", serial=f"SN{device:07d}", uptime_s=ts % 100000),
        supplies=supplies,
        trays=[Tray(index="1.1", name="Tray 1", capacity=250, level=100, percent=40.0, state=TrayState.ok),
               Tray(index="1.2", name="Bypass", capacity=50, level=0, percent=0.0, state=TrayState.empty)],
        counters=Counters(total_pages=100000 + int(ts) % 10000 + device),
        printer_status=PrinterStatus(printer_status="idle", device_status="running"),
        interfaces=[Interface(index=1, name="eth0", oper_status="up", admin_status="up", speed_bps=1_000_000_000,
                              counter_bits=64, in_octets=int(ts) * 1000, out_octets=int(ts) * 500)],
    )  # fmt: skip


def make_batches(n: int, polls: int, devices: int) -> tuple[list[bytes], int, int, list[list[list[Reading]]]]:
    """Encoded batches (what agents send), numeric readings (stored rows), all readings, flattened readings."""
    t0 = time.time() - 86400
    payloads, readings, total, flat = [], 0, 0, []
    for b in range(n):
        # ``devices`` printers polled in turn: series are reused, as in a real fleet.
        batch_polls = [printer_poll((b * polls + p) % devices, t0 + b) for p in range(polls)]
        r = [flatten(p) for p in batch_polls]
        readings += sum(1 for rs in r for x in rs if not isinstance(x.value, str))
        total += sum(len(rs) for rs in r)
        flat.append(r)
        payloads.append(
            encode_batch(Batch(batch_id=uuid.uuid4().hex, agent_id="bench", seq=b, sent_at=t0 + b, polls=batch_polls))
        )
    return payloads, readings, total, flat


def send_all(endpoint: str, payloads: list[bytes], window: int) -> float:
    """Agent-like sender: at most ``window`` unacknowledged batches; returns seconds until the last ack."""
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(endpoint)
    sent = acked = 0
    started = time.perf_counter()
    try:
        while acked < len(payloads):
            while sent < len(payloads) and sent - acked < window:
                sock.send_multipart([FRAME_MAGIC, payloads[sent]])
                sent += 1
            if sock.poll(30_000):
                sock.recv_multipart()
                acked += 1
            else:
                raise RuntimeError(f"no ack within 30 s ({acked}/{len(payloads)} acknowledged)")
        return time.perf_counter() - started
    finally:
        sock.close()
        ctx.term()


# -- the ceiling: ZeroMQ + SQLite inserts alone --------------------------------------------------------


def ceiling_payloads(flat: list[list[list[Reading]]], devices: int) -> list[bytes]:
    ids: dict[tuple[str, str, tuple[tuple[str, str], ...]], int] = {}
    out = []
    polls = len(flat[0]) if flat else 0
    for b, batch in enumerate(flat):
        rows = bytearray()
        for p, readings in enumerate(batch):
            device = str((b * polls + p) % devices)
            for r in readings:
                if isinstance(r.value, str):
                    continue
                sid = ids.setdefault((device, r.metric, r.labels), len(ids) + 1)
                rows += ROW.pack(sid, float(b), float(r.value))
        out.append(bytes(rows))
    return out


def run_ceiling(db_path: Path, payloads: list[bytes], window: int) -> tuple[float, int]:
    db = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(
        "CREATE TABLE samples (series_id INTEGER, ts REAL, value REAL, PRIMARY KEY (series_id, ts)) WITHOUT ROWID"
    )
    ctx = zmq.Context()
    router = ctx.socket(zmq.ROUTER)
    port = free_port()
    router.bind(f"tcp://127.0.0.1:{port}")
    stored = 0
    done = threading.Event()

    def serve() -> None:
        nonlocal stored
        while not done.is_set():
            if not router.poll(100):
                continue
            ident, _magic, body = router.recv_multipart()
            rows = list(ROW.iter_unpack(body))
            db.execute("BEGIN")
            db.executemany("INSERT OR IGNORE INTO samples VALUES (?,?,?)", rows)
            db.execute("COMMIT")
            stored += len(rows)
            router.send_multipart([ident, FRAME_MAGIC, b"ok"])

    t = threading.Thread(target=serve)
    t.start()
    try:
        elapsed = send_all(f"tcp://127.0.0.1:{port}", payloads, window)
    finally:
        done.set()
        t.join()
        router.close()
        ctx.term()
        db.close()
    return elapsed, stored


# -- the real collector with rules ----------------------------------------------------------------------


class RulesObserver:
    """The shipped rules evaluated on every stored poll (what the collector's rules stage does)."""

    def __init__(self) -> None:
        from collector.rules import RuleEngine, load_rules

        rules, errors = load_rules([shipped_rules_dir()])
        if errors:
            raise SystemExit(f"shipped rules do not load: {errors[0]}")
        self.engine = RuleEngine(rules)
        self.rules = len(rules)
        self.events = 0
        from collector.rules.evaluator import device_info

        self._info = device_info

    def observe(self, polls: list[DevicePoll], readings: list[list[Reading]], now: float) -> None:
        for poll, r in zip(polls, readings, strict=True):
            self.events += len(self.engine.evaluate(poll.device_id, r, self._info(poll), poll.ts))

    def tick(self, now: float) -> None:
        pass


def run_collector(state: Path, payloads: list[bytes], window: int, rules: bool) -> tuple[float, dict[str, float], int]:
    port = free_port()
    config = CollectorConfig(
        listen=f"tcp://127.0.0.1:{port}", state_dir=state, http=HttpConfig(enabled=False), rule_interval=3600
    )
    result: dict[str, object] = {}
    started = threading.Event()

    def serve() -> None:
        async def main() -> None:
            service = CollectorService(config, ctx=zmq.asyncio.Context())
            observer = RulesObserver() if rules else None
            if observer:
                service.observers.append(observer)
            stop = asyncio.Event()
            result["stop"] = (asyncio.get_running_loop(), stop)
            task = asyncio.create_task(service.run(stop))
            await service.ready.wait()
            started.set()
            await task
            result["stats"] = service.stats.flat()
            result["rules"] = observer.rules if observer else 0

        asyncio.run(main())

    t = threading.Thread(target=serve)
    t.start()
    started.wait(30)
    try:
        elapsed = send_all(f"tcp://127.0.0.1:{port}", payloads, window)
    finally:
        loop, stop = result["stop"]  # type: ignore[misc]
        loop.call_soon_threadsafe(stop.set)
        t.join()
    return elapsed, result["stats"], int(result["rules"])  # type: ignore[arg-type]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", type=int, default=300)
    ap.add_argument("--polls", type=int, default=100, help="polls per batch")
    ap.add_argument("--devices", type=int, default=2000, help="distinct printers the polls rotate over")
    ap.add_argument("--window", type=int, default=16, help="batches in flight (the agent's WINDOW)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    payloads, readings, total, flat = make_batches(args.batches, args.polls, args.devices)
    raw = ceiling_payloads(flat, args.devices)
    with tempfile.TemporaryDirectory(prefix="fw-bench-collector-") as tmp:
        root = Path(tmp)
        c_elapsed, c_rows = run_ceiling(root / "ceiling.db", raw, args.window)
        n_elapsed, n_stats, _ = run_collector(root / "norules", payloads, args.window, rules=False)
        r_elapsed, r_stats, n_rules = run_collector(root / "rules", payloads, args.window, rules=True)
    assert c_rows == readings, (c_rows, readings)
    for stats in (n_stats, r_stats):
        assert stats["readings_stored"] == total, stats  # numeric rows + text readings (rules see both)
    out = {
        "batches": args.batches,
        "polls_per_batch": args.polls,
        "devices": args.devices,
        "numeric_readings_stored": readings,
        "readings_per_poll": f"{readings / (args.batches * args.polls):.0f} numeric + "
        f"{(total - readings) / (args.batches * args.polls):.0f} text",
        "ceiling_readings_per_s": round(readings / c_elapsed),
        "collector_no_rules_readings_per_s": round(readings / n_elapsed),
        "collector_with_rules_readings_per_s": round(readings / r_elapsed),
        "collector_with_rules_polls_per_s": round(args.batches * args.polls / r_elapsed),
        "shipped_rules": n_rules,
        "rule_eval_share": round(r_stats["rule_eval_seconds_total"] / r_elapsed, 3),
        "ratio_with_rules_to_ceiling": round(c_elapsed / r_elapsed, 3),
        "ratio_no_rules_to_ceiling": round(c_elapsed / n_elapsed, 3),
    }
    if args.json:
        print(json.dumps(out, indent=2))
        return
    for k, v in out.items():
        print(f"{k:38} {v}")


if __name__ == "__main__":
    main()
