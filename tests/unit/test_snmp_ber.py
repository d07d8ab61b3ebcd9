"""Our SNMPv1/v2c BER codec against pysnmp's (pyasn1) on the same messages, and on broken ones.

Differential: responses built and encoded by pysnmp decode with ``decode_response`` to exactly what
``agent.snmp.to_python`` makes of pysnmp's own decoding; requests built by ``encode_request`` decode
with pysnmp to what was asked, byte-identical to what pysnmp would send. Malformed input raises
``BerError`` and nothing else (more of that in tests/fuzz/test_fuzz_snmp_ber.py).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto import api, rfc1905
from pysnmp.proto.proxy import rfc2576

from agent.snmp import MAX_VALUE_BYTES, to_python
from agent.snmp_ber import (
    END_OF_MIB,
    VERSION_1,
    VERSION_2C,
    BerError,
    decode_response,
    encode_request,
    error_status_name,
)

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

UINT32 = st.integers(0, 2**32 - 1)
oids = st.builds(
    lambda first, second, rest: (first, second, *rest),
    st.integers(0, 2),
    st.integers(0, 39),
    st.lists(st.one_of(st.integers(0, 200), UINT32), max_size=24),
) | st.builds(lambda second, rest: (2, second, *rest), st.integers(40, 2**20), st.lists(UINT32, max_size=5))
octets = st.binary(max_size=40) | st.binary(min_size=120, max_size=400)


def values(version: int) -> st.SearchStrategy[Any]:
    """Every value type pysnmp's response varbinds can carry in ``version``, as pysnmp objects."""
    p = api.PROTOCOL_MODULES[version]
    common = [
        st.integers(-(2**31), 2**31 - 1).map(p.Integer),
        octets.map(p.OctetString),
        st.just(p.Null("")),
        oids.map(p.ObjectIdentifier),
        st.binary(min_size=4, max_size=4).map(p.IpAddress),
        UINT32.map(p.Counter if version == VERSION_1 else p.Counter32),
        UINT32.map(p.Gauge if version == VERSION_1 else p.Gauge32),
        UINT32.map(p.TimeTicks),
        octets.map(p.Opaque),
    ]
    if version == VERSION_2C:
        common += [
            st.integers(0, 2**64 - 1).map(p.Counter64),
            st.just(p.NoSuchObject("")),
            st.just(p.NoSuchInstance("")),
            st.just(p.EndOfMibView("")),
        ]
    return st.one_of(common)


def pysnmp_response(version: int, community: bytes, request_id: int, status: int, index: int, vbs: list) -> bytes:
    p = api.PROTOCOL_MODULES[version]
    msg = p.Message()
    p.apiMessage.set_defaults(msg)
    p.apiMessage.set_community(msg, community)
    pdu = p.GetResponsePDU()
    p.apiPDU.set_defaults(pdu)
    p.apiPDU.set_request_id(pdu, request_id)
    p.apiPDU.set_error_status(pdu, status)
    p.apiPDU.set_error_index(pdu, index)
    p.apiPDU.set_varbinds(pdu, [(p.ObjectIdentifier(o), v) for o, v in vbs])
    p.apiMessage.set_pdu(msg, pdu)
    return encoder.encode(msg)


def pysnmp_reading(version: int, data: bytes) -> tuple[bytes, int, int, int, list]:
    """What pysnmp's engine hands over for ``data``, values through ``to_python`` (endOfMibView -> END_OF_MIB).

    SNMPv1 PDUs go through ``v1_to_v2`` as in pysnmp's command generator (v1 IpAddress is a dotted quad only
    after it). On a v1 noSuchName that conversion also overwrites the values; ``SnmpSession`` never reads
    values of an error response, so that case is compared without them.
    """
    p = api.PROTOCOL_MODULES[version]
    msg, _ = decoder.decode(data, asn1Spec=p.Message())
    pdu = p.apiMessage.get_pdu(msg)
    if version == VERSION_1:
        pdu = rfc2576.v1_to_v2(pdu, api.v2c.GetRequestPDU())
        p = api.v2c
    vbs = [
        (tuple(o), END_OF_MIB if isinstance(v, rfc1905.EndOfMibView) else to_python(v))
        for o, v in p.apiPDU.get_varbinds(pdu)
    ]
    return (
        bytes(p.apiMessage.get_community(msg)),
        int(p.apiPDU.get_request_id(pdu)),
        int(p.apiPDU.get_error_status(pdu)),
        int(p.apiPDU.get_error_index(pdu)),
        vbs,
    )


