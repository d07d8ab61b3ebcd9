"""Start and stop snmpsim serving ``.snmprec`` recordings on loopback.

Used by ``make demo`` and by tests: both need real SNMP agents, never mocks.
snmpsim picks the recording by community (file stem) and, for SNMPv3, by
context name. It refuses to run as root unless ``SNMPSIM_ALLOW_ROOT`` is set,
and needs a writable cache directory.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _endpoint_option(host: str, port: int) -> str:
    if ":" in host:  # IPv6 (loopback ::1 in tests)
        return f"--agent-udpv6-endpoint=[{host}]:{port}"
    return f"--agent-udpv4-endpoint={host}:{port}"


def free_udp_port(host: str = "127.0.0.1") -> int:
    with socket.socket(_family(host), socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _responder_binary() -> str:
    exe = Path(sys.executable).with_name("snmpsim-command-responder")
    return str(exe) if exe.exists() else "snmpsim-command-responder"


class Snmpsim:
    """A running ``snmpsim-command-responder`` process (context manager)."""

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        endpoints: list[tuple[str, int]] | None = None,
        *,
        v3_users: list[dict[str, str]] | None = None,
        log_path: str | os.PathLike[str] | None = None,
        variation_modules_dir: str | os.PathLike[str] | None = None,
        extra_engines: list[tuple[str | os.PathLike[str], list[tuple[str, int]]]] | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.endpoints = endpoints or [("127.0.0.1", free_udp_port())]
        self.v3_users = v3_users or []
        self.log_path = Path(log_path) if log_path else None
        self.variation_modules_dir = variation_modules_dir
        # More SNMP engines in the same process, each with its own data dir and endpoints: lets one
        # process stand for many devices that each answer on their own address.
        self.extra_engines = [(Path(d), list(eps)) for d, eps in (extra_engines or [])]
        self.proc: subprocess.Popen[bytes] | None = None
        self._cache = tempfile.mkdtemp(prefix="fw-snmpsim-cache-")

    @property
    def host(self) -> str:
        return self.endpoints[0][0]

    @property
    def port(self) -> int:
        return self.endpoints[0][1]

    def command(self) -> list[str]:
        cmd = [
            _responder_binary(),
            f"--data-dir={self.data_dir}",
            f"--cache-dir={self._cache}",
        ]
        if self.variation_modules_dir:
            cmd.append(f"--variation-modules-dir={self.variation_modules_dir}")
        for user in self.v3_users:
            cmd.append(f"--v3-user={user['user']}")
            if user.get("auth_key"):
                cmd += [f"--v3-auth-key={user['auth_key']}", f"--v3-auth-proto={user.get('auth_proto', 'SHA')}"]
            if user.get("priv_key"):
                cmd += [f"--v3-priv-key={user['priv_key']}", f"--v3-priv-proto={user.get('priv_proto', 'AES')}"]
        for host, port in self.endpoints:
            cmd.append(_endpoint_option(host, port))
        for data_dir, endpoints in self.extra_engines:
            cmd += ["--v3-engine-id=auto", f"--data-dir={data_dir}"]
            cmd += [_endpoint_option(host, port) for host, port in endpoints]
        return cmd

    def start(self, wait_community: str | None = None, timeout: float = 30.0) -> Snmpsim:
        env = dict(os.environ, SNMPSIM_ALLOW_ROOT="true")
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(self.command(), stdout=out, stderr=subprocess.STDOUT, env=env)
        if wait_community:
            self.wait_ready(wait_community, timeout)
        return self

    def wait_ready(self, community: str, timeout: float = 30.0) -> None:
        """Block until every endpoint answers a GET for sysDescr with ``community``."""
        deadline = time.monotonic() + timeout
        for host, port in self.endpoints:
            while True:
                if self.proc is not None and self.proc.poll() is not None:
                    raise RuntimeError(f"snmpsim exited with {self.proc.returncode}: {' '.join(self.command())}")
                if _answers(host, port, community):
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"snmpsim on {host}:{port} did not answer within {timeout}s")
                time.sleep(0.2)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        shutil.rmtree(self._cache, ignore_errors=True)

    def __enter__(self) -> Snmpsim:
        return self.start() if self.proc is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _answers(host: str, port: int, community: str) -> bool:
    """A hand-built SNMPv2c GET for sysUpTime.0: avoids importing pysnmp just to wait."""
    c = community.encode()
    oid = bytes([0x06, 0x08, 0x2B, 6, 1, 2, 1, 1, 3, 0])
    varbind = b"\x30" + bytes([len(oid) + 2]) + oid + b"\x05\x00"
    vbl = b"\x30" + bytes([len(varbind)]) + varbind
    pdu_body = b"\x02\x01\x01" + b"\x02\x01\x00" + b"\x02\x01\x00" + vbl
    pdu = b"\xa0" + bytes([len(pdu_body)]) + pdu_body
    msg_body = b"\x02\x01\x01" + b"\x04" + bytes([len(c)]) + c + pdu
    msg = b"\x30" + bytes([len(msg_body)]) + msg_body
    with socket.socket(_family(host), socket.SOCK_DGRAM) as s:
        s.settimeout(0.5)
        try:
            s.sendto(msg, (host, port))
            data, _ = s.recvfrom(65535)
            return len(data) > 0
        except OSError:
            return False
