"""Printer conformance on the LibreNMS corpus: the real ``fleetwatch poll --json`` against snmpsim.

One snmpsim process serves every recording; each printer recording is polled
once by the CLI (two processes at a time) and checked against LibreNMS's
reading of it (rules in ``tests.corpus.printer_compare``). The other
recordings go through the poller's detect + identity fetch + parse in
process (their full polls are the network/host tests' business).
Figures for the README: ``.venv/bin/python -m tests.corpus.figures``.
"""

from __future__ import annotations

from typing import Any

import pytest

from agent.simulator import Snmpsim
from tests.corpus.lib import corpus_params, identities, librenms, poll_all, recording, recording_names
from tests.corpus.printer_compare import compare_identity, compare_printer

pytestmark = pytest.mark.corpus

PRINTERS = recording_names("printer")
OTHERS = [n for n in recording_names() if n not in PRINTERS]


@pytest.fixture(scope="module")
def polls(corpus_sim: Snmpsim) -> dict[str, dict[str, Any] | Exception]:
    return poll_all(corpus_sim.port, PRINTERS)


@pytest.fixture(scope="module")
def other_identities(corpus_sim: Snmpsim) -> dict[str, dict[str, Any] | Exception]:
    return identities(corpus_sim.port, OTHERS)


def _ok(results: dict[str, dict[str, Any] | Exception], name: str) -> dict[str, Any]:
    result = results[name]
    if isinstance(result, Exception):
        pytest.fail(f"{name}: {type(result).__name__}: {result}")
    return result


@pytest.mark.parametrize("name", corpus_params(PRINTERS))
def test_printer_poll_has_no_errors(polls: dict[str, dict[str, Any] | Exception], name: str) -> None:
    poll = _ok(polls, name)
    assert poll["reachable"] is True
    assert poll["errors"] == []


@pytest.mark.parametrize("name", corpus_params(PRINTERS))
def test_printer_matches_librenms(polls: dict[str, dict[str, Any] | Exception], name: str) -> None:
    poll = _ok(polls, name)
    assert poll["device"]["kind"] == "printer"
    comparison = compare_printer(name, poll, librenms(name), recording(name))
    assert [c for c in comparison.checks if c.area == "supply"], "no supply compared"
    assert [c.detail for c in comparison.failures()] == []


@pytest.mark.parametrize("name", corpus_params(PRINTERS))
def test_printer_identity_matches_librenms(polls: dict[str, dict[str, Any] | Exception], name: str) -> None:
    comparison = compare_identity(name, _ok(polls, name), librenms(name))
    assert [c.detail for c in comparison.failures("kind", "serial")] == []


@pytest.mark.parametrize("name", corpus_params(OTHERS))
def test_other_identity_matches_librenms(other_identities: dict[str, dict[str, Any] | Exception], name: str) -> None:
    comparison = compare_identity(name, _ok(other_identities, name), librenms(name))
    assert [c.detail for c in comparison.failures("kind", "serial")] == []