@st.composite
def responses(draw: st.DrawFn) -> tuple[int, bytes]:
    version = draw(st.sampled_from([VERSION_1, VERSION_2C]))
    vbs = draw(st.lists(st.tuples(oids, values(version)), max_size=30))
    community = draw(st.binary(max_size=40))
    request_id = draw(st.integers(-(2**31), 2**31 - 1))
    status = draw(st.integers(0, 18))
    index = draw(st.integers(0, len(vbs)))
    return version, pysnmp_response(version, community, request_id, status, index, vbs)


@SETTINGS
@given(responses())
def test_decodes_every_value_type_as_pysnmp_and_to_python_do(case: tuple[int, bytes]):
    version, data = case
    ours = decode_response(data)
    assert ours.version == version
    community, request_id, status, index, vbs = pysnmp_reading(version, data)
    assert (ours.community, ours.request_id, ours.error_status, ours.error_index) == (
        community,
        request_id,
        status,
        index,
    )
    if version == VERSION_1 and status == 2:
        assert [o for o, _ in ours.varbinds] == [o for o, _ in vbs]
    else:
        assert ours.varbinds == vbs


@SETTINGS
@given(
    version=st.sampled_from([VERSION_1, VERSION_2C]),
    kind=st.sampled_from(["get", "next", "bulk"]),
    names=st.lists(oids, max_size=40),
    community=st.binary(max_size=300),
    request_id=st.integers(-(2**31), 2**31 - 1),
    max_repetitions=st.integers(0, 2**31 - 1),
)
def test_requests_decode_with_pysnmp_as_asked_and_match_its_bytes(
    version: int, kind: str, names: list, community: bytes, request_id: int, max_repetitions: int
):
    if kind == "bulk" and version == VERSION_1:
        with pytest.raises(BerError, match="no GetBulkRequest"):
            encode_request(version, community, request_id, kind, names)
        return
    ours = encode_request(version, community, request_id, kind, names, max_repetitions=max_repetitions)  # type: ignore[arg-type]
    p = api.PROTOCOL_MODULES[version]
    msg, rest = decoder.decode(ours, asn1Spec=p.Message())
    assert rest == b""
    pdu = p.apiMessage.get_pdu(msg)
    expected_type = {"get": p.GetRequestPDU, "next": p.GetNextRequestPDU, "bulk": getattr(p, "GetBulkRequestPDU", None)}
    assert pdu.isSameTypeWith(expected_type[kind]())
    assert bytes(p.apiMessage.get_community(msg)) == community
    assert int(p.apiPDU.get_request_id(pdu)) == request_id
    assert [(tuple(o), v.prettyPrint()) for o, v in p.apiPDU.get_varbinds(pdu)] == [(o, "") for o in names]
    if kind == "bulk":
        assert int(p.apiBulkPDU.get_non_repeaters(pdu)) == 0
        assert int(p.apiBulkPDU.get_max_repetitions(pdu)) == max_repetitions
    # What pysnmp itself would put on the wire for the same request.
    same = expected_type[kind]()
    api_pdu = p.apiBulkPDU if kind == "bulk" else p.apiPDU
    api_pdu.set_defaults(same)
    p.apiPDU.set_request_id(same, request_id)
    if kind == "bulk":
        p.apiBulkPDU.set_max_repetitions(same, max_repetitions)
    p.apiPDU.set_varbinds(same, [(p.ObjectIdentifier(o), p.Null("")) for o in names])
    theirs = p.Message()
    p.apiMessage.set_defaults(theirs)
    p.apiMessage.set_community(theirs, community)
    p.apiMessage.set_pdu(theirs, same)
    assert ours == encoder.encode(theirs)


