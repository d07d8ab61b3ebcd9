"""Fixtures for tests that read the LibreNMS corpus; helpers live in ``tests.corpus.lib``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agent.simulator import Snmpsim
from tests.corpus.lib import SKIP_REASON, corpus_available, recording_names, serving_copy


@pytest.fixture(scope="session")
def corpus_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Snmpsim]:
    """One snmpsim process serving every recording of the corpus (community = recording stem)."""
    if not corpus_available():
        pytest.skip(SKIP_REASON)
    data = serving_copy(tmp_path_factory.mktemp("corpus"))
    sim = Snmpsim(data).start(wait_community=recording_names()[0], timeout=60)
    try:
        yield sim
    finally:
        sim.stop()
