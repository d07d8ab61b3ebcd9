"""Shared access to the LibreNMS corpus (``../shared/corpus/librenms``) for conformance tests and figures.

The corpus is test data kept outside the repository (GPL, real devices); every
user of it goes through here so that a missing corpus is one clear skip reason,
and so that all recordings are served by one snmpsim process and polled the
way a user would: ``fleetwatch poll HOST --port P --community NAME --json``.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from agent.snmprec import Recording

#: ``FLEETWATCH_CORPUS`` overrides the default location beside the repository.
CORPUS = Path(os.environ.get("FLEETWATCH_CORPUS", Path(__file__).resolve().parents[3] / "shared/corpus/librenms"))
SKIP_REASON = f"LibreNMS corpus not found at {CORPUS} (set FLEETWATCH_CORPUS or check out ../shared/corpus)"


_VALID_LINE = re.compile(r"^[0-9.]+\|")


def serving_copy(target: Path) -> Path:
    """Copy the recordings into ``target`` (a temp dir, never the repository) without unparsable lines.

    windows_svr_2019_1809 has OIDs anonymised to "...10.xx.0.48"; snmpsim raises on
    them and silently drops every GETNEXT that lands past them, so a poll times out.
    Those lines carry nothing we read; snmpsim takes the community from the file
    stem, so copies keep their names.
    """
    for path in sorted(CORPUS.glob("*.snmprec")):
        lines = path.read_text(encoding="utf-8", errors="surrogateescape").splitlines(keepends=True)
        good = [ln for ln in lines if _VALID_LINE.match(ln) or ln.startswith("#")]
        (target / path.name).write_text("".join(good), encoding="utf-8", errors="surrogateescape")
    return target


def corpus_available() -> bool:
    return CORPUS.is_dir() and any(CORPUS.glob("*.snmprec"))


def recording_names(librenms_type: str | None = None) -> list[str]:
    """Stems with both a recording and LibreNMS's json; ``librenms_type`` filters on os.discovery type."""
    if not corpus_available():
        return []
    names = sorted(p.stem for p in CORPUS.glob("*.snmprec") if p.with_suffix(".json").exists())
    if librenms_type is None:
        return names
    return [n for n in names if librenms_os(n).get("type") == librenms_type]


def corpus_params(names: list[str]) -> list[Any]:
    """pytest params for ``names``; one skipped param with the reason when the corpus is absent."""
    if not names:
        return [pytest.param(None, marks=pytest.mark.skip(reason=SKIP_REASON), id="no-corpus")]
    return [pytest.param(n, id=n) for n in names]


@cache
def librenms(name: str) -> dict[str, Any]:
    """LibreNMS's reading of one recording (module dumps: os, printer-supplies, sensors, ports, ...)."""
    return json.loads((CORPUS / f"{name}.json").read_text(encoding="utf-8"))


def librenms_os(name: str) -> dict[str, Any]:
    devices = librenms(name).get("os", {}).get("discovery", {}).get("devices", [])
    return devices[0] if devices else {}


@cache
def recording(name: str) -> Recording:
    return Recording.load(CORPUS / f"{name}.snmprec")


def fleetwatch_exe() -> list[str]:
    exe = Path(sys.executable).with_name("fleetwatch")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "collector.cli"]


def poll_json(port: int, community: str, *, host: str = "127.0.0.1", timeout: float = 60.0) -> dict[str, Any]:
    """Run ``fleetwatch poll --json`` against snmpsim; a failed run raises with its stderr."""
    cmd = [*fleetwatch_exe(), "poll", host, "--port", str(port), "--community", community, "--json"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout)


def poll_all(port: int, names: list[str], *, workers: int = 2) -> dict[str, dict[str, Any] | Exception]:
    """Poll every recording once, a few CLI processes at a time; failures are returned, not raised."""

    def one(name: str) -> dict[str, Any] | Exception:
        try:
            return poll_json(port, name)
        except Exception as exc:  # noqa: BLE001 - reported per recording by the tests
            return exc

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return dict(zip(names, pool.map(one, names), strict=True))


def identities(port: int, names: list[str], *, host: str = "127.0.0.1") -> dict[str, dict[str, Any] | Exception]:
    """Identity only (the poller's detect + identity FETCH + parse), in process: cheap for big recordings.

    Returns ``{"device": Device as JSON}`` per name, shaped like a poll, or the exception.
    """
    from agent.poller import detect, fetch
    from agent.probes import identity
    from agent.snmp import Credentials, SnmpSession, new_engine

    async def one(engine: Any, name: str) -> dict[str, Any] | Exception:
        session = SnmpSession(engine, host, port, Credentials(community=name))
        try:
            det = await detect(session)
            device = identity.parse(await fetch(session, identity.FETCH), det, host, port)
        except Exception as exc:  # noqa: BLE001 - reported per recording by the tests
            return exc
        return {"device": device.model_dump(mode="json")}

    async def run() -> list[dict[str, Any] | Exception]:
        engine = new_engine()
        return [await one(engine, n) for n in names]

    return dict(zip(names, asyncio.run(run()), strict=True))
