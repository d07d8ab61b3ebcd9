"""Read snmpsim ``.snmprec`` recordings into the same shapes a live poll gives.

Used by unit tests (parsers on recorded rows, no sockets) and by tools that
inspect recordings. Format: ``OID|TYPE|VALUE`` per line; TYPE 4x/64x etc.
carry hex; variation-module tags (``4:numeric``) are reduced to the type.
"""

from __future__ import annotations

from bisect import bisect_right
from pathlib import Path

from agent.fetch import Fetched, FetchSpec
from agent.snmp import MAX_VALUE_BYTES, Oid, Value, oid_text, parse_oid

_INT_TYPES = {"2", "65", "66", "67", "70", "71", "47"}


def _decode(type_code: str, raw: str) -> Value:
    hexed = type_code.endswith("x")
    base = type_code.rstrip("x").split(":")[0]
    if base == "4":
        data = bytes.fromhex(raw) if hexed else raw.encode("utf-8", "surrogateescape")
        return data[:MAX_VALUE_BYTES]
    if base == "6":
        return raw
    if base == "64":
        if hexed:
            return ".".join(str(b) for b in bytes.fromhex(raw))
        return raw
    if base in _INT_TYPES:
        try:
            return int(raw)
        except ValueError:
            return None
    if base == "5":
        return None
    return raw


class Recording:
    """An ordered OID -> value map with GET / walk semantics."""

    def __init__(self, values: dict[Oid, Value]) -> None:
        self._keys = sorted(values)
        self._values = values

    @classmethod
    def load(cls, path: str | Path) -> Recording:
        values: dict[Oid, Value] = {}
        with open(path, encoding="utf-8", errors="surrogateescape") as fh:
            for line in fh:
                line = line.rstrip("\n")
                if not line or line.startswith("#"):
                    continue
                parts = line.split("|", 2)
                if len(parts) != 3:
                    continue
                oid, type_code, raw = parts
                try:
                    values[parse_oid(oid)] = _decode(type_code, raw)
                except ValueError:
                    continue
        return cls(values)

    def get(self, oid: str) -> Value:
        return self._values.get(parse_oid(oid))

    def subtree(self, root: str) -> dict[str, Value]:
        prefix = parse_oid(root)
        out: dict[str, Value] = {}
        i = bisect_right(self._keys, prefix)
        n = len(prefix)
        while i < len(self._keys) and self._keys[i][:n] == prefix:
            key = self._keys[i]
            out[oid_text(key[n:])] = self._values[key]
            i += 1
        return out

    def fetch(self, spec: FetchSpec) -> Fetched:
        return Fetched(
            scalars={o: self.get(o) for o in spec.scalars},
            columns={c: self.subtree(c) for c in spec.columns},
        )

    def __len__(self) -> int:
        return len(self._keys)
