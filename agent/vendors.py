"""IANA private enterprise numbers -> vendor names, and what kind of device a sysObjectID implies.

Why a table: sysObjectID (1.3.6.1.4.1.<enterprise>...) is the one identity
field every SNMP agent reports, so the vendor of a device we know nothing
else about comes from here. Numbers are from the IANA registry
(https://www.iana.org/assignments/enterprise-numbers); only vendors whose
devices show up in printer / network / host / storage / UPS fleets are
listed. Names are the ones users know the vendor by today, with the registry
name in a comment where it differs.

``KIND_BY_OID_PREFIX`` maps sysObjectID prefixes to a device kind for
vendors whose product line under that prefix is one kind of device; the
longest matching prefix wins (HP puts printers under 11.2.3.9 and switches
under 11.2.3.7). It is a hint: ``agent.probes.identity.classify`` lets MIB
presence (Printer-MIB, UPS-MIB, ...) speak first.
"""

from __future__ import annotations

from agent.wire import DeviceKind

ENTERPRISE_PREFIX = "1.3.6.1.4.1."

VENDORS: dict[int, str] = {
    # --- printers and multifunction devices
    11: "HP",  # Hewlett-Packard (printers 11.2.3.9, ProCurve switches 11.2.3.7)
    236: "Samsung",
    253: "Xerox",
    297: "Fujifilm",  # registry: Fuji Xerox Co., Ltd. (now FUJIFILM Business Innovation)
    367: "Ricoh",
    641: "Lexmark",
    1129: "Toshiba",  # registry: Toshiba TEC
    1248: "Epson",  # registry: SEIKO EPSON Corp.
    1347: "Kyocera",
    1602: "Canon",
    2001: "Oki",  # registry: OKI Data Corporation
    2385: "Sharp",
    2435: "Brother",
    2699: "Printer Working Group",
    18334: "Konica Minolta",
    # --- network
    9: "Cisco",
    43: "3Com",
    171: "D-Link",
    207: "Allied Telesis",
    890: "Zyxel",
    1916: "Extreme Networks",
    1991: "Brocade",  # registry: Foundry Networks
    2011: "Huawei",
    2620: "Check Point",
    2636: "Juniper",
    3375: "F5",
    4526: "Netgear",
    6027: "Dell Force10",
    6486: "Alcatel-Lucent",
    8741: "SonicWall",
    11863: "TP-Link",
    12356: "Fortinet",
    14179: "Cisco",  # registry: Airespace (Cisco wireless controllers)
    14823: "Aruba",  # registry: Aruba Networks (wireless, ArubaOS)
    14988: "MikroTik",
    25461: "Palo Alto Networks",
    25506: "H3C",
    30065: "Arista",
    41112: "Ubiquiti",
    47196: "HPE Aruba",  # registry: Hewlett Packard Enterprise (ArubaOS-CX switches)
    # --- hosts and servers
    2: "IBM",
    42: "Oracle",  # registry: Sun Microsystems
    63: "Apple",
    232: "HP",  # registry: Compaq (ProLiant / iLO agents)
    311: "Microsoft",
    674: "Dell",
    2021: "Net-SNMP",  # registry: U.C. Davis, ECE Dept. (ucd-snmp)
    6876: "VMware",
    8072: "Net-SNMP",
    10876: "Supermicro",
    # --- storage
    789: "NetApp",
    1139: "Dell EMC",  # registry: EMC Corporation
    6574: "Synology",
    24681: "QNAP",
    # --- power (UPS, PDU)
    318: "APC",  # registry: American Power Conversion Corp. (Schneider Electric)
    476: "Vertiv",  # registry: Liebert Corporation
    534: "Eaton",  # registry: Exide Electronics (Powerware, XUPS-MIB)
    705: "Eaton",  # registry: Merlin Gerin (MGE UPS Systems, now Eaton)
    850: "Tripp Lite",
    1718: "Server Technology",
    3808: "CyberPower",
}

