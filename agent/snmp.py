"""SNMP I/O on top of pysnmp 7 (asyncio), reduced to what probes need.

Why a wrapper: probes must never see pysnmp objects (parsers are tested on
plain values), MIB lookups cost ~2.5x CPU so everything here is numeric
(``lookupMib=False``), and walking several table columns in one GETBULK
stream is far cheaper than a subtree walk per column.

Values handed to parsers: ``int`` for every integer type, ``bytes`` for
OCTET STRING, ``str`` for OBJECT IDENTIFIER (dotted) and IpAddress (dotted
quad), ``None`` for noSuchObject / noSuchInstance.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from pyasn1.type import univ
from pysnmp.entity.rfc3413 import cmdgen
from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    SnmpEngine,
    UdpTransportTarget,
    UsmUserData,
)
from pysnmp.hlapi.v3arch.asyncio import auth as _auth
from pysnmp.hlapi.v3arch.asyncio.cmdgen import LCD as _LCD
from pysnmp.proto import errind, rfc1902, rfc1905

Value = int | bytes | str | None
Oid = tuple[int, ...]
#: What ``SnmpSession._request`` hands back: (errorIndication, errorStatus, errorIndex, [(ObjectName, value)]).
Response = tuple[object, object, object, list[tuple[univ.ObjectIdentifier, object]]]

_NULL = rfc1902.Null("")
# pysnmp's command generators, stateless: one of each serves every request of the process.
_GET = cmdgen.GetCommandGenerator()
_NEXT = cmdgen.NextCommandGenerator()
_BULK = cmdgen.BulkCommandGenerator()

#: Strings longer than this are cut: a misbehaving device must not blow up memory or logs.
MAX_VALUE_BYTES = 65536
#: A table with more rows than this is cut and reported: protects against looping agents.
MAX_ROWS_PER_COLUMN = 20000


class SnmpError(Exception):
    """Root of every SNMP failure a probe or poller may see."""


class SnmpTimeout(SnmpError):
    pass


class SnmpAuthError(SnmpError):
    """SNMPv3 user/key problems: named clearly instead of surfacing as a timeout."""


class SnmpProtocolError(SnmpError):
    """The device answered something that breaks the protocol (loops, bad PDUs)."""


AUTH_PROTOCOLS = {
    "none": _auth.USM_AUTH_NONE,
    "md5": _auth.USM_AUTH_HMAC96_MD5,
    "sha": _auth.USM_AUTH_HMAC96_SHA,
    "sha224": _auth.USM_AUTH_HMAC128_SHA224,
    "sha256": _auth.USM_AUTH_HMAC192_SHA256,
    "sha384": _auth.USM_AUTH_HMAC256_SHA384,
    "sha512": _auth.USM_AUTH_HMAC384_SHA512,
}
PRIV_PROTOCOLS = {
    "none": _auth.USM_PRIV_NONE,
    "des": _auth.USM_PRIV_CBC56_DES,
    "3des": _auth.USM_PRIV_CBC168_3DES,
    "aes": _auth.USM_PRIV_CFB128_AES,
    "aes128": _auth.USM_PRIV_CFB128_AES,
    "aes192": _auth.USM_PRIV_CFB192_AES,
    "aes256": _auth.USM_PRIV_CFB256_AES,
}

#: SNMPv3 error indications (pysnmp classes, checked against snmpsim) -> what the user must fix.
#: Matched by class: str() of an indication is its description ("Wrong SNMP PDU digest"), not its name.
_AUTH_PROBLEMS: tuple[tuple[type[errind.ErrorIndication], str], ...] = (
    (errind.WrongDigest, "wrong authentication key or protocol"),
    (errind.AuthenticationFailure, "wrong authentication key or protocol"),
    (errind.DecryptionError, "wrong privacy key or protocol"),
    (errind.UnknownUserName, "unknown user"),
    (errind.UnknownSecurityName, "unknown user"),
    (errind.UnsupportedSecurityLevel, "security level does not match the user's (noAuthNoPriv/authNoPriv/authPriv)"),
    (errind.NotInTimeWindow, "not in time window (device clock/engine boots)"),
    (errind.UnknownEngineID, "unknown engine ID"),
)


@dataclass(frozen=True)
class Credentials:
    version: Literal["1", "2c", "3"] = "2c"
    community: str = "public"
    user: str | None = None
    auth_protocol: str = "none"
    auth_key: str | None = None
    priv_protocol: str = "none"
    priv_key: str | None = None
    context: str = ""

    def __repr__(self) -> str:  # never leak secrets into logs
        who = self.user if self.version == "3" else "community=***"
        return f"Credentials(v{self.version}, {who})"

    def auth_data(self) -> CommunityData | UsmUserData:
        if self.version == "3":
            return UsmUserData(
                self.user or "",
                authKey=self.auth_key,
                privKey=self.priv_key,
                authProtocol=AUTH_PROTOCOLS[self.auth_protocol],
                privProtocol=PRIV_PROTOCOLS[self.priv_protocol],
            )
        return CommunityData(self.community, mpModel=0 if self.version == "1" else 1)


def parse_oid(text: str) -> Oid:
    return tuple(int(p) for p in text.strip(".").split("."))


def oid_text(oid: Oid) -> str:
    return ".".join(map(str, oid))


def to_python(value: object) -> Value:
    """pysnmp value -> plain Python (see module docstring)."""
    if isinstance(value, rfc1905.NoSuchObject | rfc1905.NoSuchInstance | rfc1905.EndOfMibView):
        return None
    if isinstance(value, rfc1902.IpAddress):
        return ".".join(str(b) for b in value.asOctets())
    if isinstance(value, univ.ObjectIdentifier):
        return str(value)
    if isinstance(value, univ.OctetString):
        raw = bytes(value.asOctets())
        return raw[:MAX_VALUE_BYTES]
    if isinstance(value, univ.Integer):
        return int(value)
    if isinstance(value, univ.Null):
        return None
    return str(value)


class SnmpSession:
    """One device's connection parameters on the agent's shared engine."""

    def __init__(
        self,
        engine: SnmpEngine,
        address: str,
        port: int = 161,
        credentials: Credentials | None = None,
        *,
        timeout: float = 2.0,
        retries: int = 1,
        max_varbinds: int = 60,
    ) -> None:
        self.engine = engine
        self.address = address
        self.port = port
        self.credentials = credentials or Credentials()
        self.timeout = timeout
        self.retries = retries
        self.max_varbinds = max_varbinds
        self._target: UdpTransportTarget | None = None
        self._addr_name: str | None = None
        self._auth = self.credentials.auth_data()
        self._context = ContextData(contextName=self.credentials.context)
        self.requests = 0
        self.varbinds = 0

    @property
    def name(self) -> str:
        return f"{self.address}:{self.port}"

    async def _transport(self) -> UdpTransportTarget:
        if self._target is None:
            try:
                self._target = await UdpTransportTarget.create(
                    (self.address, self.port), timeout=self.timeout, retries=self.retries
                )
            except Exception as exc:  # DNS failure, bad address
                raise SnmpError(f"{self.name}: cannot resolve address: {exc}") from exc
        return self._target

    async def _request(self, kind: Literal["get", "next", "bulk"], oids: list[Oid], repetitions: int = 0) -> Response:
        """Send one PDU through pysnmp's engine below its high-level API.

        Why not ``get_cmd``/``bulk_cmd``: they resolve every requested OID against the MIB view even with
        ``lookupMib=False`` (~300 us per OID: 40% of a printer poll's CPU, bench/poll) and re-run the
        target configuration on every call. The engine, its message processing, retries and timeouts are
        the same; responses are the raw ``(ObjectName, value)`` pairs ``lookupMib=False`` gave.
        """
        target = await self._transport()
        addr_name = self._addr_name
        if addr_name is None:
            addr_name, _ = _LCD.configure(self.engine, self._auth, target, self._context.contextName)
            # SNMPv3: LCD re-registers the user when another session changed its keys; stay on the per-call path.
            if isinstance(self._auth, CommunityData):
                self._addr_name = addr_name
        self.requests += 1
        future: asyncio.Future[Response] = asyncio.get_running_loop().create_future()

        def done(_engine, _handle, err_ind, err_status, err_index, vbs, _ctx) -> None:  # type: ignore[no-untyped-def]
            if not future.done():
                future.set_result((err_ind, err_status, err_index, vbs))

        varbinds = [(rfc1902.ObjectName(o), _NULL) for o in oids]
        engine_id, context = self._context.contextEngineId, self._context.contextName
        if kind == "bulk":
            _BULK.send_varbinds(self.engine, addr_name, engine_id, context, 0, repetitions, varbinds, done)
        elif kind == "next":
            _NEXT.send_varbinds(self.engine, addr_name, engine_id, context, varbinds, done)
        else:
            _GET.send_varbinds(self.engine, addr_name, engine_id, context, varbinds, done)
        return await future

    def _raise_for(self, error_indication: object) -> None:
        text = str(error_indication)
        for kind, problem in _AUTH_PROBLEMS:
            if isinstance(error_indication, kind):
                user = self.credentials.user or ""
                raise SnmpAuthError(f"{self.name}: SNMPv3 user {user!r}: {problem} ({text})")
        if isinstance(error_indication, errind.EncryptionError):
            raise SnmpError(f"{self.name}: SNMPv3 privacy (DES/AES) unavailable: install the 'cryptography' package")
        if "timed out" in text.lower() or "timeout" in text.lower():
            raise SnmpTimeout(f"{self.name}: no response after {self.retries + 1} attempt(s) of {self.timeout:g}s")
        raise SnmpError(f"{self.name}: {text}")

    async def get(self, oids: Iterable[str]) -> dict[str, Value]:
        """GET scalars; missing objects come back as ``None`` (also on SNMPv1)."""
        wanted = [o.strip(".") for o in oids]
        out: dict[str, Value] = {}
        pending = list(wanted)
        while pending:
            chunk, pending = pending[: self.max_varbinds], pending[self.max_varbinds :]
            out.update(await self._get_chunk(chunk))
        return out

    async def _get_chunk(self, chunk: list[str]) -> dict[str, Value]:
        err_ind, err_status, err_index, vbs = await self._request("get", [parse_oid(o) for o in chunk])
        if err_ind:
            self._raise_for(err_ind)
        if err_status:
            status = str(err_status.prettyPrint() if hasattr(err_status, "prettyPrint") else err_status)
            # SNMPv1 answers a GET with one missing OID by failing the whole PDU.
            if status == "noSuchName" and int(err_index) > 0 and len(chunk) > 0:
                bad = int(err_index) - 1
                rest = chunk[:bad] + chunk[bad + 1 :]
                result = await self._get_chunk(rest) if rest else {}
                result[chunk[bad]] = None
                return result
            if status == "tooBig" and len(chunk) > 1:
                half = len(chunk) // 2
                return {**await self._get_chunk(chunk[:half]), **await self._get_chunk(chunk[half:])}
            raise SnmpProtocolError(f"{self.name}: GET failed: {status}")
        self.varbinds += len(vbs)
        result: dict[str, Value] = {}
        for req, (_, value) in zip(chunk, vbs, strict=False):
            result[req] = to_python(value)
        return result

    async def get_next(self, oids: Iterable[str]) -> dict[str, tuple[str, Value] | None]:
        """One GETNEXT per requested OID in a single PDU: cheap presence tests."""
        req = [o.strip(".") for o in oids]
        err_ind, err_status, _err_index, vbs = await self._request("next", [parse_oid(o) for o in req])
        if err_ind:
            self._raise_for(err_ind)
        if err_status:
            status = str(err_status.prettyPrint() if hasattr(err_status, "prettyPrint") else err_status)
            if status == "noSuchName" and len(req) > 1:  # v1 end of MIB for one of them
                out: dict[str, tuple[str, Value] | None] = {}
                for o in req:
                    try:
                        out.update(await self.get_next([o]))
                    except SnmpProtocolError:
                        out[o] = None
                return out
            if status == "noSuchName":
                return {req[0]: None}
            raise SnmpProtocolError(f"{self.name}: GETNEXT failed: {status}")
        self.varbinds += len(vbs)
        out = {}
        for r, (oid, value) in zip(req, vbs, strict=False):
            out[r] = None if isinstance(value, rfc1905.EndOfMibView) else (str(oid), to_python(value))
        return out

    async def walk_columns(self, columns: Iterable[str]) -> dict[str, dict[str, Value]]:
        """Walk several table columns (or subtrees) together with GETBULK.

        Returns ``{column: {index_suffix: value}}``. Each column stops at the
        end of its own subtree; a device that returns a non-increasing OID is
        a protocol error, not an endless loop.
        """
        roots = [c.strip(".") for c in dict.fromkeys(columns)]
        result: dict[str, dict[str, Value]] = {r: {} for r in roots}
        if not roots:
            return result
        prefixes = {r: parse_oid(r) for r in roots}
        cursors: dict[str, Oid] = dict(prefixes)
        active = list(roots)
        max_varbinds = self.max_varbinds
        v1 = self.credentials.version == "1"
        while active:
            per_column = max(1, max_varbinds // len(active))
            batch = active[: max(1, max_varbinds)]
            vb_req = [cursors[c] for c in batch]
            if v1:
                err_ind, err_status, err_index, vbs = await self._request("next", vb_req)
            else:
                err_ind, err_status, err_index, vbs = await self._request("bulk", vb_req, per_column)
            if err_ind:
                self._raise_for(err_ind)
            if err_status:
                status = str(err_status.prettyPrint() if hasattr(err_status, "prettyPrint") else err_status)
                if status == "tooBig" and max_varbinds > 1:
                    max_varbinds = max(1, max_varbinds // 2)
                    continue
                if status == "noSuchName" and v1:
                    # v1 signals end of MIB this way; retire the offending column.
                    bad = int(err_index) - 1
                    active.remove(batch[bad if 0 <= bad < len(batch) else 0])
                    continue
                raise SnmpProtocolError(f"{self.name}: GETBULK failed: {status}")
            self.varbinds += len(vbs)
            if not vbs:
                raise SnmpProtocolError(f"{self.name}: empty GETBULK response")
            last_seen = max((tuple(o) for o, v in vbs if not isinstance(v, rfc1905.EndOfMibView)), default=())
            finished: set[str] = set()
            progressed: set[str] = set()
            # RFC 3416 4.2.3 lets an agent cut a GETBULK response short (message size): columns it did not
            # reach this time are not finished, they are asked again.
            covered = {batch[pos % len(batch)] for pos in range(len(vbs))}
            for pos, (oid_obj, value) in enumerate(vbs):
                col = batch[pos % len(batch)]
                if col in finished:
                    continue
                if isinstance(value, rfc1905.EndOfMibView):
                    _check_end_of_mib(self.name, tuple(oid_obj), last_seen)
                    finished.add(col)
                    continue
                oid = tuple(oid_obj)
                prefix = prefixes[col]
                if oid[: len(prefix)] != prefix or len(oid) == len(prefix):
                    finished.add(col)
                    continue
                if oid <= cursors[col]:
                    raise SnmpProtocolError(
                        f"{self.name}: agent returned non-increasing OID {oid_text(oid)} after {oid_text(cursors[col])}"
                    )
                cursors[col] = oid
                progressed.add(col)
                rows = result[col]
                rows[oid_text(oid[len(prefix) :])] = to_python(value)
                if len(rows) >= MAX_ROWS_PER_COLUMN:
                    raise SnmpProtocolError(f"{self.name}: more than {MAX_ROWS_PER_COLUMN} rows under {col}")
            for col in batch:
                if col in finished or (col in covered and col not in progressed):
                    active.remove(col)
        return result


def _check_end_of_mib(name: str, end: Oid, last_seen: Oid) -> None:
    """endOfMibView says nothing exists after ``end``; a greater name in the same answer contradicts it.

    Seen as a fault of embedded stacks that end a view at an internal table boundary and then go on
    (tests/support/bad_agent.py mode ``eom``): trusting it would silently cut a table short.
    """
    if last_seen > end:
        raise SnmpProtocolError(
            f"{name}: endOfMibView after {oid_text(end)} although the agent returned {oid_text(last_seen)}"
        )


def new_engine() -> SnmpEngine:
    """One engine per agent process: it owns the UDP socket and caches."""
    return SnmpEngine()
