import pytest

from collector.incidents.notify import _subject


@pytest.mark.parametrize(
    ("summary", "expected"),
    [
        pytest.param("p1: paper jam", "p1: paper jam", id="summary_starts_with_device"),
        pytest.param("unreachable on p1", "p1: unreachable on p1", id="summary_without_device"),
        pytest.param(None, "p1: ", id="no_summary"),
    ],
)
def test_subject_names_the_device_once(summary: str | None, expected: str) -> None:
    assert _subject({"device": "p1", "summary": summary}) == expected
