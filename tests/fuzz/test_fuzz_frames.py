"""100,000 hostile ZeroMQ messages against a running collector process (real ROUTER socket).

Messages are random frame lists, random bytes behind the magic, and valid
batches with bytes flipped, cut, spliced or duplicated. Each is decoded
locally first and only rejections are kept, so the expected counters per
reason are known exactly: the collector must stay up, count every one of
them under the same reason, store nothing, and still store a good batch.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml
import zmq

from agent.wire import FRAME_MAGIC, Batch, Device, DevicePoll, Supply, decode_ack, encode_batch
from collector.config import CollectorConfig
from collector.ingest import Rejection, decode_frames
from tests.e2e.conftest import Proc, fleetwatch
from tests.support.net import free_port, wait_for

pytestmark = pytest.mark.e2e

N = 100_000
SEED = 20240611


def _valid(batch_id: str) -> bytes:
    poll = DevicePoll(
        device_id="fuzz-printer",
        ts=time.time(),
        device=Device(address="127.0.0.1", sys_descr="Lexmark MS510dn", serial="7528FUZZ"),
        supplies=[Supply(index="1.1", description="Black Toner", type="toner", level=50, capacity=100, percent=50.0)],
    )
    return encode_batch(Batch(batch_id=batch_id, agent_id="fuzzer", sent_at=time.time(), polls=[poll]))


def _mutate(rng: random.Random, payload: bytes) -> bytes:
    buf = bytearray(payload)
    for _ in range(rng.randint(1, 6)):
        pos = rng.randrange(len(buf)) if buf else 0
        op = rng.random()
        if op < 0.4 and buf:
            buf[pos] ^= rng.randint(1, 255)
        elif op < 0.6:
            del buf[pos : pos + rng.randint(1, 50)]
        elif op < 0.8:
            buf[pos:pos] = rng.randbytes(rng.randint(1, 12))
        else:
            buf[pos:pos] = buf[pos : pos + rng.randint(1, 300)]
    return bytes(buf)


def hostile_messages(n: int, seed: int, max_bytes: int) -> tuple[list[list[bytes]], Counter[str]]:
    rng = random.Random(seed)
    seeds = [_valid(f"seed-{i}") for i in range(8)]
    schema_wrong = [
        json.dumps({"batch_id": "s1", "agent_id": 7, "polls": "x"}).encode(),
        json.dumps({"v": 2, "batch_id": "s2"}).encode(),
        json.dumps([1, 2, 3]).encode(),
        json.dumps({"batch_id": "s3", "agent_id": "a", "sent_at": 1, "polls": [{"device_id": None}]}).encode(),
    ]
    messages: list[list[bytes]] = []
    expected: Counter[str] = Counter()
    while len(messages) < n:
        kind = rng.random()
        if kind < 0.15:
            frames = [rng.randbytes(rng.randint(0, 64)) for _ in range(rng.choice([1, 1, 2, 3, 4]))]
        elif kind < 0.3:
            frames = [FRAME_MAGIC, rng.randbytes(rng.randint(0, 512))]
        elif kind < 0.35:
            frames = [FRAME_MAGIC, rng.choice(schema_wrong)]
        elif kind < 0.4:
            frames = [FRAME_MAGIC, _mutate(rng, rng.choice(seeds)), rng.randbytes(3)]
        else:
            frames = [FRAME_MAGIC, _mutate(rng, rng.choice(seeds))]
        out = decode_frames(frames, max_bytes)
        if isinstance(out, Rejection):  # a mutation that is still a valid batch is not hostile: skip it
            messages.append(frames)
            expected[out.reason] += 1
    return messages, expected


def test_collector_survives_counts_and_stores_nothing(tmp_path: Path):
    max_bytes = CollectorConfig().max_message_bytes
    messages, expected = hostile_messages(N, SEED, max_bytes)
    assert len(expected) >= 4, f"the generator should hit several rejection reasons, got {expected}"

    port = free_port()
    cfg = tmp_path / "collector.yaml"
    cfg.write_text(
        yaml.safe_dump({"listen": f"tcp://127.0.0.1:{port}", "http": {"enabled": False}, "rule_interval": 0.5})
    )
    collector = Proc(["collector", "run", "--config", str(cfg)], tmp_path, tmp_path / "collector.log").start()
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVHWM, 0)  # rejected acks come back; keep them all
    sock.connect(f"tcp://127.0.0.1:{port}")
    try:
        wait_for(lambda: (tmp_path / ".fleetwatch" / "fleetwatch.db").exists(), 20, "collector database")
        started = time.monotonic()
        for frames in messages:
            sock.send_multipart(frames)

        def counted() -> dict[str, float] | None:
            assert collector.alive(), collector.output()[-3000:]
            stats = json.loads(fleetwatch("collector", "status", "--json", cwd=tmp_path).stdout)
            return stats if stats.get("batches_received", 0) >= N else None

        stats = wait_for(counted, 90, f"{N} messages counted", interval=1.0)
        elapsed = time.monotonic() - started
        assert stats["batches_received"] == N
        assert stats["batches_rejected"] == N
        assert stats.get("batches_stored", 0) == 0
        got = {k.removeprefix("rejected_"): int(v) for k, v in stats.items() if k.startswith("rejected_")}
        assert got == dict(expected)
        assert json.loads(fleetwatch("devices", "--json", cwd=tmp_path).stdout) == []

        # Still serving: a good batch after the storm is stored and acknowledged.
        while sock.poll(0):
            sock.recv_multipart()
        sock.send_multipart([FRAME_MAGIC, _valid("after-the-storm")])
        deadline = time.monotonic() + 20
        ack = None
        while time.monotonic() < deadline and ack is None:
            assert sock.poll(int((deadline - time.monotonic()) * 1000) + 1)
            candidate = decode_ack(sock.recv_multipart()[1])
            if candidate.batch_id == "after-the-storm":
                ack = candidate
        assert ack is not None
        assert ack.status == "stored"
        devices = json.loads(fleetwatch("devices", "--json", cwd=tmp_path).stdout)
        assert [d["device_id"] for d in devices] == ["fuzz-printer"]
        print(f"{N} hostile messages handled in {elapsed:.1f}s; reasons {dict(expected)}")
    finally:
        sock.close()
        ctx.term()
        collector.stop()
    assert "Traceback" not in collector.output()
