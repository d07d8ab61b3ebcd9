"""Delivery that loses nothing: kills and outages of real collector and agent processes.

- the collector is SIGKILLed while it ingests a stream of batches: every batch
  it acknowledged is on disk after the restart, and resending the rest stores
  each exactly once;
- the agent is SIGKILLed with batches in its spool: after a restart they arrive;
- the collector is down for 60 s while the agent keeps polling: every reading
  taken during the outage is stored once it is back, none twice.
"""

from __future__ import annotations

import itertools
import json
import signal
import sqlite3
import time
import uuid
from pathlib import Path

import pytest
import yaml
import zmq

from agent.wire import FRAME_MAGIC, Batch, Device, DevicePoll, Supply, decode_ack, encode_batch
from tests.e2e.conftest import Proc, Stack
from tests.support.net import free_port, wait_for

pytestmark = pytest.mark.e2e


def _db(root: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{root / '.fleetwatch' / 'fleetwatch.db'}?mode=ro", uri=True, timeout=10)


def _up_timestamps(root: Path, device: str) -> list[float]:
    if not (root / ".fleetwatch" / "fleetwatch.db").exists():
        return []
    db = _db(root)
    try:
        return [
            r[0]
            for r in db.execute(
                "SELECT x.ts FROM series s JOIN samples x ON x.series_id = s.id "
                "WHERE s.device_id=? AND s.metric='up' ORDER BY x.ts",
                (device,),
            )
        ]
    finally:
        db.close()


# -- collector killed mid-ingest -------------------------------------------------------------------


def _batches(n: int, polls_per_batch: int) -> list[Batch]:
    t0 = time.time() - 3600
    out = []
    for b in range(n):
        polls = []
        for p in range(polls_per_batch):
            supplies = [
                Supply(index=f"1.{k}", description=f"Toner {k}", type="toner", capacity=100, level=50, percent=50.0)
                for k in range(4)
            ]
            polls.append(
                DevicePoll(
                    device_id=f"dev-{p}",
                    ts=t0 + b,
                    device=Device(address=f"10.0.{p // 250}.{p % 250}"),
                    supplies=supplies,
                )
            )
        out.append(Batch(batch_id=uuid.uuid4().hex, agent_id="killer", seq=b, sent_at=t0 + b, polls=polls))
    return out


def _send_and_collect(sock: zmq.Socket, batches: list[Batch], until: int, timeout: float) -> dict[str, str]:
    """Send every batch, then read acks until ``until`` of them came back (or the timeout)."""
    for batch in batches:
        sock.send_multipart([FRAME_MAGIC, encode_batch(batch)])
    acks: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    while len(acks) < until and time.monotonic() < deadline:
        if sock.poll(100):
            ack = decode_ack(sock.recv_multipart()[1])
            assert ack.batch_id is not None
            acks[ack.batch_id] = ack.status.value
    return acks


def _stored_batch_ids(root: Path) -> set[str]:
    db = _db(root)
    try:
        return {r[0] for r in db.execute("SELECT batch_id FROM batches")}
    finally:
        db.close()


def _sample_count(root: Path) -> int:
    db = _db(root)
    try:
        return int(db.execute("SELECT COUNT(*) FROM samples").fetchone()[0])
    finally:
        db.close()


def test_collector_sigkilled_mid_ingest_loses_no_acknowledged_batch(tmp_path: Path):
    port = free_port()
    cfg = tmp_path / "collector.yaml"
    # stale_after: the batches carry hour-old polls; no synthetic "unreachable" samples may mix in.
    cfg.write_text(
        yaml.safe_dump({"listen": f"tcp://127.0.0.1:{port}", "http": {"enabled": False}, "stale_after": "1d"})
    )
    collector = Proc(["collector", "run", "--config", str(cfg)], tmp_path, tmp_path / "collector.log").start()
    batches = _batches(300, polls_per_batch=100)
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.SNDHWM, 0)
    sock.connect(f"tcp://127.0.0.1:{port}")
    try:
        acked = _send_and_collect(sock, batches, until=40, timeout=60)
        assert len(acked) >= 40, collector.output()[-2000:]
        collector.stop(signal.SIGKILL)  # mid-stream: most batches are still queued or being stored
        assert collector.p is not None
        assert collector.p.returncode == -signal.SIGKILL

        stored = _stored_batch_ids(tmp_path)
        assert set(acked) <= stored, f"{len(set(acked) - stored)} acknowledged batch(es) missing after SIGKILL"
        assert len(stored) < len(batches), "the kill came too late to test anything"
        # Every stored batch is whole: the transaction that records its id also holds all its samples.
        readings_per_batch = _sample_count(tmp_path) / len(stored)
        assert readings_per_batch == int(readings_per_batch)

        collector.start()
        # The sender resends everything not acknowledged (as the agent's spool does); already stored ones
        # come back as duplicates and are not stored again.
        pending = [b for b in batches if b.batch_id not in acked]
        acks = _send_and_collect(sock, pending, until=len(pending), timeout=120)
        assert set(acks) == {b.batch_id for b in pending}
        dup = {bid for bid, status in acks.items() if status == "duplicate"}
        assert dup == stored - set(acked)
        assert set(acks.values()) <= {"stored", "duplicate"}
        assert _stored_batch_ids(tmp_path) == {b.batch_id for b in batches}
        assert _sample_count(tmp_path) == readings_per_batch * len(batches)
    finally:
        sock.close()
        ctx.term()
        collector.stop()


