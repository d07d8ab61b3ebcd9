"""The lean v1/v2c path and pysnmp's, side by side against the same snmpsim: same answers, same requests.

``SnmpSession(..., use_pysnmp=True)`` sends the same PDUs through pysnmp's engine and pyasn1 (the path
SNMPv3 keeps); everything above ``_request`` is shared, so any difference here is a codec or transport
difference. Whole polls (detection, identity, every probe) are compared too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.poller import TargetState, poll_target
from agent.probes import printer
from agent.simulator import Snmpsim
from agent.snmp import Credentials, SnmpSession, new_engine

RECORDINGS = Path(__file__).resolve().parents[2] / "deploy" / "demo" / "recordings"
DEVICES = ["hp-clj-m477", "kyocera-taskalfa-2553ci", "cisco-c9200l-24p", "linux-files01"]
SCALARS = ["1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.2.0", "1.3.6.1.2.1.1.3.0", "1.3.6.1.2.1.1.5.0", "1.3.6.1.2.1.1.99.0"]
NEXT = ["1.3.6.1.2.1.1", "1.3.6.1.2.1.43.11.1.1.9", "1.3.6.1.2.1.4.20.1.1", "1.3.6.1.6"]
COLUMNS = [["1.3.6.1.2.1.43"], ["1.3.6.1.2.1.2.2", "1.3.6.1.2.1.31.1.1"], list(printer.FETCH.columns)]


@pytest.fixture(scope="module")
def sim() -> Iterator[Snmpsim]:
    with Snmpsim(RECORDINGS) as s:
        s.wait_ready(DEVICES[0])
        yield s


def _exchange(sim: Snmpsim, community: str, version: str, use_pysnmp: bool, max_varbinds: int) -> dict[str, Any]:
    async def main() -> dict[str, Any]:
        engine = new_engine()
        s = SnmpSession(
            engine,
            sim.host,
            sim.port,
            Credentials(version=version, community=community),  # type: ignore[arg-type]
            timeout=3,
            retries=1,
            max_varbinds=max_varbinds,
            use_pysnmp=use_pysnmp,
        )
        out: dict[str, Any] = {"get": await s.get(SCALARS), "next": await s.get_next(NEXT)}
        for cols in COLUMNS:
            out[",".join(cols[:2])] = await s.walk_columns(cols)
        out["requests"], out["varbinds"] = s.requests, s.varbinds
        engine.close_dispatcher()
        return out

    return asyncio.run(main())


@pytest.mark.parametrize("community", DEVICES)
@pytest.mark.parametrize(
    ("version", "max_varbinds"),
    [("2c", 60), ("2c", 7), ("1", 60)],
    ids=["v2c", "v2c-small-bulk", "v1-getnext-walks"],
)
def test_both_backends_read_the_same(sim: Snmpsim, community: str, version: str, max_varbinds: int):
    lean = _exchange(sim, community, version, False, max_varbinds)
    reference = _exchange(sim, community, version, True, max_varbinds)
    assert lean == reference
    assert lean["get"]["1.3.6.1.2.1.1.99.0"] is None
    assert any(lean[k] for k in lean if k.startswith("1.3.6.1.2.1.2.2"))  # not comparing two empty results


def test_whole_polls_are_the_same(sim: Snmpsim):
    async def polls(use_pysnmp: bool) -> list[dict[str, Any]]:
        engine = new_engine()
        out = []
        for name in DEVICES:
            s = SnmpSession(engine, sim.host, sim.port, Credentials(community=name), timeout=3, use_pysnmp=use_pysnmp)
            state = TargetState()
            for _ in range(2):  # first poll (detection + identity) and a steady one
                poll = (await poll_target(s, name, state)).model_dump(mode="json")
                for volatile in ("ts", "duration_s"):
                    poll.pop(volatile)
                out.append(poll)
        engine.close_dispatcher()
        return out

    lean, reference = asyncio.run(polls(False)), asyncio.run(polls(True))
    assert lean == reference
    assert all(p["reachable"] and not p["errors"] for p in lean)
