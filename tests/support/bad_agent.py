"""A small SNMPv2c responder that misbehaves on purpose (snmpsim cannot produce these faults).

It serves one tiny printer (system group, one interface, a page counter,
three toners with their colorants) and picks its fault by community, as
snmpsim picks a recording:

- ``ok``: behaves;
- ``loop``: GETNEXT/GETBULK under the supplies table (43.11) answer the OID
  that was asked for again, so a naive walk never ends;
- ``eom``: GETBULK answers endOfMibView for the supplies columns right after
  their first row, then goes on returning rows in the same response (seen on
  embedded stacks that end a view at an internal table boundary);
- ``huge``: the first toner's description and sysDescr are the largest
  OCTET STRING that fits one UDP datagram with the rest of the response
  (``HUGE_BYTES``; a 1 MB string cannot be carried over SNMP/UDP, whose
  datagram limit is 65,507 bytes). GETBULK responses that would not fit are
  cut, as RFC 3416 4.2.3 allows; GET/GETNEXT answer tooBig;
- ``slow``: every answer is sent ``slow_delay`` seconds late (after the
  poller's timeout).

Protocol handling uses pysnmp's own message codecs (``pysnmp.proto.api.v2c``
with the pyasn1 BER codec), so the bytes on the wire are real SNMP.
"""

from __future__ import annotations

import asyncio
import bisect
import socket

from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto import api
from pysnmp.proto.api import v2c

Oid = tuple[int, ...]

MAX_DATAGRAM = 65507  # IPv4 UDP payload limit
HUGE_BYTES = 65_000  # leaves room for the message header and a few small varbinds
SUPPLIES = (1, 3, 6, 1, 2, 1, 43, 11)
MODES = ("ok", "loop", "eom", "huge", "slow")


def _oid(text: str) -> Oid:
    return tuple(int(p) for p in text.split("."))


def build_mib(mode: str) -> dict[Oid, object]:
    huge = mode == "huge"
    descr = b"BadCo LaserJet 9 (" + mode.encode() + b")"
    mib: dict[Oid, object] = {
        _oid("1.3.6.1.2.1.1.1.0"): v2c.OctetString(b"D" * HUGE_BYTES if huge else descr),  # sysDescr
        _oid("1.3.6.1.2.1.1.2.0"): v2c.ObjectIdentifier("1.3.6.1.4.1.641.1.1"),  # sysObjectID (Lexmark)
        _oid("1.3.6.1.2.1.1.3.0"): v2c.TimeTicks(123456),  # sysUpTime
        _oid("1.3.6.1.2.1.1.5.0"): v2c.OctetString(f"bad-{mode}".encode()),  # sysName
        _oid("1.3.6.1.2.1.2.2.1.1.1"): v2c.Integer(1),  # ifIndex
        _oid("1.3.6.1.2.1.2.2.1.2.1"): v2c.OctetString(b"eth0"),  # ifDescr
        _oid("1.3.6.1.2.1.2.2.1.3.1"): v2c.Integer(6),  # ifType ethernetCsmacd
        _oid("1.3.6.1.2.1.2.2.1.5.1"): v2c.Gauge32(100_000_000),  # ifSpeed
        _oid("1.3.6.1.2.1.2.2.1.7.1"): v2c.Integer(1),  # ifAdminStatus up
        _oid("1.3.6.1.2.1.2.2.1.8.1"): v2c.Integer(1),  # ifOperStatus up
        _oid("1.3.6.1.2.1.2.2.1.10.1"): v2c.Counter32(1000),  # ifInOctets
        _oid("1.3.6.1.2.1.2.2.1.16.1"): v2c.Counter32(2000),  # ifOutOctets
        _oid("1.3.6.1.2.1.43.10.2.1.4.1.1"): v2c.Counter32(48213),  # prtMarkerLifeCount
    }
    for row, (colour, level) in enumerate((("black", 80), ("cyan", 60), ("magenta", 40)), start=1):
        name = b"T" * HUGE_BYTES if huge and row == 1 else f"{colour.title()} Toner".encode()
        mib[_oid(f"1.3.6.1.2.1.43.11.1.1.3.1.{row}")] = v2c.Integer(row)  # prtMarkerSuppliesColorantIndex
        mib[_oid(f"1.3.6.1.2.1.43.11.1.1.4.1.{row}")] = v2c.Integer(3)  # class: supplyThatIsConsumed
        mib[_oid(f"1.3.6.1.2.1.43.11.1.1.5.1.{row}")] = v2c.Integer(3)  # type: toner
        mib[_oid(f"1.3.6.1.2.1.43.11.1.1.6.1.{row}")] = v2c.OctetString(name)  # description
        mib[_oid(f"1.3.6.1.2.1.43.11.1.1.7.1.{row}")] = v2c.Integer(19)  # unit: percent
        mib[_oid(f"1.3.6.1.2.1.43.11.1.1.8.1.{row}")] = v2c.Integer(100)  # max capacity
        mib[_oid(f"1.3.6.1.2.1.43.11.1.1.9.1.{row}")] = v2c.Integer(level)  # level
        mib[_oid(f"1.3.6.1.2.1.43.12.1.1.4.1.{row}")] = v2c.OctetString(colour.encode())  # colorant value
    return mib


