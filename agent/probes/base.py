"""The shape every SNMP probe module has (Checkmk style: detect + fetch + pure parse).

A probe is a module with these attributes, found through ``agent.probes.SNMP_PROBES``
(a tuple of modules), never registered by import side effects:

- ``NAME: str`` - short snake_case name, used in ``errors[].probe``;
- ``DETECT_ROOTS: tuple[str, ...]`` - OID roots whose presence the poller tests with
  one GETNEXT per device (all probes' roots share one PDU);
- ``detect(d: Detection) -> bool`` - pure: does this device need the probe?
- ``FETCH: FetchSpec`` - numeric OIDs (each with its MIB name in a comment);
- ``parse(f: Fetched) -> Section`` - pure, no I/O, never raises on odd values;
- ``apply(section, poll: DevicePoll) -> None`` - puts the section into the poll.

Static data (identity) is refreshed less often than levels and states; the
poller caches ``Detection`` per device and refreshes it with identity.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Detection:
    """What one cheap round of GET + GETNEXT told us about a device."""

    sys_object_id: str | None = None
    sys_descr: str = ""
    #: DETECT_ROOTS (as given, dotted text) under which the device has at least one object.
    present: frozenset[str] = field(default_factory=frozenset)

    def has(self, root: str) -> bool:
        return root in self.present

    def enterprise(self) -> int | None:
        """Enterprise number from sysObjectID (1.3.6.1.4.1.<n>...)."""
        oid = self.sys_object_id or ""
        prefix = "1.3.6.1.4.1."
        if not oid.startswith(prefix):
            return None
        head = oid[len(prefix) :].split(".", 1)[0]
        return int(head) if head.isdigit() else None


def text(value: object) -> str | None:
    """Device text -> clean str: bytes decoded (UTF-8, else Latin-1), NULs and edges stripped."""
    if value is None:
        return None
    if isinstance(value, bytes):
        try:
            s = value.decode("utf-8")
        except UnicodeDecodeError:
            s = value.decode("latin-1")
    else:
        s = str(value)
    s = s.replace("\x00", "").strip()
    return s or None


def integer(value: object) -> int | None:
    """Device number -> int, tolerating numbers sent as text; anything else -> None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, bytes):
        try:
            value = value.decode("ascii")
        except UnicodeDecodeError:
            return None
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None
