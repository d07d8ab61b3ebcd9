"""Network interfaces from IF-MIB (ifTable + ifXTable), for switches, routers, hosts, NAS, UPS cards.

Every row the device lists becomes an ``Interface``, whichever columns it
has: the set of ports is the union of indexes over all columns fetched,
because some agents leave out ifIndex itself (ios_2960x: no
1.3.6.1.2.1.2.2.1.1 in its walk, 146 ports in the other columns).

Counters: when a row has ifHCInOctets the 64-bit (HC) counters are used and
``counter_bits`` is 64, else the 32-bit ones with ``counter_bits`` 32.
Rates are computed by the collector (``collector.rates``), not here.
"""

from __future__ import annotations

import re

from agent.fetch import Fetched, FetchSpec
from agent.probes.base import Detection, integer, text
from agent.wire import DevicePoll, Interface

NAME = "interfaces"

IF_ENTRY = "1.3.6.1.2.1.2.2.1"  # IF-MIB::ifEntry
IFX_ENTRY = "1.3.6.1.2.1.31.1.1.1"  # IF-MIB::ifXEntry

# IF-MIB::ifTable columns
IF_INDEX = f"{IF_ENTRY}.1"  # ifIndex
IF_DESCR = f"{IF_ENTRY}.2"  # ifDescr
IF_TYPE = f"{IF_ENTRY}.3"  # ifType (IANAifType)
IF_MTU = f"{IF_ENTRY}.4"  # ifMtu
IF_SPEED = f"{IF_ENTRY}.5"  # ifSpeed (bit/s, saturates at 2^32-1)
IF_PHYS_ADDRESS = f"{IF_ENTRY}.6"  # ifPhysAddress
IF_ADMIN_STATUS = f"{IF_ENTRY}.7"  # ifAdminStatus
IF_OPER_STATUS = f"{IF_ENTRY}.8"  # ifOperStatus
IF_IN_OCTETS = f"{IF_ENTRY}.10"  # ifInOctets
IF_IN_UCAST = f"{IF_ENTRY}.11"  # ifInUcastPkts
IF_IN_DISCARDS = f"{IF_ENTRY}.13"  # ifInDiscards
IF_IN_ERRORS = f"{IF_ENTRY}.14"  # ifInErrors
IF_OUT_OCTETS = f"{IF_ENTRY}.16"  # ifOutOctets
IF_OUT_UCAST = f"{IF_ENTRY}.17"  # ifOutUcastPkts
IF_OUT_DISCARDS = f"{IF_ENTRY}.19"  # ifOutDiscards
IF_OUT_ERRORS = f"{IF_ENTRY}.20"  # ifOutErrors
# IF-MIB::ifXTable columns
IF_NAME = f"{IFX_ENTRY}.1"  # ifName
IF_HC_IN_OCTETS = f"{IFX_ENTRY}.6"  # ifHCInOctets
IF_HC_IN_UCAST = f"{IFX_ENTRY}.7"  # ifHCInUcastPkts
IF_HC_OUT_OCTETS = f"{IFX_ENTRY}.10"  # ifHCOutOctets
IF_HC_OUT_UCAST = f"{IFX_ENTRY}.11"  # ifHCOutUcastPkts
IF_HIGH_SPEED = f"{IFX_ENTRY}.15"  # ifHighSpeed (Mbit/s)
IF_ALIAS = f"{IFX_ENTRY}.18"  # ifAlias

DETECT_ROOTS = (IF_ENTRY, IFX_ENTRY)

