"""SNMP probes the poller runs, in order. Each module follows ``agent.probes.base``.

Listed here explicitly (not registered by import side effects) so that what
runs is visible in one place. ``identity`` is not in the list: the poller
always runs it first, less often.
"""

from __future__ import annotations

from importlib import import_module
from importlib.util import find_spec
from types import ModuleType

_PROBE_MODULES = ("printer", "interfaces", "sensors", "hostres")


def _load() -> tuple[ModuleType, ...]:
    # find_spec keeps a checkout usable while a probe module is being written; a probe that exists
    # but fails to import is a bug and raises.
    return tuple(import_module(f"agent.probes.{name}") for name in _PROBE_MODULES if find_spec(f"agent.probes.{name}"))


SNMP_PROBES: tuple[ModuleType, ...] = _load()

__all__ = ["SNMP_PROBES"]
