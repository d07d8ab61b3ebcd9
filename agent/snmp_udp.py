"""One UDP socket per agent process for every community-based (SNMPv1/v2c) request: send, match, time out, retry.

Why not pysnmp's dispatcher: for v1/v2c its message processing and pyasn1
codec cost ~20 ms of CPU per printer poll (bench/RESULTS.md "Poll"); here a
request is one ``encode_request``, one ``sendto``, one timer and a dict
lookup when the answer arrives. Semantics kept from pysnmp: each attempt
gets a fresh request-id, so a late answer to an earlier attempt (or to an
earlier request to the same device) is dropped, never taken for the current
one; ``retries`` more attempts of ``timeout`` seconds each. Added: an
answer counts only if it comes from the address and port asked, with the
version and community asked.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
from typing import Literal

from agent.snmp_ber import BerError, Oid, Response, decode_response, encode_request

log = logging.getLogger("fleetwatch.snmp")

Address = tuple[str, int]
#: Ask the kernel for this much receive buffer: 64 requests in flight x GETBULK answers of ~1.5-64 KB.
RECEIVE_BUFFER = 4 * 2**20
_MAX_REQUEST_ID = 2**31 - 1


class NoResponse(Exception):
    """Every attempt timed out."""


class _Request:
    __slots__ = ("addr", "attempts_left", "community", "future", "kind", "max_repetitions", "oids", "request_id")
    __slots__ += ("timeout", "timer", "version")

    def __init__(
        self,
        future: asyncio.Future[Response],
        addr: Address,
        version: int,
        community: bytes,
        kind: Literal["get", "next", "bulk"],
        oids: list[Oid],
        max_repetitions: int,
        timeout: float,
        retries: int,
    ) -> None:
        self.future = future
        self.addr = addr
        self.version = version
        self.community = community
        self.kind: Literal["get", "next", "bulk"] = kind
        self.oids = oids
        self.max_repetitions = max_repetitions
        self.timeout = timeout
        self.attempts_left = retries
        self.request_id = 0
        self.timer: asyncio.TimerHandle | None = None


class CommunityClient(asyncio.DatagramProtocol):
    """The socket and the request-id -> waiting request map, bound to one event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, max_value_bytes: int) -> None:
        self.loop = loop
        self.max_value_bytes = max_value_bytes
        self.transport: asyncio.DatagramTransport | None = None
        self._pending: dict[int, _Request] = {}
        self._next_id = random.randrange(1, _MAX_REQUEST_ID)  # uniqueness, not secrecy
        self.dropped = 0  # answers nobody waits for (late, stray, from the wrong address), for tests and logs

    @classmethod
    async def open(cls, max_value_bytes: int, family: socket.AddressFamily = socket.AF_INET) -> CommunityClient:
        """One socket per address family (IPv4, IPv6), opened when a session of that family first asks."""
        loop = asyncio.get_running_loop()
        client = cls(loop, max_value_bytes)
        transport, _ = await loop.create_datagram_endpoint(lambda: client, family=family)
        sock = transport.get_extra_info("socket")
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        except OSError:  # capped or refused by the kernel: the default still works, with less headroom
            log.debug("cannot raise the SNMP socket's receive buffer", exc_info=True)
        return client

    @property
    def closed(self) -> bool:
        return self.transport is None or self.transport.is_closing()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
        for req in list(self._pending.values()):
            if req.timer is not None:
                req.timer.cancel()
            if not req.future.done():
                req.future.set_exception(ConnectionError("SNMP socket closed"))
        self._pending.clear()

    # --- asyncio.DatagramProtocol ---

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def error_received(self, exc: Exception) -> None:
        # An unconnected UDP socket cannot tell which request an ICMP error belongs to: the request times out.
        log.debug("SNMP socket error: %s", exc)

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:  # type: ignore[override]
        try:
            rsp = decode_response(data, self.max_value_bytes)
        except BerError as exc:
            req = self._pending.get(exc.request_id) if exc.request_id is not None else None
            if req is None or req.addr != addr[:2]:
                self.dropped += 1
                log.debug("dropped an undecodable datagram from %s: %s", addr, exc)
                return
            self._finish(req)
            req.future.set_exception(exc)
            return
        req = self._pending.get(rsp.request_id)
        if req is None or req.addr != addr[:2] or rsp.version != req.version or rsp.community != req.community:
            self.dropped += 1
            return
        self._finish(req)
        req.future.set_result(rsp)

    # --- requests ---

    async def request(
        self,
        addr: Address,
        version: int,
        community: bytes,
        kind: Literal["get", "next", "bulk"],
        oids: list[Oid],
        *,
        max_repetitions: int = 0,
        timeout: float,  # noqa: ASYNC109 - per attempt, as SNMP tools define it
        retries: int,
    ) -> Response:
        """Send one request and wait for its answer; ``NoResponse`` after ``retries + 1`` silent attempts."""
        future: asyncio.Future[Response] = self.loop.create_future()
        req = _Request(future, addr, version, community, kind, oids, max_repetitions, timeout, retries)
        self._send(req)
        try:
            return await future
        finally:
            self._finish(req)

    def _finish(self, req: _Request) -> None:
        if self._pending.get(req.request_id) is req:
            del self._pending[req.request_id]
        if req.timer is not None:
            req.timer.cancel()
            req.timer = None

    def _new_id(self) -> int:
        rid = self._next_id
        while rid in self._pending:
            rid = rid % _MAX_REQUEST_ID + 1
        self._next_id = rid % _MAX_REQUEST_ID + 1
        return rid

    def _send(self, req: _Request) -> None:
        if self.transport is None:
            raise ConnectionError("SNMP socket closed")
        req.request_id = self._new_id()
        message = encode_request(
            req.version, req.community, req.request_id, req.kind, req.oids, max_repetitions=req.max_repetitions
        )
        self._pending[req.request_id] = req
        req.timer = self.loop.call_later(req.timeout, self._expired, req)
        self.transport.sendto(message, req.addr)

    def _expired(self, req: _Request) -> None:
        req.timer = None
        if self._pending.get(req.request_id) is req:
            del self._pending[req.request_id]  # a late answer to this attempt is now dropped
        if req.future.done():
            return
        if req.attempts_left > 0:
            req.attempts_left -= 1
            try:
                self._send(req)
            except Exception as exc:  # noqa: BLE001 - socket closed meanwhile: the waiting request gets it
                req.future.set_exception(exc)
        else:
            req.future.set_exception(NoResponse())
