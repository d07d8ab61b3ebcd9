"""Find SNMP devices in address ranges and draft an agent target file for review.

Cost per address, never a walk: one GET of the system group (silent
addresses stop here, after one short timeout), one GETNEXT over the
identity probe's detection roots (Printer-MIB, UPS-MIB, hrStorage, NAS MIBs
...), one GET of the identity scalars. Kind, vendor and model come from
``agent.probes.identity`` and ``agent.vendors``, as in a normal poll.

Concurrency is bounded (``MAX_CONCURRENCY``): past a few hundred requests
in flight, UDP receive buffers overflow and answers get lost, which looks
exactly like silence. Pure parts (address expansion, naming, the YAML
document) are separate from the sweep so they are tested without sockets.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import yaml

from agent.fetch import Fetched
from agent.probes import identity
from agent.probes.base import Detection, text
from agent.snmp import Credentials, SnmpAuthError, SnmpError, SnmpSession, SnmpTimeout, new_engine
from agent.wire import Device

SYS_DESCR = "1.3.6.1.2.1.1.1.0"  # SNMPv2-MIB::sysDescr.0
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"  # SNMPv2-MIB::sysObjectID.0
SYS_NAME = "1.3.6.1.2.1.1.5.0"  # SNMPv2-MIB::sysName.0

MAX_CONCURRENCY = 200
#: A sweep larger than this is refused: a typo (/8 for /24) would take hours and flood the network.
MAX_ADDRESSES = 65536


class DiscoverError(ValueError):
    """Bad sweep input (address spec, sizes): shown to the user as is."""


@dataclass(frozen=True)
class Found:
    address: str
    port: int
    credentials: Credentials
    device: Device


@dataclass
class SweepResult:
    found: list[Found] = field(default_factory=list)
    silent: int = 0
    #: address -> message for devices that answered but could not be identified (auth errors...)
    problems: dict[str, str] = field(default_factory=dict)


def expand(specs: Iterable[str], *, limit: int = MAX_ADDRESSES) -> list[str]:
    """CIDR (``10.0.0.0/24``), ranges (``10.0.0.5-10.0.0.40`` or ``10.0.0.5-40``) and single
    addresses -> unique addresses in order. Network and broadcast addresses of a CIDR are
    skipped (``hosts()``), a /32 or /31 keeps its addresses."""
    out: dict[str, None] = {}
    for spec in specs:
        for addr in _expand_one(spec.strip()):
            out[addr] = None
            if len(out) > limit:
                raise DiscoverError(f"more than {limit} addresses to sweep; split the ranges")
    return list(out)


def _expand_one(spec: str) -> Iterator[str]:
    if not spec:
        raise DiscoverError("empty address specification")
    try:
        if "/" in spec:
            net = ipaddress.ip_network(spec, strict=False)
            yield from (str(a) for a in (net.hosts() if net.num_addresses > 2 else net))
            return
        if "-" in spec:
            first_text, last_text = spec.split("-", 1)
            first = ipaddress.ip_address(first_text.strip())
            last_text = last_text.strip()
            if last_text.isdigit() and first.version == 4:  # "10.0.0.5-40"
                last_text = first_text.rsplit(".", 1)[0] + "." + last_text
            last = ipaddress.ip_address(last_text)
            if last.version != first.version or int(last) < int(first):
                raise DiscoverError(f"{spec!r}: range end is before its start")
            if int(last) - int(first) >= MAX_ADDRESSES:
                raise DiscoverError(f"{spec!r}: more than {MAX_ADDRESSES} addresses")
            for n in range(int(first), int(last) + 1):
                yield str(ipaddress.ip_address(n))
            return
        yield str(ipaddress.ip_address(spec))
    except ValueError as exc:
        if isinstance(exc, DiscoverError):
            raise
        raise DiscoverError(f"{spec!r} is not an address, CIDR or range: {exc}") from exc


def _slug(value: str) -> str:
    s = re.sub(r"[^A-Za-z0-9_.-]+", "-", value.strip()).strip("-.").lower()
    return s[:63]


def target_name(found: Found, taken: set[str]) -> str:
    """sysName when usable (not empty, not an anonymised ``<private>``), else the address; unique."""
    base = _slug(found.device.sys_name or "") or _slug(found.address)
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    taken.add(name)
    return name


def target_entry(found: Found, name: str) -> dict[str, object]:
    """One entry of the agent's ``targets:`` list (agent.config.Target)."""
    d = found.device
    entry: dict[str, object] = {"name": name, "address": found.address}
    if found.port != 161:
        entry["port"] = found.port
    c = found.credentials
    if c.version == "3":
        v3: dict[str, object] = {"user": c.user, "auth_protocol": c.auth_protocol}
        if c.auth_key:
            v3["auth_key"] = c.auth_key
        if c.priv_protocol != "none":
            v3 |= {"priv_protocol": c.priv_protocol, "priv_key": c.priv_key}
        if c.context:
            v3["context"] = c.context
        entry |= {"version": "3", "v3": v3}
    else:
        entry["community"] = c.community
        if c.version != "2c":
            entry["version"] = c.version
    labels = {"kind": d.kind.value}
    if d.vendor:
        labels["vendor"] = d.vendor
    if d.model:
        labels["model"] = d.model
    if d.sys_location:
        labels["location"] = d.sys_location
    entry["labels"] = labels
    return entry


