"""Decode what arrives on the collector's ZeroMQ socket; never let it crash the collector.

Pure: frames in, either a valid ``Batch`` or a rejection reason out. Anything
malformed (wrong frame count or magic, oversized, not JSON, not the schema)
is counted by reason and dropped; the sender gets a ``rejected`` ack when a
batch id could be read, so it stops resending a batch that can never succeed.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

from pydantic import ValidationError

from agent.wire import FRAME_MAGIC, SCHEMA_VERSION, Batch, decode_batch


@dataclass
class IngestStats:
    batches_received: int = 0
    batches_stored: int = 0
    batches_duplicate: int = 0
    batches_rejected: int = 0
    polls_stored: int = 0
    readings_stored: int = 0
    agent_dropped_batches: dict[str, int] = field(default_factory=dict)  # as reported by each agent
    rejected_by_reason: Counter[str] = field(default_factory=Counter)
    rule_eval_seconds_total: float = 0.0
    rule_evals: int = 0
    agents_refused: int = 0  # CURVE handshakes refused (unknown key)

    def flat(self) -> dict[str, float]:
        """Counters as one flat mapping (``rejected_bad_json`` ...), for storage and /metrics."""
        out: dict[str, float] = {
            "batches_received": self.batches_received,
            "batches_stored": self.batches_stored,
            "batches_duplicate": self.batches_duplicate,
            "batches_rejected": self.batches_rejected,
            "polls_stored": self.polls_stored,
            "readings_stored": self.readings_stored,
            "rule_eval_seconds_total": self.rule_eval_seconds_total,
            "rule_evals": self.rule_evals,
            "agent_dropped_batches": sum(self.agent_dropped_batches.values()),
            "agents_refused": self.agents_refused,
        }
        for reason, n in self.rejected_by_reason.items():
            out[f"rejected_{reason}"] = n
        return out


@dataclass(frozen=True)
class Rejection:
    reason: str  # short, counted: bad_frames, bad_magic, too_large, bad_json, bad_schema, bad_version
    detail: str
    batch_id: str | None = None


def decode_frames(frames: list[bytes], max_bytes: int) -> Batch | Rejection:
    """``frames`` excludes the ROUTER identity frame."""
    if len(frames) != 2:
        return Rejection("bad_frames", f"expected 2 frames, got {len(frames)}")
    magic, payload = frames
    if magic != FRAME_MAGIC:
        return Rejection("bad_magic", f"unknown protocol marker {magic[:16]!r}")
    if len(payload) > max_bytes:
        return Rejection("too_large", f"{len(payload)} bytes > {max_bytes}")
    try:
        return decode_batch(payload)
    except ValidationError as exc:
        batch_id = _batch_id_of(payload)
        if _version_of(payload) not in (None, SCHEMA_VERSION):
            return Rejection("bad_version", f"schema version {_version_of(payload)} not supported", batch_id)
        first = exc.errors()[0] if exc.errors() else {}
        if first.get("type") == "json_invalid":
            return Rejection("bad_json", str(first.get("msg", "invalid JSON"))[:200], None)
        loc = ".".join(str(p) for p in first.get("loc", ()))
        return Rejection("bad_schema", f"{loc}: {first.get('msg', 'invalid')}"[:300], batch_id)


def _peek(payload: bytes) -> dict[str, object] | None:
    try:
        obj = json.loads(payload)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return obj if isinstance(obj, dict) else None


def _batch_id_of(payload: bytes) -> str | None:
    obj = _peek(payload)
    bid = obj.get("batch_id") if obj else None
    return bid if isinstance(bid, str) and len(bid) <= 128 else None


def _version_of(payload: bytes) -> object:
    obj = _peek(payload)
    return obj.get("v") if obj else None