def test_octet_strings_are_cut_at_max_value_bytes():
    # Longer than pysnmp's OctetString allows (65,535): pysnmp would drop the whole message, we cut the value.
    long = b"x" * (MAX_VALUE_BYTES + 10)
    data = message(_tlv(0x04, long))
    assert decode_response(data).varbinds == [((1, 3, 6, 1, 2, 1, 1, 3, 0), long[:MAX_VALUE_BYTES])]
    assert decode_response(data, max_value_bytes=5).varbinds == [((1, 3, 6, 1, 2, 1, 1, 3, 0), b"xxxxx")]


def test_error_status_names_are_pysnmps():
    assert [error_status_name(n) for n in (0, 1, 2, 5, 18)] == [
        str(api.v2c.apiPDU.get_error_status(_status_pdu(n)).prettyPrint()) for n in (0, 1, 2, 5, 18)
    ]
    assert error_status_name(99) == "99"


def _status_pdu(n: int) -> Any:
    pdu = api.v2c.GetResponsePDU()
    api.v2c.apiPDU.set_defaults(pdu)
    api.v2c.apiPDU.set_error_status(pdu, n)
    return pdu


# --- malformed input -------------------------------------------------------------------------------------------

OID = bytes.fromhex("06082b06010201010300")  # 1.3.6.1.2.1.1.3.0


def _tlv(tag: int, body: bytes) -> bytes:
    n = len(body)
    return bytes([tag]) + (bytes([n]) if n < 128 else bytes([0x83]) + n.to_bytes(3, "big")) + body


def message(
    value: bytes = b"\x05\x00", *, pdu_tag: int = 0xA2, version: int = 1, varbind: bytes | None = None
) -> bytes:
    """A response with one varbind whose value is the raw TLV ``value`` (lengths computed here)."""
    vb = _tlv(0x30, OID + value) if varbind is None else varbind
    pdu = _tlv(pdu_tag, bytes.fromhex("02020539") + bytes.fromhex("020100020100") + _tlv(0x30, vb))
    return _tlv(0x30, bytes([0x02, 0x01, version]) + _tlv(0x04, b"public") + pdu)


def test_the_hand_built_message_is_valid():
    assert decode_response(message()).varbinds == [((1, 3, 6, 1, 2, 1, 1, 3, 0), None)]
    assert decode_response(message()).request_id == 0x0539
    assert decode_response(message(b"\x02\x00")).varbinds[0][1] == 0  # empty INTEGER: 0, as pyasn1 reads it
    assert decode_response(message(b"\x06\x03\x81\x00\x01")).varbinds[0][1] == "2.48.1"  # multi-octet first arc
    assert decode_response(message() + b"junk").varbinds  # bytes after the message are ignored, as pysnmp does


