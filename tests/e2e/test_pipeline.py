"""The spine end to end: snmpsim -> agent -> ZeroMQ -> collector -> SQLite, as separate processes."""

from __future__ import annotations

import itertools
import sqlite3
import time

import zmq

from agent.wire import FRAME_MAGIC
from tests.e2e.conftest import Stack
from tests.support.net import wait_for


def _samples(stack: Stack, device: str, metric: str) -> list[tuple[str, float, float]]:
    path = stack.root / ".fleetwatch" / "fleetwatch.db"
    if not path.exists():
        return []
    # Read-only and tolerant: the file can exist a moment before the collector has created its tables.
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        return db.execute(
            "SELECT s.labels, x.ts, x.value FROM series s JOIN samples x ON x.series_id = s.id "
            "WHERE s.device_id=? AND s.metric=? ORDER BY x.ts",
            (device, metric),
        ).fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return []
        raise
    finally:
        db.close()


def test_polls_arrive_as_series_and_inventory(stack: Stack):
    stack.write_configs(
        [
            {"name": "lexmark", "address": "127.0.0.1", "community": "test-printer", "labels": {"tier": "premium"}},
            {"name": "garbage", "address": "127.0.0.1", "community": "garbage-printer"},
            {"name": "dead", "address": "127.0.0.1", "port": 9},
        ]
    )
    stack.collector.start()
    stack.agent.start()
    devices = wait_for(lambda: len(d := stack.devices()) == 4 and d, 30, "four devices in the inventory")

    lexmark = devices["lexmark"]
    assert (lexmark["kind"], lexmark["serial"], lexmark["reachable"]) == ("printer", "7528TEST01", True)
    assert lexmark["labels"] == {"tier": "premium"}
    assert devices["dead"]["reachable"] is False
    assert devices["agent-host"]["kind"] == "host"

    latest = stack.cli_json("latest", "lexmark")
    by_colour = {s["color"]: s for s in latest["supplies"]}
    assert by_colour["magenta"]["percent"] == 7.0
    assert latest["counters"]["total_pages"] == 48213

    # Several polls later: series grow, the agent and collector are still alive.
    wait_for(lambda: len(_samples(stack, "lexmark", "up")) >= 3, 20, "three polls of lexmark stored")
    percent = _samples(stack, "lexmark", "supply_percent")
    # The waste bottle reports 35 = remaining space (RFC 3805 receptacle): it is 65 % full.
    assert {round(v) for _, _, v in percent} == {64, 38, 7, 91, 65}
    dead_up = _samples(stack, "dead", "up")
    assert dead_up
    assert all(v == 0.0 for _, _, v in dead_up)
    dead_latest = stack.cli_json("latest", "dead")
    assert dead_latest["errors"][0]["probe"] == "snmp"
    assert "no response" in dead_latest["errors"][0]["message"]
    garbage = stack.cli_json("latest", "garbage")
    assert garbage["reachable"] is True
    assert stack.agent.alive(), stack.agent.output()[-2000:]
    assert stack.collector.alive(), stack.collector.output()[-2000:]
    assert "Traceback" not in stack.agent.output()


def test_malformed_messages_are_counted_and_dropped(stack: Stack):
    stack.write_configs([{"name": "lexmark", "address": "127.0.0.1", "community": "test-printer"}])
    stack.collector.start()
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(f"tcp://127.0.0.1:{stack.zmq_port}")
    try:
        sock.send_multipart([b"hello"])
        sock.send_multipart([FRAME_MAGIC, b"{not json"])
        sock.send_multipart([FRAME_MAGIC, b'{"batch_id": "evil", "agent_id": 1, "polls": "x"}'])
        # The one with a readable batch id is answered "rejected" so a sender stops retrying it.
        assert sock.poll(10_000)
        assert b"rejected" in sock.recv_multipart()[1]
    finally:
        sock.close()
        ctx.term()

    def rejected() -> dict[str, float] | None:
        stats = stack.cli_json("collector", "status") if stack.devices() is not None else {}
        return stats if stats.get("batches_rejected", 0) >= 3 else None

    stats = wait_for(rejected, 15, "three rejected messages counted")
    assert stats["rejected_bad_frames"] == 1
    assert stats["rejected_bad_json"] == 1
    assert stats["rejected_bad_schema"] == 1
    assert stack.collector.alive()
    # Still serving: a real agent's batches are stored afterwards, nothing from the garbage was.
    stack.agent.start()
    wait_for(lambda: "lexmark" in stack.devices(), 20, "lexmark stored after the garbage")
    assert set(stack.devices()) == {"lexmark", "agent-host"}


def test_collector_outage_loses_nothing(stack: Stack):
    stack.write_configs([{"name": "lexmark", "address": "127.0.0.1", "community": "test-printer"}])
    stack.collector.start()
    stack.agent.start()
    wait_for(lambda: len(_samples(stack, "lexmark", "up")) >= 2, 20, "first polls stored")
    stack.collector.stop()
    before = {ts for _, ts, _ in _samples(stack, "lexmark", "up")}
    time.sleep(4)  # the agent keeps polling into its spool meanwhile
    stack.collector.start()
    wait_for(lambda: len(_samples(stack, "lexmark", "up")) >= len(before) + 5, 30, "outage polls delivered")
    after = [ts for _, ts, _ in _samples(stack, "lexmark", "up")]
    # From the last poll stored before the outage on, one poll a second: none taken meanwhile may be missing.
    outage = [ts for ts in after if ts >= max(before)]
    gaps = [b - a for a, b in itertools.pairwise(outage)]
    assert max(gaps) < 2.5, f"a poll taken during the outage is missing: gaps {gaps}"
    assert len(after) == len(set(after))
