"""Fuzz the SNMP response decoder: any datagram gives a ``Response`` or a ``BerError``, nothing else.

Inputs: arbitrary bytes, and valid responses (pysnmp-encoded, every value type) with bytes flipped, cut,
inserted or spliced, which get past the outer headers and into the varbinds. Where pysnmp also accepts
a mutated message, both must read the same thing (a mutation must not make us read a different value
than the reference stack does).
"""

from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyasn1.codec.ber import decoder
from pyasn1.error import PyAsn1Error
from pysnmp.error import PySnmpError
from pysnmp.proto import api

from agent.snmp_ber import END_OF_MIB, BerError, Response, decode_response
from tests.unit.test_snmp_ber import pysnmp_reading, pysnmp_response

FUZZ = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])

v2 = api.v2c
SEED_VARBINDS = [
    ((1, 3, 6, 1, 2, 1, 1, 1, 0), v2.OctetString(b"HP LaserJet M477 " + b"x" * 140)),
    ((1, 3, 6, 1, 2, 1, 1, 2, 0), v2.ObjectIdentifier("1.3.6.1.4.1.11.2.3.9.1")),
    ((1, 3, 6, 1, 2, 1, 1, 3, 0), v2.TimeTicks(123456)),
    ((1, 3, 6, 1, 2, 1, 4, 20, 1, 1, 10, 0, 0, 5), v2.IpAddress("10.0.0.5")),
    ((1, 3, 6, 1, 2, 1, 43, 11, 1, 1, 9, 1, 1), v2.Integer(-3)),
    ((1, 3, 6, 1, 2, 1, 2, 2, 1, 10, 1), v2.Counter32(4_000_000_000)),
    ((1, 3, 6, 1, 2, 1, 2, 2, 1, 5, 1), v2.Gauge32(1_000_000_000)),
    ((1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6, 1), v2.Counter64(2**40)),
    ((1, 3, 6, 1, 4, 1, 2021, 10, 1, 6, 1), v2.Opaque(b"\x9f\x78\x04\x3f\x80\x00\x00")),
    ((1, 3, 6, 1, 2, 1, 43, 18, 1, 1, 8, 1, 1), v2.NoSuchInstance("")),
    ((1, 3, 6, 1, 2, 1, 43, 18, 1, 1, 8, 1, 2), v2.NoSuchObject("")),
    ((1, 3, 6, 1, 2, 1, 99), v2.EndOfMibView("")),
    ((1, 3, 6, 1, 2, 1, 1, 4, 0), v2.Null("")),
]
SEED = pysnmp_response(1, b"public", 0x1234, 0, 0, SEED_VARBINDS)


def _check(data: bytes) -> Response | None:
    try:
        rsp = decode_response(data)
    except BerError as exc:
        request_id = exc.request_id
        assert request_id is None or isinstance(request_id, int)
        return None
    assert isinstance(rsp, Response)
    assert rsp.version in (0, 1)
    assert isinstance(rsp.request_id, int)
    assert len(rsp.varbinds) <= len(data) // 4  # a varbind takes at least 4 octets: no invented entries
    for oid, value in rsp.varbinds:
        assert isinstance(oid, tuple)
        assert all(isinstance(a, int) and a >= 0 for a in oid)
        assert value is None or value is END_OF_MIB or isinstance(value, int | bytes | str)
    return rsp


def _pysnmp_or_none(data: bytes) -> tuple | None:
    try:
        msg, _ = decoder.decode(data, asn1Spec=v2.Message())
        if not v2.apiMessage.get_pdu(msg).isSameTypeWith(v2.GetResponsePDU()):
            return None
        return pysnmp_reading(1, data)
    except (PyAsn1Error, PySnmpError, ValueError, TypeError):
        return None


@FUZZ
@given(st.binary(max_size=600))
def test_arbitrary_bytes(data: bytes):
    _check(data)


@FUZZ
@given(st.binary(max_size=200))
def test_arbitrary_bytes_behind_a_valid_message_header(tail: bytes):
    _check(b"\x30" + bytes([min(len(tail) + 3, 0x7F)]) + b"\x02\x01\x01" + tail)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(SEED)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "set", "cut", "insert", "delete", "splice"]))
        pos = draw(st.integers(0, len(data) - 1)) if data else 0
        if op == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and data:
            data[pos] = draw(st.sampled_from([0x00, 0x7F, 0x80, 0x81, 0x84, 0xFF, 0x30, 0x02, 0x04, 0x06]))
        elif op == "cut":
            del data[pos:]
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete" and data:
            del data[pos : pos + draw(st.integers(1, 8))]
        elif op == "splice":
            start = draw(st.integers(0, len(SEED) - 1))
            data[pos:pos] = SEED[start : start + draw(st.integers(1, 40))]
    return bytes(data)


@FUZZ
@given(mutated())
def test_mutated_responses_decode_as_pysnmp_reads_them_or_raise_ber_error(data: bytes):
    ours = _check(data)
    theirs = _pysnmp_or_none(data)
    if ours is not None and theirs is not None:
        assert (ours.community, ours.request_id, ours.error_status, ours.error_index, ours.varbinds) == theirs


def test_the_seed_decodes_whole():
    rsp = _check(SEED)
    assert rsp is not None
    assert len(rsp.varbinds) == len(SEED_VARBINDS)
    assert rsp.varbinds[2] == ((1, 3, 6, 1, 2, 1, 1, 3, 0), 123456)
    assert rsp.varbinds[-2][1] is END_OF_MIB


def test_hostile_lengths_cost_nothing():
    """Claimed lengths of up to 4 GiB on a few bytes: refused at once, nothing allocated for them."""
    hostile = [
        b"\x30\x84\xff\xff\xff\xff" + SEED[2:],
        SEED[:2] + b"\x02\x84\x7f\xff\xff\xff" + SEED[5:],
        b"\x30\x84\x00\x00\xff\xff" + b"\x30\x84\x00\x00\xff\xf9" * 10_000,
    ]
    start = time.process_time()
    for data in hostile * 100:
        assert _check(data) is None
    assert time.process_time() - start < 1.0
