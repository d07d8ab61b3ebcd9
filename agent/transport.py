"""Push polls to the collector over ZeroMQ with acknowledged delivery.

DEALER (agent) -> ROUTER (collector). Frames: ``[FRAME_MAGIC, batch_json]``;
the collector answers ``[FRAME_MAGIC, ack_json]`` only after the batch is
durably stored. Every batch goes through the on-disk ``Spool`` first; it is
resent until acknowledged (the collector drops duplicates by batch id), so a
collector outage or restart loses nothing and an agent restart resumes from
the spool. CURVE encryption is used whenever keys are configured; plain TCP only
with ``insecure: true`` or to a loopback endpoint (checked in ``agent.config``).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid

import zmq
import zmq.asyncio

from agent.config import CollectorLink
from agent.spool import Spool
from agent.wire import FRAME_MAGIC, AckStatus, Batch, DevicePoll, InventoryEvent, decode_ack, encode_batch

log = logging.getLogger("fleetwatch.agent.transport")

#: Batches sent and not yet acknowledged at any time.
WINDOW = 16


def configure_security(sock: zmq.Socket, link: CollectorLink) -> None:
    if link.plain:
        return
    import zmq.auth

    if not (link.server_public_key and link.client_secret_key):
        raise ValueError("collector.server_public_key and collector.client_secret_key are required unless insecure")
    server_public, _ = zmq.auth.load_certificate(str(link.server_public_key))
    client_public, client_secret = zmq.auth.load_certificate(str(link.client_secret_key))
    if client_secret is None:
        raise ValueError(f"{link.client_secret_key}: not a secret key file")
    sock.curve_serverkey = server_public
    sock.curve_publickey = client_public
    sock.curve_secretkey = client_secret


class Sender:
    def __init__(self, agent_id: str, link: CollectorLink, spool: Spool, ctx: zmq.asyncio.Context | None = None):
        self.agent_id = agent_id
        self.link = link
        self.spool = spool
        self.ctx = ctx or zmq.asyncio.Context.instance()
        self.queue: asyncio.Queue[DevicePoll | InventoryEvent] = asyncio.Queue(maxsize=100_000)
        self.seq = 0
        self.acked = 0
        self.rejected = 0
        self._inflight: dict[str, float] = {}
        self._sock: zmq.asyncio.Socket | None = None

    def _socket(self) -> zmq.asyncio.Socket:
        if self._sock is None:
            sock = self.ctx.socket(zmq.DEALER)
            sock.setsockopt(zmq.LINGER, 0)
            sock.setsockopt(zmq.IMMEDIATE, 1)  # do not queue to a collector that is not connected
            sock.setsockopt(zmq.SNDHWM, WINDOW * 4)
            sock.setsockopt(zmq.RECONNECT_IVL, 200)
            sock.setsockopt(zmq.RECONNECT_IVL_MAX, 5000)
            configure_security(sock, self.link)
            sock.connect(self.link.endpoint)
            self._sock = sock
        return self._sock

    async def submit(self, poll: DevicePoll) -> None:
        await self.queue.put(poll)

    async def submit_events(self, events: list[InventoryEvent]) -> None:
        """Inventory events ride in the same batches as polls (a batch may hold only events)."""
        for event in events:
            await self.queue.put(event)

    def _make_batch(self, items: list[DevicePoll | InventoryEvent]) -> None:
        polls = [i for i in items if isinstance(i, DevicePoll)]
        events = [i for i in items if isinstance(i, InventoryEvent)]
        self.seq += 1
        batch = Batch(
            batch_id=uuid.uuid4().hex,
            agent_id=self.agent_id,
            seq=self.seq,
            sent_at=time.time(),
            dropped_before=self.spool.dropped,
            polls=polls,
            events=events,
        )
        dropped = self.spool.put(batch.batch_id, encode_batch(batch), batch.sent_at, len(polls))
        if dropped:
            log.warning("spool full: dropped %d oldest batch(es); %d dropped in total", dropped, self.spool.dropped)

    async def _collect(self) -> None:
        """Wait for at least one poll, then gather more for up to batch_max_wait."""
        first = await self.queue.get()
        polls: list[DevicePoll | InventoryEvent] = [first]
        deadline = time.monotonic() + self.link.batch_max_wait
        while len(polls) < self.link.batch_max_polls:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                polls.append(await asyncio.wait_for(self.queue.get(), remaining))
            except TimeoutError:
                break
        self._make_batch(polls)

    async def _send_due(self) -> None:
        sock = self._socket()
        now = time.monotonic()
        for batch_id, payload in self.spool.oldest(WINDOW):
            sent = self._inflight.get(batch_id)
            if sent is not None and now - sent < self.link.ack_timeout:
                continue
            try:
                # On an asyncio socket the send returns a future; zmq.Again arrives through it.
                await sock.send_multipart([FRAME_MAGIC, payload], flags=zmq.NOBLOCK)
            except zmq.Again:
                return  # collector not connected: the spool keeps it
            self._inflight[batch_id] = now

    def _handle_ack(self, frames: list[bytes]) -> None:
        if len(frames) != 2 or frames[0] != FRAME_MAGIC:
            log.warning("ignoring malformed reply from collector (%d frames)", len(frames))
            return
        try:
            ack = decode_ack(frames[1])
        except ValueError:
            log.warning("ignoring undecodable ack")
            return
        if ack.batch_id is None:
            return
        if ack.status == AckStatus.rejected:
            self.rejected += 1
            log.error("collector rejected batch %s: %s", ack.batch_id, ack.error)
        else:
            self.acked += 1
        self.spool.remove(ack.batch_id)
        self._inflight.pop(ack.batch_id, None)

    async def run(self, stop: asyncio.Event) -> None:
        sock = self._socket()
        collector = asyncio.create_task(self._collect())
        try:
            while not stop.is_set():
                if collector.done():
                    collector.result()
                    collector = asyncio.create_task(self._collect())
                await self._send_due()
                if await sock.poll(200, zmq.POLLIN):
                    while True:
                        try:
                            frames = await sock.recv_multipart(flags=zmq.NOBLOCK)
                        except zmq.Again:
                            break
                        self._handle_ack(frames)
        finally:
            collector.cancel()
            # Whatever is still queued in memory goes to the spool so a restart sends it.
            pending = []
            while not self.queue.empty():
                pending.append(self.queue.get_nowait())
            if pending:
                self._make_batch(pending)
            sock.close(0)
            self._sock = None
