"""The v1/v2c request path on real UDP sockets: answers matched by request-id and source, timeouts, retries.

The device here is a scripted responder that decodes requests and encodes answers with pysnmp's own
codec (an independent implementation of the wire format). Orderings that would need sleeps are forced
instead: the responder holds an answer back until the next request arrives, then sends both.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto import api

from agent.snmp import Credentials, SnmpError, SnmpProtocolError, SnmpSession, SnmpTimeout, new_engine

v2 = api.v2c
SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_DESCR_OID = (1, 3, 6, 1, 2, 1, 1, 1, 0)


@dataclass
class Seen:
    request_id: int
    names: list[tuple[int, ...]]
    source: tuple[str, int]
    message: object = field(repr=False)


def reply(msg: object, values: list[object] | None = None, *, community: bytes | None = None) -> bytes:
    """The Response to ``msg`` with ``values`` (default: each requested name -> its own dotted text)."""
    rsp_msg = v2.apiMessage.get_response(msg)
    rsp = v2.apiMessage.get_pdu(rsp_msg)
    names = [tuple(o) for o, _ in v2.apiPDU.get_varbinds(v2.apiMessage.get_pdu(msg))]
    if values is None:
        values = [v2.OctetString(".".join(map(str, n)).encode()) for n in names]
    v2.apiPDU.set_varbinds(rsp, [(v2.ObjectIdentifier(n), v) for n, v in zip(names, values, strict=True)])
    if community is not None:
        v2.apiMessage.set_community(rsp_msg, community)
    return encoder.encode(rsp_msg)


class Responder(asyncio.DatagramProtocol):
    """Calls ``script(seen_so_far, this_request)`` per request; it returns what to send, and from where."""

    def __init__(self, script: Callable[[list[Seen], Seen], list[tuple[bytes, asyncio.DatagramTransport | None]]]):
        self.script = script
        self.seen: list[Seen] = []
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        msg, _ = decoder.decode(data, asn1Spec=v2.Message())
        pdu = v2.apiMessage.get_pdu(msg)
        names = [tuple(o) for o, _ in v2.apiPDU.get_varbinds(pdu)]
        this = Seen(int(v2.apiPDU.get_request_id(pdu)), names, addr, msg)
        self.seen.append(this)
        for payload, via in self.script(self.seen, this):
            (via or self.transport).sendto(payload, addr)  # type: ignore[union-attr]


async def open_responder(script, host: str = "127.0.0.1") -> tuple[Responder, asyncio.DatagramTransport, int]:  # type: ignore[no-untyped-def]
    transport, proto = await asyncio.get_running_loop().create_datagram_endpoint(
        lambda: Responder(script), local_addr=(host, 0), family=socket.AF_INET
    )
    return proto, transport, transport.get_extra_info("sockname")[1]  # type: ignore[return-value]


def session(engine: object, port: int, *, timeout: float = 0.3, retries: int = 0, community: str = "c") -> SnmpSession:
    return SnmpSession(engine, "127.0.0.1", port, Credentials(community=community), timeout=timeout, retries=retries)  # type: ignore[arg-type]


def test_late_answer_to_the_first_attempt_is_not_taken_for_the_retry():
    def script(seen: list[Seen], this: Seen) -> list[tuple[bytes, None]]:
        if len(seen) == 1:
            return []  # first attempt: held back
        stale = reply(seen[0].message, [v2.OctetString(b"stale")])
        return [(stale, None), (reply(this.message, [v2.OctetString(b"fresh")]), None)]

    async def main() -> tuple[object, list[Seen], int]:
        responder, transport, port = await open_responder(script)
        try:
            engine = new_engine()
            got = await session(engine, port, timeout=0.3, retries=1).get([SYS_DESCR])
            client = await engine.community_client()
            return got, responder.seen, client.dropped
        finally:
            transport.close()

    got, seen, dropped = asyncio.run(main())
    assert got == {SYS_DESCR: b"fresh"}
    assert len(seen) == 2
    assert seen[0].request_id != seen[1].request_id  # each attempt has its own id
    assert dropped == 1


def test_late_answer_to_a_previous_request_is_not_taken_for_the_next():
    def script(seen: list[Seen], this: Seen) -> list[tuple[bytes, None]]:
        if len(seen) == 1:
            return []
        return [(reply(seen[0].message, [v2.Integer(1)]), None), (reply(this.message, [v2.Integer(2)]), None)]

    async def main() -> tuple[str, object]:
        _, transport, port = await open_responder(script)
        try:
            s = session(new_engine(), port, timeout=0.2)
            with pytest.raises(SnmpTimeout) as first:
                await s.get([SYS_DESCR])
            return str(first.value), await s.get([SYS_DESCR])
        finally:
            transport.close()

    first, second = asyncio.run(main())
    assert "no response after 1 attempt(s) of 0.2s" in first
    assert second == {SYS_DESCR: 2}


@pytest.mark.parametrize("source", ["127.0.0.1", "127.0.0.2"], ids=["answer_from_other_port", "answer_from_other_ip"])
def test_answer_from_a_source_that_was_not_asked_is_ignored(source: str):
    async def main() -> tuple[str, float]:
        loop = asyncio.get_running_loop()
        other, _ = await loop.create_datagram_endpoint(
            asyncio.DatagramProtocol, local_addr=(source, 0), family=socket.AF_INET
        )
        responder, transport, port = await open_responder(lambda seen, this: [(reply(this.message), other)])
        try:
            started = time.monotonic()
            with pytest.raises(SnmpTimeout) as err:
                await session(new_engine(), port, timeout=0.3).get([SYS_DESCR])
            assert len(responder.seen) == 1
            return str(err.value), time.monotonic() - started
        finally:
            transport.close()
            other.close()

    message, elapsed = asyncio.run(main())
    assert message.endswith("no response after 1 attempt(s) of 0.3s")
    assert 0.25 < elapsed < 2


def test_answer_with_another_community_is_ignored():
    async def main() -> str:
        _, transport, port = await open_responder(lambda seen, this: [(reply(this.message, community=b"x"), None)])
        try:
            with pytest.raises(SnmpTimeout) as err:
                await session(new_engine(), port, timeout=0.2).get([SYS_DESCR])
            return str(err.value)
        finally:
            transport.close()

    assert "no response" in asyncio.run(main())


def test_malformed_answer_to_the_request_fails_it_at_once():
    def script(seen: list[Seen], this: Seen) -> list[tuple[bytes, None]]:
        good = reply(this.message, [v2.Counter32(5)])
        return [(good[:-1] + b"\xff", None)]  # Counter32 -1: pysnmp would drop the message, we name the fault

    async def main() -> tuple[str, float]:
        _, transport, port = await open_responder(script)
        try:
            started = time.monotonic()
            with pytest.raises(SnmpProtocolError) as err:
                await session(new_engine(), port, timeout=5).get([SYS_DESCR])
            return str(err.value), time.monotonic() - started
        finally:
            transport.close()

    message, elapsed = asyncio.run(main())
    assert "malformed response" in message
    assert "out of range" in message
    assert elapsed < 2  # not the 5 s timeout


def test_silent_device_times_out_after_every_attempt_with_fresh_ids():
    async def main() -> tuple[str, float, list[Seen]]:
        responder, transport, port = await open_responder(lambda seen, this: [])
        try:
            started = time.monotonic()
            with pytest.raises(SnmpTimeout) as err:
                await session(new_engine(), port, timeout=0.2, retries=2).get([SYS_DESCR])
            return str(err.value), time.monotonic() - started, responder.seen
        finally:
            transport.close()

    message, elapsed, seen = asyncio.run(main())
    assert message.endswith(": no response after 3 attempt(s) of 0.2s")
    assert len({s.request_id for s in seen}) == 3
    assert 0.55 < elapsed < 3


def test_sessions_share_one_socket_and_concurrent_answers_reach_their_requests():
    async def main() -> tuple[list[object], set[tuple[str, int]]]:
        a, ta, port_a = await open_responder(lambda seen, this: [(reply(this.message), None)])
        b, tb, port_b = await open_responder(lambda seen, this: [(reply(this.message, [v2.Integer(-len(seen))]), None)])
        try:
            engine = new_engine()
            sa, sb = session(engine, port_a, timeout=2), session(engine, port_b, timeout=2)
            jobs = []
            for i in range(100):
                jobs.append(sa.get([f"1.3.6.1.4.1.{i}.0"]))
                jobs.append(sb.get([f"1.3.6.1.4.1.{i}.0"]))
            results = await asyncio.gather(*jobs)
            return results, {s.source for s in a.seen + b.seen}
        finally:
            ta.close()
            tb.close()

    results, sources = asyncio.run(main())
    assert len(sources) == 1  # one socket for every session of the engine
    for i in range(100):
        oid = f"1.3.6.1.4.1.{i}.0"
        assert results[2 * i] == {oid: oid.encode()}  # responder A echoes the OID it was asked
    assert sorted(-next(iter(r.values())) for r in results[1::2]) == list(range(1, 101))  # type: ignore[operator]


def test_cancelled_request_leaves_nothing_waiting():
    async def main() -> tuple[int, int]:
        asked = asyncio.Event()
        responder, transport, port = await open_responder(lambda seen, this: asked.set() or [])
        try:
            engine = new_engine()
            task = asyncio.create_task(session(engine, port, timeout=5).get([SYS_DESCR]))
            await asked.wait()
            client = await engine.community_client()
            pending_before = len(client._pending)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            # The answer that arrives afterwards finds nobody and is dropped.
            transport.sendto(reply(responder.seen[0].message), responder.seen[0].source)
            await asyncio.sleep(0.1)
            assert client.dropped == 1
            return pending_before, len(client._pending)
        finally:
            transport.close()

    assert asyncio.run(main()) == (1, 0)


def test_unresolvable_name_is_a_clear_error():
    async def main() -> str:
        s = SnmpSession(new_engine(), "no-such-host.invalid", 161, timeout=0.2, retries=0)
        with pytest.raises(SnmpError, match="cannot resolve address") as err:
            await s.get([SYS_DESCR])
        return str(err.value)

    assert asyncio.run(main()).startswith("no-such-host.invalid:161: cannot resolve address")
