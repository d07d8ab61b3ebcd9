"""BER codec for the one message shape the agent speaks most: community-based SNMPv1/v2c requests and responses.

Why our own: pysnmp decodes a response through pyasn1's generic, schema-driven
decoder (~45% of the agent's CPU per poll, bench/RESULTS.md "Poll"). A
response is always ``SEQUENCE { version, community, Response-PDU { request-id,
error-status, error-index, SEQUENCE OF { OID, value } } }``; walking those
bytes by hand is a few lines and an order of magnitude cheaper. SNMPv3 stays
in pysnmp (USM, crypto).

Pure functions, no I/O. Values come out as ``agent.snmp.to_python`` makes
them from pysnmp objects: ``int`` for INTEGER / Counter32 / Gauge32 /
TimeTicks / Counter64, ``bytes`` for OCTET STRING and Opaque (cut to
``max_value_bytes``), dotted ``str`` for OBJECT IDENTIFIER and IpAddress,
``None`` for NULL / noSuchObject / noSuchInstance, ``END_OF_MIB`` for
endOfMibView.

What is refused (``BerError``), as pyasn1 refuses it when pysnmp decodes with
SNMP's types: indefinite or truncated lengths, unknown tags, INTEGER outside
Integer32, negative or too large Counter32/Gauge32/TimeTicks/Counter64, an
IpAddress that is not 4 octets, NULL-like values with content, empty or
non-minimal OID sub-identifiers. Unlike pyasn1 we also refuse a constructed
(segmented) OCTET STRING, which no SNMP agent we know sends, and trailing
bytes inside a SEQUENCE; bytes after the whole message are ignored, as
pysnmp ignores them. Every length is checked against the bytes actually
present before anything is sliced, so a hostile datagram cannot make us
allocate more than its own size or loop.
"""

from __future__ import annotations

from typing import Final, Literal, NamedTuple

Oid = tuple[int, ...]


class _EndOfMib:
    """endOfMibView (RFC 3416): the walk ran past the last object the agent has. One instance: ``END_OF_MIB``."""

    _instance: _EndOfMib | None = None

    def __new__(cls) -> _EndOfMib:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "END_OF_MIB"

    def __reduce__(self) -> str:
        return "END_OF_MIB"


END_OF_MIB: Final = _EndOfMib()
Value = int | bytes | str | None
WireValue = Value | _EndOfMib

VERSION_1: Final = 0
VERSION_2C: Final = 1

# Tags (X.690 identifier octets) SNMP uses.
_INTEGER, _OCTET_STRING, _NULL, _OID, _SEQUENCE = 0x02, 0x04, 0x05, 0x06, 0x30
_IP_ADDRESS, _COUNTER32, _GAUGE32, _TIME_TICKS, _OPAQUE, _COUNTER64 = 0x40, 0x41, 0x42, 0x43, 0x44, 0x46
_NO_SUCH_OBJECT, _NO_SUCH_INSTANCE, _END_OF_MIB_VIEW = 0x80, 0x81, 0x82
_GET, _GET_NEXT, _RESPONSE, _GET_BULK = 0xA0, 0xA1, 0xA2, 0xA5
_PDU_TAGS: Final = {"get": _GET, "next": _GET_NEXT, "bulk": _GET_BULK}

_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1
_UNSIGNED_MAX: Final = {_COUNTER32: 2**32 - 1, _GAUGE32: 2**32 - 1, _TIME_TICKS: 2**32 - 1, _COUNTER64: 2**64 - 1}
#: No SNMP message needs more than this many length octets (UDP datagrams are < 64 KiB); more is hostile.
_MAX_LENGTH_OCTETS = 4
#: RFC 2578 3.5: at most 128 sub-identifiers, each fits 32 bits (we accept up to 2^64 like net-snmp's checks).
_MAX_SUBID_OCTETS = 10

ERROR_STATUS_NAMES: Final = (
    "noError", "tooBig", "noSuchName", "badValue", "readOnly", "genErr", "noAccess", "wrongType", "wrongLength",
    "wrongEncoding", "wrongValue", "noCreation", "inconsistentValue", "resourceUnavailable", "commitFailed",
    "undoFailed", "authorizationError", "notWritable", "inconsistentName",
)  # fmt: skip


def error_status_name(status: int) -> str:
    """RFC 3416 name of an error-status (``str(status)`` for values outside the RFC), as pysnmp prints it."""
    return ERROR_STATUS_NAMES[status] if 0 <= status < len(ERROR_STATUS_NAMES) else str(status)


class BerError(ValueError):
    """A datagram that is not a well-formed SNMPv1/v2c response (or a request we refuse to build).

    ``request_id`` is set when the header was readable before the fault: the I/O layer can then tell the
    waiting request its answer was malformed instead of letting it run into a timeout.
    """

    def __init__(self, message: str, request_id: int | None = None) -> None:
        super().__init__(message)
        self.request_id = request_id


class Response(NamedTuple):
    version: int
    community: bytes
    request_id: int
    error_status: int
    error_index: int
    varbinds: list[tuple[Oid, WireValue]]


