import pytest

from agent.wire import FRAME_MAGIC, Batch, Device, DevicePoll, encode_batch
from collector.ingest import Rejection, decode_frames


def _batch() -> Batch:
    poll = DevicePoll(device_id="p1", ts=1.0, device=Device(address="127.0.0.1"))
    return Batch(batch_id="abc", agent_id="a1", sent_at=2.0, polls=[poll])


def test_valid_batch_decodes():
    out = decode_frames([FRAME_MAGIC, encode_batch(_batch())], 1 << 20)
    assert isinstance(out, Batch)
    assert out.polls[0].device_id == "p1"


@pytest.mark.parametrize(
    ("frames", "reason", "batch_id"),
    [
        pytest.param([b"only-one"], "bad_frames", None, id="one_frame"),
        pytest.param([b"XXX", b"{}"], "bad_magic", None, id="wrong_magic"),
        pytest.param([FRAME_MAGIC, b"\xff\xfe not json"], "bad_json", None, id="garbage"),
        pytest.param([FRAME_MAGIC, b'{"batch_id": "b9", "agent_id": 3}'], "bad_schema", "b9", id="wrong_types"),
        pytest.param([FRAME_MAGIC, b'{"v": 99, "batch_id": "b8"}'], "bad_version", "b8", id="future_version"),
        pytest.param([FRAME_MAGIC, b"[1,2,3]"], "bad_schema", None, id="json_not_object"),
        pytest.param([FRAME_MAGIC, b"x" * 2000], "too_large", None, id="oversized"),
    ],
)
def test_malformed_messages_are_rejected_with_a_reason(frames, reason, batch_id):
    out = decode_frames(frames, 1024)
    assert isinstance(out, Rejection)
    assert out.reason == reason
    assert out.batch_id == batch_id
