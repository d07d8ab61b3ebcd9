"""Fixtures for tests that read the LibreNMS corpus; helpers live in ``tests.corpus.lib``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agent.simulator import Snmpsim
from tests.corpus.lib import CORPUS, SKIP_REASON, corpus_available, recording_names


@pytest.fixture(scope="session")
def corpus_sim() -> Iterator[Snmpsim]:
    """One snmpsim process serving every recording of the corpus (community = recording stem)."""
    if not corpus_available():
        pytest.skip(SKIP_REASON)
    sim = Snmpsim(CORPUS).start(wait_community=recording_names()[0], timeout=60)
    try:
        yield sim
    finally:
        sim.stop()
