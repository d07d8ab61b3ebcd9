import logging

import pytest

from agent.runner import _log_change, start_offset
from agent.wire import Device, DevicePoll, ProbeError


def _poll(reachable: bool, *messages: str) -> DevicePoll:
    return DevicePoll(
        device_id="p1",
        ts=0.0,
        reachable=reachable,
        device=Device(address="127.0.0.1"),
        errors=[ProbeError(probe="snmp", message=m) for m in messages],
    )


def test_a_dead_device_is_logged_once_and_its_recovery_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="fleetwatch.agent")
    last: str | None = ""
    for poll in [_poll(True), _poll(False, "no response"), _poll(False, "no response"), _poll(False, "no response"),
                 _poll(True), _poll(True)]:  # fmt: skip
        last = _log_change("p1", poll, last)
    assert [r.getMessage() for r in caplog.records] == [
        "p1: unreachable: snmp: no response",
        "p1: polled cleanly again",
    ]
    assert caplog.records[0].levelno == logging.WARNING


def test_a_different_error_is_logged_again(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="fleetwatch.agent")
    last = _log_change("p1", _poll(True, "printer: loop"), "")
    _log_change("p1", _poll(True, "printer: endOfMibView"), last)
    assert len(caplog.records) == 2


def test_first_polls_are_spread_by_fleet_size() -> None:
    # A small fleet starts within 2 s, a short interval caps the spread, a big fleet is spread at 50/s.
    assert max(start_offset(i, 10, 60) for i in range(10)) < 2.0
    assert max(start_offset(i, 10, 1) for i in range(10)) < 1.0
    offsets = [start_offset(i, 2000, 60) for i in range(2000)]
    assert offsets == sorted(offsets)
    assert 39 < offsets[-1] < 40
    assert max(start_offset(i, 10_000, 60) for i in range(10_000)) < 60