#: sysObjectID prefix -> kind; longest prefix wins.
KIND_BY_OID_PREFIX: dict[str, DeviceKind] = {
    "1.3.6.1.4.1.11.2.3.9": DeviceKind.printer,  # HP JetDirect
    "1.3.6.1.4.1.11.2.3.7": DeviceKind.network,  # HP ProCurve / Aruba switches
    "1.3.6.1.4.1.236.11": DeviceKind.printer,  # Samsung printers
    "1.3.6.1.4.1.253": DeviceKind.printer,
    "1.3.6.1.4.1.297": DeviceKind.printer,
    "1.3.6.1.4.1.367": DeviceKind.printer,
    "1.3.6.1.4.1.641": DeviceKind.printer,
    "1.3.6.1.4.1.674.10898": DeviceKind.printer,  # Dell laser printers (seen on Dell S5830dn)
    "1.3.6.1.4.1.674.10892": DeviceKind.host,  # Dell servers (OpenManage / iDRAC)
    "1.3.6.1.4.1.1129": DeviceKind.printer,
    "1.3.6.1.4.1.1248": DeviceKind.printer,
    "1.3.6.1.4.1.1347": DeviceKind.printer,
    "1.3.6.1.4.1.1602": DeviceKind.printer,
    "1.3.6.1.4.1.2001": DeviceKind.printer,
    "1.3.6.1.4.1.2385": DeviceKind.printer,
    "1.3.6.1.4.1.2435": DeviceKind.printer,
    "1.3.6.1.4.1.18334": DeviceKind.printer,
    "1.3.6.1.4.1.9": DeviceKind.network,
    "1.3.6.1.4.1.43": DeviceKind.network,
    "1.3.6.1.4.1.171": DeviceKind.network,
    "1.3.6.1.4.1.207": DeviceKind.network,
    "1.3.6.1.4.1.890": DeviceKind.network,
    "1.3.6.1.4.1.1916": DeviceKind.network,
    "1.3.6.1.4.1.1991": DeviceKind.network,
    "1.3.6.1.4.1.2011": DeviceKind.network,
    "1.3.6.1.4.1.2620": DeviceKind.network,
    "1.3.6.1.4.1.2636": DeviceKind.network,
    "1.3.6.1.4.1.3375": DeviceKind.network,
    "1.3.6.1.4.1.4526": DeviceKind.network,
    "1.3.6.1.4.1.6027": DeviceKind.network,
    "1.3.6.1.4.1.6486": DeviceKind.network,
    "1.3.6.1.4.1.8741": DeviceKind.network,
    "1.3.6.1.4.1.11863": DeviceKind.network,
    "1.3.6.1.4.1.12356": DeviceKind.network,
    "1.3.6.1.4.1.14179": DeviceKind.network,
    "1.3.6.1.4.1.14823": DeviceKind.network,
    "1.3.6.1.4.1.14988": DeviceKind.network,
    "1.3.6.1.4.1.25461": DeviceKind.network,
    "1.3.6.1.4.1.25506": DeviceKind.network,
    "1.3.6.1.4.1.30065": DeviceKind.network,
    "1.3.6.1.4.1.41112": DeviceKind.network,
    "1.3.6.1.4.1.47196": DeviceKind.network,
    "1.3.6.1.4.1.311": DeviceKind.host,
    "1.3.6.1.4.1.2021": DeviceKind.host,
    "1.3.6.1.4.1.8072": DeviceKind.host,  # net-snmp: Linux/BSD, unless a NAS/UPS MIB says otherwise
    "1.3.6.1.4.1.6876": DeviceKind.host,
    "1.3.6.1.4.1.789": DeviceKind.storage,
    "1.3.6.1.4.1.1139": DeviceKind.storage,
    "1.3.6.1.4.1.6574": DeviceKind.storage,
    "1.3.6.1.4.1.24681": DeviceKind.storage,
    "1.3.6.1.4.1.318": DeviceKind.power,
    "1.3.6.1.4.1.476": DeviceKind.power,
    "1.3.6.1.4.1.534": DeviceKind.power,
    "1.3.6.1.4.1.705": DeviceKind.power,
    "1.3.6.1.4.1.850": DeviceKind.power,
    "1.3.6.1.4.1.1718": DeviceKind.power,
    "1.3.6.1.4.1.3808": DeviceKind.power,
}


def enterprise_of(sys_object_id: str | None) -> int | None:
    """Enterprise number of a sysObjectID (leading dot tolerated), ``None`` when not under 1.3.6.1.4.1."""
    oid = (sys_object_id or "").strip().lstrip(".")
    if not oid.startswith(ENTERPRISE_PREFIX):
        return None
    head = oid[len(ENTERPRISE_PREFIX) :].split(".", 1)[0]
    return int(head) if head.isdigit() else None


def vendor_name(sys_object_id: str | None) -> str | None:
    number = enterprise_of(sys_object_id)
    return None if number is None else VENDORS.get(number)


def kind_hint(sys_object_id: str | None) -> DeviceKind | None:
    """Kind implied by the longest known sysObjectID prefix, or ``None``."""
    oid = (sys_object_id or "").strip().lstrip(".")
    best: tuple[int, DeviceKind] | None = None
    for prefix, kind in KIND_BY_OID_PREFIX.items():
        if (oid == prefix or oid.startswith(prefix + ".")) and (best is None or len(prefix) > best[0]):
            best = (len(prefix), kind)
    return best[1] if best else None