# --- encoding --------------------------------------------------------------------------------------------------


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(raw),)) + raw


def _tlv(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        return bytes((tag, n)) + content
    return bytes((tag,)) + _length(n) + content


def _integer(value: int) -> bytes:
    return _tlv(_INTEGER, value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True))


def encode_oid(oid: Oid) -> bytes:
    """OBJECT IDENTIFIER content octets (without tag and length)."""
    if len(oid) < 2 or oid[0] > 2 or oid[0] < 0 or (oid[0] < 2 and not 0 <= oid[1] < 40):
        raise BerError(f"cannot encode OID {'.'.join(map(str, oid))}: first two arcs out of range")
    first = oid[0] * 40 + oid[1]
    if first < 0x80 and (len(oid) == 2 or 0 <= min(oid[2:]) <= max(oid[2:]) < 0x80):
        return bytes((first, *oid[2:]))  # every arc one octet: the common case, done in C
    out = bytearray()
    for i, arc in enumerate((oid[0] * 40 + oid[1], *oid[2:])):
        if arc < 0:
            raise BerError(f"cannot encode OID {'.'.join(map(str, oid))}: negative arc at {i}")
        if arc < 0x80:
            out.append(arc)
            continue
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out.extend(reversed(chunk))
    return bytes(out)


_NULL_VALUE = b"\x05\x00"
#: OID -> its encoded ``SEQUENCE { name, NULL }``: a poll asks the same columns and rows every time.
_VARBINDS: dict[Oid, bytes] = {}
_VARBINDS_MAX = 8192


def _request_varbind(oid: Oid) -> bytes:
    vb = _VARBINDS.get(oid)
    if vb is None:
        vb = _tlv(_SEQUENCE, _tlv(_OID, encode_oid(oid)) + _NULL_VALUE)
        if len(_VARBINDS) >= _VARBINDS_MAX:
            _VARBINDS.clear()
        _VARBINDS[oid] = vb
    return vb


def encode_request(
    version: int,
    community: bytes,
    request_id: int,
    kind: Literal["get", "next", "bulk"],
    oids: list[Oid],
    *,
    non_repeaters: int = 0,
    max_repetitions: int = 0,
) -> bytes:
    """One GetRequest / GetNextRequest / GetBulkRequest message, every varbind value NULL."""
    if version not in (VERSION_1, VERSION_2C):
        raise BerError(f"SNMP version {version} is not community-based")
    if kind == "bulk" and version == VERSION_1:
        raise BerError("SNMPv1 has no GetBulkRequest")
    if not _INT32_MIN <= request_id <= _INT32_MAX:
        raise BerError(f"request-id {request_id} outside Integer32")
    vbs = b"".join(map(_request_varbind, oids))
    second, third = (non_repeaters, max_repetitions) if kind == "bulk" else (0, 0)
    pdu = _tlv(_PDU_TAGS[kind], _integer(request_id) + _integer(second) + _integer(third) + _tlv(_SEQUENCE, vbs))
    return _tlv(_SEQUENCE, _integer(version) + _tlv(_OCTET_STRING, community) + pdu)


# --- decoding --------------------------------------------------------------------------------------------------


def _header(data: bytes, pos: int, end: int, expect: int, what: str) -> tuple[int, int]:
    """Read the tag ``expect`` and its definite length at ``pos``; returns (content start, content end)."""
    if pos + 2 > end:
        raise BerError(f"truncated {what} at byte {pos}")
    if data[pos] != expect:
        raise BerError(f"{what}: expected tag 0x{expect:02x}, got 0x{data[pos]:02x} at byte {pos}")
    n = data[pos + 1]
    pos += 2
    if n & 0x80:
        octets = n & 0x7F
        if octets == 0:
            raise BerError(f"{what}: indefinite length at byte {pos - 1}")
        if octets > _MAX_LENGTH_OCTETS or pos + octets > end:
            raise BerError(f"{what}: bad length field at byte {pos - 1}")
        n = int.from_bytes(data[pos : pos + octets], "big")
        pos += octets
    if pos + n > end:
        raise BerError(f"{what}: length {n} runs past the end of its container at byte {pos}")
    return pos, pos + n


def _decode_int(data: bytes, start: int, end: int, what: str) -> int:
    # An empty INTEGER is 0 for pyasn1 too; more than 9 octets cannot be in any SNMP range.
    if end - start > 9:
        raise BerError(f"{what}: {end - start}-octet integer")
    return int.from_bytes(data[start:end], "big", signed=True)


