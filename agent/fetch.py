"""What a probe asks for and what it gets back, independent of the transport.

A probe declares a ``FetchSpec`` (scalars to GET, columns to walk); the
poller fills a ``Fetched`` from a live device, and tests fill the same thing
from an ``.snmprec`` recording (``agent.snmprec``), so every parser is tested
without sockets on exactly the shape it sees in production.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.snmp import Value


@dataclass(frozen=True)
class FetchSpec:
    scalars: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()

    def __add__(self, other: FetchSpec) -> FetchSpec:
        return FetchSpec(
            tuple(dict.fromkeys(self.scalars + other.scalars)),
            tuple(dict.fromkeys(self.columns + other.columns)),
        )


@dataclass
class Fetched:
    scalars: dict[str, Value] = field(default_factory=dict)
    columns: dict[str, dict[str, Value]] = field(default_factory=dict)

    def scalar(self, oid: str) -> Value:
        return self.scalars.get(oid)

    def column(self, oid: str) -> dict[str, Value]:
        """``{index: value}`` of one column; empty when the device has none."""
        return self.columns.get(oid, {})

    def table(self, columns: dict[str, str]) -> dict[str, dict[str, Value]]:
        """Join columns by index: ``{index: {name: value}}`` (missing cells absent)."""
        rows: dict[str, dict[str, Value]] = {}
        for name, oid in columns.items():
            for idx, value in self.column(oid).items():
                rows.setdefault(idx, {})[name] = value
        return rows
