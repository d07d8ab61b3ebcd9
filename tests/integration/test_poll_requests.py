"""What a poll costs on the wire: sysUpTime and the probes' scalars share one GET, and a device that
cannot answer them together is asked apart instead of looking unreachable.

The device is ``tests/support/bad_agent.py``'s well-behaved printer (community ``ok``) on a real UDP
socket. The faulty variant silently drops the poll's combined GET (sysUpTime first, then the probes'
scalars) and answers every other request: a stand-in for agents that discard a whole PDU holding one
object they cannot encode (see ``agent.poller.detect``). Which PDU it is does not matter to the poller.
"""

from __future__ import annotations

import asyncio
import socket

from pyasn1.codec.ber import decoder
from pysnmp.proto import api

from agent.poller import SYS_OBJECT_ID, SYS_UPTIME, TargetState, poll_target
from agent.snmp import Credentials, SnmpSession, new_engine
from agent.wire import DevicePoll
from tests.support.bad_agent import BadAgentProtocol

UPTIME = tuple(int(p) for p in SYS_UPTIME.split("."))


class RecordingAgent(BadAgentProtocol):
    """The bad agent's printer, recording every GET it is sent (and dropping some, if asked)."""

    def __init__(self, drop_combined: bool = False) -> None:
        super().__init__()
        self.drop_combined = drop_combined
        self.gets: list[list[tuple[int, ...]]] = []

    def respond(self, data: bytes) -> tuple[bytes | None, str]:
        pmod = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
        msg, _ = decoder.decode(data, asn1Spec=pmod.Message())
        req = pmod.apiMessage.get_pdu(msg)
        if req.isSameTypeWith(pmod.GetRequestPDU()):
            names = [tuple(oid) for oid, _ in pmod.apiPDU.get_varbinds(req)]
            self.gets.append(names)
            if self.drop_combined and names[0] == UPTIME and len(names) > 1:
                return None, "ok"  # the fault: silence, the poller's timeout runs out
        return super().respond(data)


def run(agent: RecordingAgent, polls: int) -> tuple[list[DevicePoll], list[list[list[tuple[int, ...]]]]]:
    """Poll the agent ``polls`` times (state carried over); returns the polls and the GETs each one sent."""

    async def main() -> tuple[list[DevicePoll], list[list[list[tuple[int, ...]]]]]:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: agent, local_addr=("127.0.0.1", 0), family=socket.AF_INET
        )
        try:
            port = transport.get_extra_info("sockname")[1]
            session = SnmpSession(new_engine(), "127.0.0.1", port, Credentials(community="ok"), timeout=0.3, retries=0)
            state = TargetState()
            out, gets = [], []
            for _ in range(polls):
                before = len(agent.gets)
                out.append(await poll_target(session, "bad-ok", state))
                gets.append(agent.gets[before:])
            return out, gets
        finally:
            transport.close()

    return asyncio.run(main())


def test_steady_poll_asks_uptime_and_scalars_in_one_get():
    (first, second), (_, steady) = run(RecordingAgent(), 2)
    assert [p.errors for p in (first, second)] == [[], []]
    assert [s.percent for s in second.supplies] == [80.0, 60.0, 40.0]
    assert second.device.uptime_s == 1234.56
    # One GET per steady poll, holding sysUpTime and the printer probe's sysObjectID.
    assert len(steady) == 1, steady
    assert UPTIME in steady[0]
    assert tuple(int(p) for p in SYS_OBJECT_ID.split(".")) in steady[0]


def test_device_dropping_the_combined_get_is_asked_apart_and_stays_reachable():
    agent = RecordingAgent(drop_combined=True)
    polls, _ = run(agent, 3)
    for p in polls:
        assert p.reachable
        assert p.errors == [], p.errors
        assert [s.percent for s in p.supplies] == [80.0, 60.0, 40.0]
        assert p.device.uptime_s == 1234.56
    combined = [g for g in agent.gets if g[0] == UPTIME and len(g) > 1]
    # Tried once (first poll), then never again: the later polls do not pay the timeout.
    assert len(combined) == 1, agent.gets
    assert polls[2].duration_s < 0.3
