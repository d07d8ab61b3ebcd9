"""Fuzz the collector's message decoding: whatever arrives, ``decode_frames`` answers, never raises.

Three kinds of input: arbitrary frame lists, arbitrary JSON under the right
magic, and valid batches with bytes flipped / cut / spliced (the realistic
corruptions, which reach deepest into the schema).
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.wire import FRAME_MAGIC, Batch, Device, DevicePoll, Interface, Supply, encode_batch
from collector.ingest import Rejection, decode_frames
from collector.series import flatten

REASONS = {"bad_frames", "bad_magic", "too_large", "bad_json", "bad_schema", "bad_version"}
MAX = 64 * 1024

FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _valid_payload() -> bytes:
    poll = DevicePoll(
        device_id="p1",
        ts=1.7e9,
        device=Device(address="127.0.0.1", sys_descr="Lexmark MS510dn"),
        supplies=[Supply(index="1.1", description="Black Toner", type="toner", level=50, capacity=100, percent=50.0)],
        interfaces=[Interface(index=1, name="eth0", in_octets=10, out_octets=20)],
    )
    return encode_batch(Batch(batch_id="b1", agent_id="a1", sent_at=1.7e9, polls=[poll]))


VALID = _valid_payload()


def _check(frames: list[bytes]) -> Batch | Rejection:
    out = decode_frames(frames, MAX)
    assert isinstance(out, Batch | Rejection)
    if isinstance(out, Rejection):
        assert out.reason in REASONS
        assert out.batch_id is None or (isinstance(out.batch_id, str) and len(out.batch_id) <= 128)
    else:
        # Whatever decoded must also flatten (the next step in the collector) without raising.
        for poll in out.polls:
            flatten(poll)
    return out


@FUZZ
@given(st.lists(st.binary(max_size=256), max_size=5))
def test_any_frames(frames: list[bytes]):
    _check(frames)


@FUZZ
@given(st.binary(max_size=2048))
def test_any_payload_behind_the_magic(payload: bytes):
    _check([FRAME_MAGIC, payload])


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=8,
)
BATCH_KEYS = ["v", "batch_id", "agent_id", "seq", "sent_at", "dropped_before", "polls"]
POLL_KEYS = ["device_id", "ts", "reachable", "labels", "device", "supplies", "interfaces", "counters", "errors"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.fixed_dictionaries({}, optional=dict.fromkeys(BATCH_KEYS, JSON)),
    st.lists(st.fixed_dictionaries({}, optional=dict.fromkeys(POLL_KEYS, JSON)), max_size=3),
)
def test_schema_shaped_json(batch: dict[str, object], polls: list[dict[str, object]]):
    if polls:
        batch["polls"] = polls
    _check([FRAME_MAGIC, json.dumps(batch, allow_nan=True).encode()])


@FUZZ
@given(st.data())
def test_mutated_valid_batch(data: st.DataObject):
    payload = bytearray(VALID)
    for _ in range(data.draw(st.integers(1, 8), label="mutations")):
        op = data.draw(st.sampled_from(["flip", "cut", "insert", "dup"]), label="op")
        pos = data.draw(st.integers(0, max(0, len(payload) - 1)), label="pos")
        if op == "flip" and payload:
            payload[pos] ^= data.draw(st.integers(1, 255), label="mask")
        elif op == "cut":
            del payload[pos : pos + data.draw(st.integers(1, 40), label="len")]
        elif op == "insert":
            payload[pos:pos] = data.draw(st.binary(min_size=1, max_size=16), label="bytes")
        else:
            payload[pos:pos] = payload[pos : pos + data.draw(st.integers(1, 200), label="len")]
    _check([FRAME_MAGIC, bytes(payload)])


def test_deeply_nested_json_is_rejected_not_a_recursion_error():
    payload = b'{"batch_id": "deep", "polls": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    out = decode_frames([FRAME_MAGIC, payload], 1 << 20)
    assert isinstance(out, Rejection)
    assert out.reason in {"bad_json", "bad_schema"}


def test_unmutated_payload_still_decodes():
    # Guards the mutation test: its seed must be a valid batch, or it only ever tests rejections.
    assert isinstance(decode_frames([FRAME_MAGIC, VALID], MAX), Batch)