MALFORMED = [
    pytest.param(b"", "truncated message", id="empty_datagram"),
    pytest.param(b"\x30\x80" + message()[2:] + b"\x00\x00", "indefinite length", id="indefinite_length"),
    pytest.param(b"\x30\x85\x00\x00\x00\x00\x10", "bad length field", id="five_length_octets"),
    pytest.param(b"\x30\x84\xff\xff\xff\xff\x02\x01\x01", "runs past the end", id="absurd_length_4GiB"),
    pytest.param(b"\x30\x82\x01", "bad length field", id="length_octets_cut"),
    pytest.param(message()[:-1], "runs past the end", id="last_byte_missing"),
    pytest.param(b"\x31" + message()[1:], "expected tag 0x30", id="set_instead_of_sequence"),
    pytest.param(message(version=3), "version field 3", id="snmpv3_message"),
    pytest.param(message(pdu_tag=0xA0), "not a Response PDU", id="get_request_not_response"),
    pytest.param(message(pdu_tag=0xA4), "not a Response PDU", id="v1_trap"),
    pytest.param(message(b"\x47\x01\x01"), "unknown value tag 0x47", id="uinteger32_tag_not_in_v2c"),
    pytest.param(message(b"\x01\x01\x01"), "unknown value tag 0x01", id="boolean_value"),
    pytest.param(message(b"\x24\x05\x04\x03abc"), "unknown value tag 0x24", id="constructed_octet_string"),
    pytest.param(message(b"\x02\x05\x01\x00\x00\x00\x00"), "outside Integer32", id="integer_above_int32"),
    pytest.param(message(b"\x02\x0a" + b"\x01" * 10), "10-octet integer", id="integer_10_octets"),
    pytest.param(message(b"\x41\x01\xff"), "out of range", id="negative_counter32"),
    pytest.param(message(b"\x43\x01\x80"), "out of range", id="negative_timeticks"),
    pytest.param(message(b"\x42\x05\x01\x00\x00\x00\x00"), "out of range", id="gauge32_above_2_32"),
    pytest.param(message(b"\x46\x09\x01" + b"\x00" * 8), "out of range", id="counter64_above_2_64"),
    pytest.param(message(b"\x40\x03\x01\x02\x03"), "IpAddress of 3 octets", id="ip_address_3_octets"),
    pytest.param(message(b"\x40\x05\x01\x02\x03\x04\x05"), "IpAddress of 5 octets", id="ip_address_5_octets"),
    pytest.param(message(b"\x05\x01\x00"), "NULL-like", id="null_with_content"),
    pytest.param(message(b"\x82\x01\x00"), "NULL-like", id="end_of_mib_view_with_content"),
    pytest.param(message(b"\x06\x00"), "empty OBJECT IDENTIFIER", id="empty_oid_value"),
    pytest.param(message(b"\x06\x03\x2b\x80\x01"), "non-minimal", id="oid_subid_leading_0x80"),
    pytest.param(message(b"\x06\x02\x2b\x81"), "truncated sub-identifier", id="oid_subid_cut"),
    pytest.param(message(b"\x06\x0c\x2b" + b"\xff" * 10 + b"\x01"), "too long", id="oid_subid_11_octets"),
    pytest.param(message(b"\x05\x00\x05\x00"), "stray bytes in varbind", id="two_values_in_varbind"),
    pytest.param(message(b""), "truncated varbind value", id="varbind_without_value"),
    pytest.param(message(varbind=b"\x30\x02\x05\x00"), "expected tag 0x06", id="varbind_without_name"),
    pytest.param(message(varbind=b"\x04\x00"), "expected tag 0x30", id="varbind_not_a_sequence"),
]


@pytest.mark.parametrize(("data", "message_part"), MALFORMED)
def test_malformed_input_raises_ber_error(data: bytes, message_part: str):
    with pytest.raises(BerError, match=message_part):
        decode_response(data)


def test_a_fault_after_the_request_id_names_the_request():
    with pytest.raises(BerError) as err:
        decode_response(message(b"\x41\x01\xff"))
    assert err.value.request_id == 0x0539
    with pytest.raises(BerError) as err:
        decode_response(message(pdu_tag=0xA0))
    assert err.value.request_id is None


def test_every_truncation_of_a_valid_response_raises_ber_error():
    data = pysnmp_response(
        VERSION_2C,
        b"public",
        42,
        0,
        0,
        [((1, 3, 6, 1, 2, 1, 1, 1, 0), api.v2c.OctetString(b"x" * 300)), ((1, 3, 6, 1), api.v2c.Counter64(2**63))],
    )
    for cut in range(len(data)):
        with pytest.raises(BerError):
            decode_response(data[:cut])


@pytest.mark.parametrize(
    "oid",
    [
        pytest.param((3, 1), id="first_arc_3"),
        pytest.param((1, 40), id="second_arc_40"),
        pytest.param((1,), id="one_arc"),
        pytest.param((1, 3, -1), id="negative_arc"),
        pytest.param((1, 3, 6, 300, -5), id="negative_arc_after_a_long_one"),
    ],
)
def test_unencodable_oids_are_refused(oid: tuple[int, ...]):
    with pytest.raises(BerError, match="cannot encode OID"):
        encode_request(VERSION_2C, b"public", 1, "get", [oid])