COLUMNS: dict[str, str] = {
    "index": IF_INDEX,
    "descr": IF_DESCR,
    "type": IF_TYPE,
    "mtu": IF_MTU,
    "speed": IF_SPEED,
    "mac": IF_PHYS_ADDRESS,
    "admin": IF_ADMIN_STATUS,
    "oper": IF_OPER_STATUS,
    "in_octets": IF_IN_OCTETS,
    "in_ucast": IF_IN_UCAST,
    "in_discards": IF_IN_DISCARDS,
    "in_errors": IF_IN_ERRORS,
    "out_octets": IF_OUT_OCTETS,
    "out_ucast": IF_OUT_UCAST,
    "out_discards": IF_OUT_DISCARDS,
    "out_errors": IF_OUT_ERRORS,
    "name": IF_NAME,
    "hc_in_octets": IF_HC_IN_OCTETS,
    "hc_in_ucast": IF_HC_IN_UCAST,
    "hc_out_octets": IF_HC_OUT_OCTETS,
    "hc_out_ucast": IF_HC_OUT_UCAST,
    "high_speed": IF_HIGH_SPEED,
    "alias": IF_ALIAS,
}

FETCH = FetchSpec(columns=tuple(COLUMNS.values()))

ADMIN_STATUS = {1: "up", 2: "down", 3: "testing"}
OPER_STATUS = {
    1: "up",
    2: "down",
    3: "testing",
    4: "unknown",
    5: "dormant",
    6: "not_present",
    7: "lower_layer_down",
}

#: IANAifType names (snake_case) for the types met in practice; others are reported as the number.
IF_TYPES = {
    1: "other",
    6: "ethernet_csmacd",
    7: "iso88023_csmacd",
    18: "ds1",
    22: "prop_point_to_point_serial",
    23: "ppp",
    24: "software_loopback",
    32: "frame_relay",
    37: "atm",
    53: "prop_virtual",
    54: "prop_multiplexor",
    62: "fast_ether",
    71: "ieee80211",
    108: "ppp_multilink_bundle",
    117: "gigabit_ethernet",
    131: "tunnel",
    134: "atm_sub_interface",
    135: "l2vlan",
    136: "l3ipvlan",
    142: "ip_forward",
    150: "mpls_tunnel",
    161: "ieee8023ad_lag",
    166: "mpls",
    209: "bridge",
    244: "wwan_pp",
    245: "wwan_pp2",
}

_U32_MAX = (1 << 32) - 1
_MAC_TEXT = re.compile(r"^[0-9a-fA-F]{1,2}([:\-. ]?[0-9a-fA-F]{1,2}){5}$")


def detect(d: Detection) -> bool:
    return any(d.has(r) for r in DETECT_ROOTS)


def _counter(value: object) -> int | None:
    n = integer(value)
    return n if n is not None and n >= 0 else None


def _mac(value: object) -> str | None:
    """ifPhysAddress -> ``aa:bb:cc:dd:ee:ff``; empty -> None.

    Some agents send the address as text instead of 6 raw bytes; that text is
    normalised rather than hex-dumped.
    """
    if isinstance(value, str):
        value = value.encode("latin-1", "replace")
    if not isinstance(value, bytes) or not value or not any(value):
        return None
    if len(value) != 6:
        parsed = _mac_from_text(value)
        if parsed is not None:
            value = parsed
    return ":".join(f"{b:02x}" for b in value)


def _mac_from_text(value: bytes) -> bytes | None:
    try:
        s = value.decode("ascii").strip()
    except UnicodeDecodeError:
        return None
    if not _MAC_TEXT.match(s):
        return None
    parts = re.split(r"[:\-. ]", s)
    if len(parts) == 1:  # "001122aabbcc"
        parts = [s[i : i + 2] for i in range(0, 12, 2)]
    return bytes(int(p, 16) for p in parts)


_HEX_TAIL = re.compile(r"^[^\n]{1,16}\n((?:[0-9A-Fa-f]{2}[ \n]*)+)$")


def _label(value: object) -> str | None:
    """Device text, with the "16 chars + newline + hex dump of the rest" split repaired.

    Seen on windows_svr_2019_1809 ifDescr ("Software Loopbac\\n6B 20 49 ..."):
    net-snmp renders a string holding a NUL that way and the recording kept it.
    """
    s = text(value)
    if s is None or "\n" not in s:
        return s
    m = _HEX_TAIL.match(s)
    if m is None:
        return s
    head = s.split("\n", 1)[0]
    tail = bytes.fromhex(re.sub(r"\s+", "", m.group(1)))
    return text(head.encode() + tail)