def targets_document(found: list[Found]) -> str:
    """YAML the user reviews and merges into the agent config (``targets:``)."""
    taken: set[str] = set()
    entries = [target_entry(f, target_name(f, taken)) for f in sorted(found, key=lambda f: _addr_key(f.address))]
    header = (
        "# Drafted by `fleetwatch discover`: review names, labels and credentials before use.\n"
        "# Community strings and SNMPv3 keys are written in clear: protect this file.\n"
    )
    return header + yaml.safe_dump({"targets": entries}, sort_keys=False, allow_unicode=True)


def _addr_key(address: str) -> tuple[int, int]:
    ip = ipaddress.ip_address(address)
    return (ip.version, int(ip))


def _valid_name(value: object) -> str | None:
    s = text(value)
    # Recordings and some devices answer "<private>" when sysName is hidden.
    return None if s is None or (s.startswith("<") and s.endswith(">")) else s


async def identify(session: SnmpSession, address: str, port: int) -> Device | None:
    """None when the address is silent for these credentials; raises SnmpAuthError for v3 key problems."""
    try:
        system = await session.get([SYS_DESCR, SYS_OBJECT_ID, SYS_NAME])
    except SnmpTimeout:
        return None
    if all(v is None for v in system.values()):
        return None
    roots = list(identity.DETECT_ROOTS)
    found = await session.get_next(roots)
    present = frozenset(r for r in roots if (hit := found.get(r)) is not None and hit[0].startswith(r + "."))
    oid = system.get(SYS_OBJECT_ID)
    det = Detection(
        sys_object_id=oid if isinstance(oid, str) else None,
        sys_descr=text(system.get(SYS_DESCR)) or "",
        present=present,
    )
    scalars = await session.get(identity.FETCH.scalars)
    device = identity.parse(Fetched(scalars=scalars), det, address, port)
    return device.model_copy(update={"sys_name": _valid_name(system.get(SYS_NAME))})


async def sweep(
    addresses: list[str],
    credentials: list[Credentials],
    *,
    port: int = 161,
    timeout: float = 1.0,  # noqa: ASYNC109 - per-request SNMP timeout, not a deadline for the sweep
    concurrency: int = 100,
    on_done: Callable[[str], None] | None = None,
) -> SweepResult:
    """Try each credential on each address (first that answers wins), ``concurrency`` addresses at once."""
    if not credentials:
        raise DiscoverError("give at least one community or SNMPv3 user")
    limit = max(1, min(concurrency, MAX_CONCURRENCY))
    engine = new_engine()
    sem = asyncio.Semaphore(limit)
    result = SweepResult()

    async def one(address: str) -> None:
        async with sem:
            try:
                for creds in credentials:
                    session = SnmpSession(engine, address, port, creds, timeout=timeout, retries=0)
                    try:
                        device = await identify(session, address, port)
                    except SnmpAuthError as exc:
                        result.problems[address] = str(exc)
                        continue
                    except SnmpError as exc:
                        result.problems[address] = str(exc)
                        continue
                    if device is not None:
                        result.problems.pop(address, None)
                        result.found.append(Found(address, port, creds, device))
                        return
                if address not in result.problems:
                    result.silent += 1
            finally:
                if on_done is not None:
                    on_done(address)

    await asyncio.gather(*(one(a) for a in addresses))
    result.found.sort(key=lambda f: _addr_key(f.address))
    return result