# -- agent killed with a full spool ------------------------------------------------------------------


def _spooled_polls(spool_dir: Path) -> set[tuple[str, float]]:
    db = sqlite3.connect(f"file:{spool_dir / 'spool.db'}?mode=ro", uri=True, timeout=10)
    try:
        payloads = [r[0] for r in db.execute("SELECT payload FROM batches")]
    finally:
        db.close()
    return {(p["device_id"], p["ts"]) for raw in payloads for p in json.loads(raw)["polls"]}


def test_agent_sigkilled_and_restarted_delivers_its_spooled_batches(stack: Stack):
    stack.write_configs([{"name": "lexmark", "address": "127.0.0.1", "community": "test-printer"}])
    stack.agent.start()  # no collector yet: everything stays in the spool
    spool = stack.root / "spool"
    wait_for(lambda: (spool / "spool.db").exists() and len(_spooled_polls(spool)) >= 5, 30, "five polls spooled")
    stack.agent.stop(signal.SIGKILL)
    queued = _spooled_polls(spool)
    lexmark = {ts for dev, ts in queued if dev == "lexmark"}
    assert len(lexmark) >= 3

    stack.collector.start()
    stack.agent.start()

    def delivered() -> bool:
        return lexmark <= set(_up_timestamps(stack.root, "lexmark"))

    wait_for(delivered, 30, "every poll spooled before the kill stored")
    for dev, ts in queued:
        assert ts in _up_timestamps(stack.root, dev), f"{dev}@{ts} lost"
    wait_for(lambda: len(_spooled_polls(spool)) == 0 or None, 20, "the spool drained")


# -- a minute without collector ------------------------------------------------------------------------


@pytest.mark.slow
def test_collector_down_for_a_minute_every_reading_stored_once(stack: Stack):
    stack.write_configs([{"name": "lexmark", "address": "127.0.0.1", "community": "test-printer"}])
    stack.collector.start()
    stack.agent.start()
    wait_for(lambda: len(_up_timestamps(stack.root, "lexmark")) >= 2, 20, "first polls stored")
    stack.collector.stop()
    down_at = time.time()
    before = len(_up_timestamps(stack.root, "lexmark"))
    time.sleep(60)  # the outage itself is what is tested: the agent polls into its spool meanwhile
    up_at = time.time()
    spooled = {ts for dev, ts in _spooled_polls(stack.root / "spool") if dev == "lexmark"}
    assert len(spooled) >= 50, "the agent did not keep polling during the outage"
    stack.collector.start()

    def caught_up() -> list[float] | None:
        ts = _up_timestamps(stack.root, "lexmark")
        return ts if ts and ts[-1] > up_at + 2 else None

    after = wait_for(caught_up, 60, "the outage's polls delivered and new ones arriving")
    assert isinstance(after, list)
    during = [ts for ts in after if down_at <= ts <= up_at]
    assert len(during) >= 55, f"only {len(during)} polls stored from a 60 s outage at 1 s interval"
    gaps = [b - a for a, b in itertools.pairwise(after)]
    assert max(gaps) < 2.5, f"a poll taken during the outage is missing: largest gap {max(gaps):.1f}s"
    assert len(after) > before + 55
    assert spooled <= set(after)
    # None twice: every poll the agent sent is in exactly one stored batch.
    db = _db(stack.root)
    try:
        (polls_in_batches,) = db.execute("SELECT SUM(polls) FROM batches WHERE agent_id='e2e'").fetchone()
        (distinct_polls,) = db.execute(
            "SELECT COUNT(*) FROM samples x JOIN series s ON x.series_id = s.id WHERE s.metric='up'"
        ).fetchone()
    finally:
        db.close()
    assert polls_in_batches == distinct_polls
