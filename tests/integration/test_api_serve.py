"""serve_http inside a running CollectorService: a batch over real ZeroMQ reaches an open wall at once."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import zmq
import zmq.asyncio

from agent.wire import FRAME_MAGIC, Batch, decode_ack, encode_batch
from collector.config import CollectorConfig, HttpConfig
from collector.service import CollectorService
from collector.web import auth, data, testing
from collector.web.auth import Role
from collector.web.live import LiveHub
from collector.web.server import serve_http


async def next_event(lines: AsyncIterator[str]) -> tuple[str, dict]:
    event = None
    async for line in lines:
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event:
            return event, json.loads(line[6:])
    raise AssertionError("stream ended")


async def wait_http(url: str) -> None:
    deadline = time.monotonic() + 10.0
    async with httpx.AsyncClient() as c:
        while True:
            try:
                if (await c.get(f"{url}/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("HTTP side did not come up")
            await asyncio.sleep(0.05)


def test_batch_over_zeromq_reaches_an_open_wall_and_shutdown_is_clean(tmp_path: Path) -> None:
    http_port, zmq_port = testing.free_port(), testing.free_port()
    config = CollectorConfig(state_dir=tmp_path, listen=f"tcp://127.0.0.1:{zmq_port}", http=HttpConfig(port=http_port))
    url = f"http://127.0.0.1:{http_port}"
    data.ensure_schema(config.db_path())
    with data.writing(config.db_path()) as conn:
        key = auth.create_token(conn, Role.viewer, "wall", time.time())[1]

    async def main() -> float:
        ctx = zmq.asyncio.Context()
        service = CollectorService(config, ctx=ctx)
        # A long poll interval: only the observer hook can make the wall react within the test's timeout.
        hub = LiveHub(config.db_path(), poll_interval=60, resync_interval=600)
        service.observers.append(hub)
        stop = asyncio.Event()
        running = asyncio.create_task(service.run(stop, extra=[lambda s: serve_http(service, s, hub=hub)]))
        agent = ctx.socket(zmq.DEALER)
        agent.setsockopt(zmq.LINGER, 0)
        try:
            await wait_http(url)
            async with (
                httpx.AsyncClient(base_url=url, timeout=10) as c,
                c.stream("GET", "/api/v1/wall/stream", params={"token": key}) as r,
            ):
                lines = r.aiter_lines()
                kind, snap = await next_event(lines)
                assert (kind, snap["tiles"]) == ("snapshot", [])

                agent.connect(config.listen)
                batch = Batch(
                    batch_id="b-1", agent_id="agent-1", sent_at=time.time(), polls=testing.fleet(3, time.time())
                )
                sent = time.monotonic()
                await agent.send_multipart([FRAME_MAGIC, encode_batch(batch)])
                magic, ack = await asyncio.wait_for(agent.recv_multipart(), 10)
                assert magic == FRAME_MAGIC
                assert decode_ack(ack).status == "stored"

                kind, upd = await asyncio.wait_for(next_event(lines), 10)
                latency = time.monotonic() - sent
                assert kind == "update"
                assert sorted(t["id"] for t in upd["upsert"]) == ["prn-0000", "prn-0001", "prn-0002"]
                assert upd["header"]["devices"] == 3

                metrics = (await c.get("/metrics")).text
                assert "fleetwatch_batches_stored_total 1" in metrics.splitlines()
                assert "fleetwatch_wall_subscribers 1" in metrics.splitlines()

                stop.set()  # while the wall's stream is still open
                await asyncio.wait_for(running, 15)
        finally:
            agent.close(0)
            ctx.term()
        return latency

    latency = asyncio.run(main())
    assert latency < 5
    # uvicorn shut down properly although CollectorService cancels its extra tasks: nothing listens any more.
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/healthz", timeout=2)
