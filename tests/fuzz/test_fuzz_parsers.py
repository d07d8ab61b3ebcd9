"""Fuzz every SNMP parser: any value of any type under any OID it fetches, and it still returns.

A device can put anything anywhere (garbage-printer.snmprec shows a few real
cases: text where a gauge belongs, negative counters, OIDs as values). The
probe contract says ``parse`` never raises on odd values; ``apply`` and the
collector's ``flatten`` follow, so the whole path from a device's answer to
stored readings is covered.
"""

from __future__ import annotations

from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.fetch import Fetched, FetchSpec
from agent.probes import SNMP_PROBES, identity
from agent.probes.base import Detection
from agent.snmp import MAX_VALUE_BYTES
from agent.wire import Device, DevicePoll
from collector.series import flatten

FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)

#: What ``agent.snmp.to_python`` can hand a parser: int, bytes, str (OID / IpAddress), None.
VALUES = st.one_of(
    st.none(),
    st.integers(-(2**64), 2**64),
    st.sampled_from([0, -1, -2, -3, 2**31 - 1, 2**32 - 1, 2**63 - 1, 2**64 - 1]),
    st.binary(max_size=64),
    st.sampled_from([b"", b"\x00" * 8, b"\xff\xfe\xfd", b"12%", b"-5", b"NaN", b"\x00\x11\x22\x33\x44\x55"]),
    st.text(max_size=32),
    st.sampled_from(["1.3.6.1.4.1.9.1.1", "0.0", "10.0.0.1", "", "not.an.oid"]),
)
INDICES = st.one_of(
    st.lists(st.integers(0, 2**32), min_size=1, max_size=4).map(lambda p: ".".join(map(str, p))),
    st.sampled_from(["", "1.1", "1.1.1", "x", "1..2"]),
)


def fetched_for(data: st.DataObject, spec: FetchSpec) -> Fetched:
    """Random answers to ``spec``: each scalar present or not; columns share a few row indices (tables join)."""
    scalars = {oid: data.draw(VALUES, label=oid) for oid in spec.scalars if data.draw(st.booleans(), label="has")}
    rows = data.draw(st.lists(INDICES, min_size=1, max_size=4, unique=True), label="indices")
    columns: dict[str, dict[str, object]] = {}
    for oid in spec.columns:
        if not data.draw(st.integers(0, 3), label="col") and len(spec.columns) > 8:
            continue
        columns[oid] = {i: data.draw(VALUES, label=f"{oid}.{i}") for i in rows if data.draw(st.booleans(), label="c")}
    return Fetched(scalars=scalars, columns=columns)  # type: ignore[arg-type]


def _poll() -> DevicePoll:
    return DevicePoll(device_id="fuzz", ts=1.7e9, device=Device(address="127.0.0.1"))


@pytest.mark.parametrize("probe", SNMP_PROBES, ids=lambda p: p.NAME)
@FUZZ
@given(data=st.data())
def test_probe_parse_apply_flatten_never_raise(probe: ModuleType, data: st.DataObject):
    fetched = fetched_for(data, probe.FETCH)
    section = probe.parse(fetched)
    poll = _poll()
    probe.apply(section, poll)
    flatten(poll)
    # What the agent sends must survive its own JSON round trip.
    DevicePoll.model_validate_json(poll.model_dump_json(by_alias=True))


DETECTIONS = st.builds(
    Detection,
    sys_object_id=st.one_of(st.none(), st.sampled_from(["1.3.6.1.4.1.11.2.3.9.1", "1.3.6.1.4.1.", "x"]), st.text()),
    sys_descr=st.text(max_size=64),
    present=st.frozensets(st.sampled_from([r for p in SNMP_PROBES for r in p.DETECT_ROOTS] or ["1.3"])),
)


@FUZZ
@given(data=st.data(), det=DETECTIONS)
def test_identity_parse_never_raises(data: st.DataObject, det: Detection):
    device = identity.parse(fetched_for(data, identity.FETCH), det, "127.0.0.1", 161)
    assert device.address == "127.0.0.1"
    Device.model_validate_json(device.model_dump_json())


@pytest.mark.parametrize("probe", SNMP_PROBES, ids=lambda p: p.NAME)
@FUZZ
@given(det=DETECTIONS)
def test_detect_never_raises(probe: ModuleType, det: Detection):
    assert probe.detect(det) in (True, False)


def test_values_cover_the_largest_string_the_snmp_layer_hands_over():
    # Parsers are fuzzed on short strings; the longest one they can see is cut at MAX_VALUE_BYTES.
    for probe in SNMP_PROBES:
        cols = {oid: {"1": b"A" * MAX_VALUE_BYTES} for oid in probe.FETCH.columns}
        scalars = dict.fromkeys(probe.FETCH.scalars, b"B" * MAX_VALUE_BYTES)
        poll = _poll()
        probe.apply(probe.parse(Fetched(scalars=scalars, columns=cols)), poll)  # type: ignore[arg-type]
        flatten(poll)
