from datetime import timedelta

import pytest

from collector.incidents.policy import Retry
from collector.sender import backoff


@pytest.mark.parametrize(("attempts", "expected"), [(0, 10), (1, 10), (2, 20), (3, 40)])
def test_backoff_doubles(attempts: int, expected: int) -> None:
    retry = Retry(first=timedelta(seconds=10), cap=timedelta(hours=1))
    assert backoff(retry, attempts) == timedelta(seconds=expected)


@pytest.mark.parametrize("attempts", [44, 100, 10_000], ids=["day_and_a_half_down", "days_down", "absurd"])
def test_backoff_never_overflows_and_stays_at_the_cap(attempts: int) -> None:
    retry = Retry(first=timedelta(seconds=10), cap=timedelta(hours=1))
    assert backoff(retry, attempts) == timedelta(hours=1)