class Mib:
    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.values = build_mib(mode)
        self.order = sorted(self.values)

    def get(self, oid: Oid) -> object:
        return self.values.get(oid, v2c.NoSuchInstance(""))

    def next(self, oid: Oid) -> tuple[Oid, object]:
        if self.mode == "loop" and oid in self.values and oid[: len(SUPPLIES)] == SUPPLIES:
            return oid, self.values[oid]  # the fault: no progress
        i = bisect.bisect_right(self.order, oid)
        if i >= len(self.order):
            return oid, v2c.EndOfMibView("")
        nxt = self.order[i]
        return nxt, self.values[nxt]


class BadAgentProtocol(asyncio.DatagramProtocol):
    def __init__(self, slow_delay: float = 1.5) -> None:
        self.mibs = {m: Mib(m) for m in MODES}
        self.slow_delay = slow_delay
        self.transport: asyncio.DatagramTransport | None = None
        self.requests = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.requests += 1
        try:
            reply, mode = self.respond(data)
        except Exception:  # noqa: BLE001 - garbage in: a real agent stays silent
            return
        if reply is None or self.transport is None:
            return
        if mode == "slow":
            asyncio.get_running_loop().call_later(self.slow_delay, self.transport.sendto, reply, addr)
        else:
            self.transport.sendto(reply, addr)

    def respond(self, data: bytes) -> tuple[bytes | None, str]:
        version = int(api.decodeMessageVersion(data))
        if version != api.SNMP_VERSION_2C:
            return None, ""
        pmod = api.PROTOCOL_MODULES[version]
        msg, _ = decoder.decode(data, asn1Spec=pmod.Message())
        mode = bytes(pmod.apiMessage.get_community(msg)).decode(errors="replace")
        mib = self.mibs.get(mode)
        if mib is None:
            return None, mode  # wrong community: no answer, like a real agent
        req = pmod.apiMessage.get_pdu(msg)
        rsp_msg = pmod.apiMessage.get_response(msg)
        rsp = pmod.apiMessage.get_pdu(rsp_msg)
        names = [tuple(oid) for oid, _ in pmod.apiPDU.get_varbinds(req)]
        if req.isSameTypeWith(pmod.GetRequestPDU()):
            varbinds = [(o, mib.get(o)) for o in names]
        elif req.isSameTypeWith(pmod.GetNextRequestPDU()):
            varbinds = [mib.next(o) for o in names]
        elif req.isSameTypeWith(pmod.GetBulkRequestPDU()):
            varbinds = self._bulk(mib, req, names)
        else:
            pmod.apiPDU.set_error_status(rsp, 5)  # genErr
            varbinds = []
        pmod.apiPDU.set_varbinds(rsp, [(v2c.ObjectIdentifier(o), v) for o, v in varbinds])
        encoded = encoder.encode(rsp_msg)
        bulk = req.isSameTypeWith(pmod.GetBulkRequestPDU())
        while len(encoded) > MAX_DATAGRAM:
            if bulk and len(varbinds) > 1:
                varbinds = varbinds[: max(1, len(varbinds) * 3 // 4)]  # RFC 3416 4.2.3: send fewer
                pmod.apiPDU.set_varbinds(rsp, [(v2c.ObjectIdentifier(o), v) for o, v in varbinds])
            else:
                pmod.apiPDU.set_varbinds(rsp, [(v2c.ObjectIdentifier(o), v2c.null) for o in names])
                pmod.apiPDU.set_error_status(rsp, 1)  # tooBig
                pmod.apiPDU.set_error_index(rsp, 0)
            encoded = encoder.encode(rsp_msg)
        return encoded, mode

    @staticmethod
    def _bulk(mib: Mib, req: object, names: list[Oid]) -> list[tuple[Oid, object]]:
        non_rep = int(v2c.apiBulkPDU.get_non_repeaters(req))
        max_rep = int(v2c.apiBulkPDU.get_max_repetitions(req))
        out = [mib.next(o) for o in names[:non_rep]]
        cursors = list(names[non_rep:])
        for _ in range(max(1, max_rep)):
            for j, cur in enumerate(cursors):
                if mib.mode == "eom" and cur[: len(SUPPLIES)] == SUPPLIES and cur[-1] == 1 and len(cur) > 10:
                    # The fault: "nothing after this" right after the first row, and the next repetition
                    # carries on with the rows that do exist.
                    out.append((cur, v2c.EndOfMibView("")))
                    cursors[j] = (*cur, 0)
                    continue
                oid, value = mib.next(cur)
                out.append((oid, value))
                cursors[j] = oid
        return out


class BadAgent:
    """The responder on a real UDP socket in the running event loop (async context manager)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, slow_delay: float = 1.5) -> None:
        self.host, self.port, self.slow_delay = host, port, slow_delay
        self.protocol: BadAgentProtocol | None = None
        self._transport: asyncio.DatagramTransport | None = None

    async def __aenter__(self) -> BadAgent:
        loop = asyncio.get_running_loop()
        transport, protocol = await loop.create_datagram_endpoint(
            lambda: BadAgentProtocol(self.slow_delay), local_addr=(self.host, self.port), family=socket.AF_INET
        )
        self._transport, self.protocol = transport, protocol  # type: ignore[assignment]
        self.port = transport.get_extra_info("sockname")[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._transport is not None:
            self._transport.close()


def main() -> None:
    """``python -m tests.support.bad_agent --port N``: serve until killed (for tests with real processes)."""
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--slow-delay", type=float, default=1.5)
    args = ap.parse_args()

    async def serve() -> None:
        async with BadAgent(args.host, args.port, args.slow_delay):
            await asyncio.Event().wait()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