def _speed(if_speed: object, high_speed: object) -> int | None:
    """ifHighSpeed * 1e6 when present; ifSpeed when it is the more exact reading of the same value.

    ifSpeed saturates at 4294967295 above ~4.3 Gb/s and ifHighSpeed rounds to
    whole Mb/s, so ifSpeed wins only for links it can represent exactly.
    """
    low = integer(if_speed)
    high = integer(high_speed)
    low = low if low is not None and low >= 0 else None
    high = high if high is not None and high >= 0 else None
    if high is not None and high > 0:
        hs = high * 1_000_000
        if low is not None and 0 < low < _U32_MAX and abs(low - hs) < 1_000_000:
            return low
        return hs
    if low is not None and (low > 0 or high is None):
        return low
    return 0 if high == 0 else None


def _type(value: object) -> str | None:
    n = integer(value)
    if n is None:
        return text(value) if isinstance(value, bytes | str) else None
    return IF_TYPES.get(n, str(n))


def _row_index(idx: str) -> int | None:
    return int(idx) if idx.isdigit() else None


def parse(f: Fetched) -> list[Interface]:
    rows = f.table(COLUMNS)
    out: list[Interface] = []
    for idx, row in rows.items():
        index = _row_index(idx)
        if index is None:
            continue  # not an ifIndex: a broken agent's stray OID, not a port
        hc = _counter(row.get("hc_in_octets")) is not None or _counter(row.get("hc_out_octets")) is not None
        if hc:
            in_oct, out_oct = _counter(row.get("hc_in_octets")), _counter(row.get("hc_out_octets"))
            in_uc = _counter(row.get("hc_in_ucast"))
            out_uc = _counter(row.get("hc_out_ucast"))
            # HC octets but no HC packets: the 32-bit packet counters are kept;
            # the collector treats their wrap as a reset (one unknown interval).
            in_uc = in_uc if in_uc is not None else _counter(row.get("in_ucast"))
            out_uc = out_uc if out_uc is not None else _counter(row.get("out_ucast"))
        else:
            in_oct, out_oct = _counter(row.get("in_octets")), _counter(row.get("out_octets"))
            in_uc, out_uc = _counter(row.get("in_ucast")), _counter(row.get("out_ucast"))
        has_counters = any(v is not None for v in (in_oct, out_oct, in_uc, out_uc))
        descr = _label(row.get("descr"))
        admin = integer(row.get("admin"))
        oper = integer(row.get("oper"))
        mtu = integer(row.get("mtu"))
        out.append(
            Interface(
                index=index,
                name=_label(row.get("name")) or descr,
                alias=_label(row.get("alias")),
                descr=descr,
                type=_type(row.get("type")),
                mac=_mac(row.get("mac")),
                mtu=mtu if mtu is not None and mtu >= 0 else None,
                admin_status=None if admin is None else ADMIN_STATUS.get(admin, str(admin)),
                oper_status=None if oper is None else OPER_STATUS.get(oper, str(oper)),
                speed_bps=_speed(row.get("speed"), row.get("high_speed")),
                counter_bits=(64 if hc else 32) if has_counters else None,
                in_octets=in_oct,
                out_octets=out_oct,
                in_ucast_pkts=in_uc,
                out_ucast_pkts=out_uc,
                in_errors=_counter(row.get("in_errors")),
                out_errors=_counter(row.get("out_errors")),
                in_discards=_counter(row.get("in_discards")),
                out_discards=_counter(row.get("out_discards")),
            )
        )
    out.sort(key=lambda i: i.index)
    return out


def apply(section: list[Interface], poll: DevicePoll) -> None:
    poll.interfaces = list(section)