def decode_oid(content: bytes) -> Oid:
    """OBJECT IDENTIFIER content octets -> arcs (first two split as X.690 8.19.4 says)."""
    if not content:
        raise BerError("empty OBJECT IDENTIFIER")
    if content.isascii():  # every sub-identifier is one octet: the common case, done in C
        first = content[0]
        head = (first // 40, first % 40) if first < 80 else (2, first - 80)
        return head + tuple(content[1:])
    arcs: list[int] = []
    value = 0
    octets = 0
    for b in content:
        if octets == 0 and b == 0x80:
            raise BerError("OBJECT IDENTIFIER: non-minimal sub-identifier (leading 0x80)")
        value = (value << 7) | (b & 0x7F)
        octets += 1
        if b & 0x80:
            if octets >= _MAX_SUBID_OCTETS:
                raise BerError("OBJECT IDENTIFIER: sub-identifier too long")
            continue
        arcs.append(value)
        value = octets = 0
    if octets:
        raise BerError("OBJECT IDENTIFIER: truncated sub-identifier")
    first = arcs[0]
    head = (first // 40, first % 40) if first < 80 else (2, first - 80)
    return head + tuple(arcs[1:])


def _varbinds(data: bytes, pos: int, end: int, max_value_bytes: int) -> list[tuple[Oid, WireValue]]:
    """The VarBindList's content. Hot path: the TLV headers are read inline."""
    out: list[tuple[Oid, WireValue]] = []
    append = out.append
    while pos < end:
        vb_start, vb_end = _header(data, pos, end, _SEQUENCE, "varbind")
        oid_start, oid_end = _header(data, vb_start, vb_end, _OID, "varbind name")
        oid = decode_oid(data[oid_start:oid_end])
        if oid_end + 2 > vb_end:
            raise BerError(f"truncated varbind value at byte {oid_end}")
        tag = data[oid_end]
        v_start, v_end = _header(data, oid_end, vb_end, tag, "varbind value")
        if v_end != vb_end:
            raise BerError(f"{v_end - vb_end} stray bytes in varbind at byte {v_end}")
        value: WireValue
        if tag in (_OCTET_STRING, _OPAQUE):
            value = data[v_start : min(v_end, v_start + max_value_bytes)]
        elif tag == _INTEGER:
            value = _decode_int(data, v_start, v_end, "INTEGER")
            if not _INT32_MIN <= value <= _INT32_MAX:
                raise BerError(f"INTEGER {value} outside Integer32")
        elif tag in _UNSIGNED_MAX:
            value = _decode_int(data, v_start, v_end, "unsigned")
            if not 0 <= value <= _UNSIGNED_MAX[tag]:
                raise BerError(f"value {value} out of range for tag 0x{tag:02x}")
        elif tag == _OID:
            value = ".".join(map(str, decode_oid(data[v_start:v_end])))
        elif tag == _IP_ADDRESS:
            if v_end - v_start != 4:
                raise BerError(f"IpAddress of {v_end - v_start} octets")
            value = "%d.%d.%d.%d" % tuple(data[v_start:v_end])  # noqa: UP031 - fastest for 4 small ints
        elif tag in (_NULL, _NO_SUCH_OBJECT, _NO_SUCH_INSTANCE, _END_OF_MIB_VIEW):
            if v_end != v_start:
                raise BerError(f"{v_end - v_start} content octets in a NULL-like value (tag 0x{tag:02x})")
            value = END_OF_MIB if tag == _END_OF_MIB_VIEW else None
        else:
            raise BerError(f"unknown value tag 0x{tag:02x} at byte {oid_end}")
        append((oid, value))
        pos = vb_end
    return out


def decode_response(data: bytes, max_value_bytes: int = 65536) -> Response:
    """Decode a GetResponse (v1) / Response (v2c) message. Anything else raises ``BerError``."""
    data = bytes(data)
    end = len(data)
    start, msg_end = _header(data, 0, end, _SEQUENCE, "message")
    v_start, v_end = _header(data, start, msg_end, _INTEGER, "version")
    version = _decode_int(data, v_start, v_end, "version")
    if version not in (VERSION_1, VERSION_2C):
        raise BerError(f"not an SNMPv1/v2c message (version field {version})")
    c_start, c_end = _header(data, v_end, msg_end, _OCTET_STRING, "community")
    community = data[c_start:c_end]
    if c_end >= msg_end or data[c_end] != _RESPONSE:
        got = f"0x{data[c_end]:02x}" if c_end < msg_end else "nothing"
        raise BerError(f"not a Response PDU (tag {got})")
    p_start, p_end = _header(data, c_end, msg_end, _RESPONSE, "PDU")
    r_start, r_end = _header(data, p_start, p_end, _INTEGER, "request-id")
    request_id = _decode_int(data, r_start, r_end, "request-id")
    try:
        s_start, s_end = _header(data, r_end, p_end, _INTEGER, "error-status")
        i_start, i_end = _header(data, s_end, p_end, _INTEGER, "error-index")
        error_status = _decode_int(data, s_start, s_end, "error-status")
        error_index = _decode_int(data, i_start, i_end, "error-index")
        l_start, l_end = _header(data, i_end, p_end, _SEQUENCE, "varbind list")
        if l_end != p_end or p_end != msg_end:
            raise BerError("stray bytes after the varbind list")
        varbinds = _varbinds(data, l_start, l_end, max_value_bytes)
    except BerError as exc:
        raise BerError(str(exc), request_id) from None
    return Response(version, community, request_id, error_status, error_index, varbinds)
