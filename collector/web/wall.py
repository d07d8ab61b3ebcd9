"""What the NOC wall shows, computed from plain inputs (no I/O, ``now`` passed in).

The wall answers three questions from across a room: which devices need
someone (tile colour), which incident must be handled first (sorted by time
left to its next SLA deadline), and which supply runs out next. The state is
kept compact (short keys) because it is pushed to every open wall, 2,000
tiles at a time on connect and as small diffs afterwards.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from collector.alerts import SEVERITIES

#: Tile states, worst first; the wall colours tiles by the first that applies.
#: Maintenance wins over incidents: alerts are held during a window, and the
#: people in front of the wall should know someone is already on it.
STATUS_ORDER: tuple[str, ...] = ("maintenance", *SEVERITIES, "unreachable", "ok")

#: A consumed supply at or below this percent (or reporting low/near_empty/empty) is listed.
LOW_PERCENT = 10.0
#: A receptacle (waste toner box) at or above this fill is listed.
FULL_PERCENT = 90.0
#: A supply forecast to run out within this many days is listed whatever its level.
LOW_DAYS = 7.0
LOW_STATES = frozenset({"low", "near_empty", "empty"})
#: Longest supply list sent to a wall (the rest is counted).
MAX_SUPPLIES = 60


@dataclass(frozen=True)
class DeviceIn:
    """What the wall needs to know about a device (from the devices table)."""

    device_id: str
    name: str
    labels: Mapping[str, str]
    reachable: bool
    address: str | None = None
    model: str | None = None
    supplies: Sequence[Mapping[str, Any]] = ()  # wire ``Supply`` objects as JSON dicts (latest poll)


@dataclass(frozen=True)
class IncidentIn:
    number: int
    device: str
    severity: str
    state: str
    summary: str
    opened_at: float
    response_due: float
    resolve_due: float
    acknowledged: bool
    response_met: bool | None
    resolve_met: bool | None
    assignee: str | None
    #: The labels copied into the incident when it opened: site/department for incidents on things that
    #: are not inventory devices (a silent agent, a stock part), so the wall's filters still place them.
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Tile:
    id: str
    name: str
    site: str | None
    dept: str | None
    status: str  # one of STATUS_ORDER
    n: int  # open incidents on the device
    info: str  # one line for the tooltip / detail


@dataclass(frozen=True)
class IncidentOut:
    no: int
    device: str
    name: str
    site: str | None
    dept: str | None
    sev: str
    state: str
    summary: str
    due: float  # the next SLA deadline (respond until acknowledged, then resolve), Unix seconds
    due_kind: str  # respond | resolve
    breached: bool  # that deadline (or an earlier one) is already missed
    assignee: str | None


@dataclass(frozen=True)
class SupplyOut:
    device: str
    name: str
    site: str | None
    dept: str | None
    supply: str
    label: str
    color: str | None
    percent: float | None
    state: str
    receptacle: bool
    days: float | None  # forecast days to empty, when a forecast exists


@dataclass(frozen=True)
class WallState:
    now: float
    tiles: dict[str, Tile]
    incidents: list[IncidentOut]
    supplies: list[SupplyOut]
    availability: dict[str, float] = field(default_factory=dict)  # device -> share of polls up today


@dataclass(frozen=True)
class WallFilter:
    site: str | None = None
    department: str | None = None

    def matches(self, site: str | None, dept: str | None) -> bool:
        return (self.site is None or site == self.site) and (self.department is None or dept == self.department)


def worst_status(statuses: Iterable[str]) -> str:
    return min(statuses, key=STATUS_ORDER.index, default="ok")


def supply_is_low(supply: Mapping[str, Any], days: float | None) -> bool:
    if days is not None and days <= LOW_DAYS:
        return True
    state = str(supply.get("state") or "unknown")
    percent = supply.get("percent")
    receptacle = supply.get("class") == "receptacle"
    if receptacle:
        return state == "full" or (percent is not None and percent >= FULL_PERCENT)
    return state in LOW_STATES or (state == "ok" and percent is not None and percent <= LOW_PERCENT)


def build(
    devices: Iterable[DeviceIn],
    incidents: Iterable[IncidentIn],
    in_maintenance: set[str],
    now: float,
    *,
    forecasts: Mapping[str, Mapping[str, float | None]] | None = None,
    availability: Mapping[str, float] | None = None,
) -> WallState:
    """``forecasts``: device -> supply index -> days to empty. ``in_maintenance``: devices covered now."""
    forecasts = forecasts or {}
    by_device: dict[str, list[IncidentIn]] = {}
    for inc in incidents:
        by_device.setdefault(inc.device, []).append(inc)
    tiles: dict[str, Tile] = {}
    supplies: list[SupplyOut] = []
    devs = {d.device_id: d for d in devices}
    for d in devs.values():
        site, dept = d.labels.get("site"), d.labels.get("department")
        open_here = by_device.get(d.device_id, [])
        statuses = [i.severity for i in open_here]
        if d.device_id in in_maintenance:
            statuses.append("maintenance")
        if not d.reachable:
            statuses.append("unreachable")
        status = worst_status(statuses)
        info = " · ".join(x for x in (d.model, d.address) if x)
        if open_here:
            top = min(open_here, key=lambda i: (SEVERITIES.index(i.severity), i.opened_at))  # type: ignore[arg-type]
            more = f" (+{len(open_here) - 1})" if len(open_here) > 1 else ""
            info = f"{top.severity} #{top.number} {top.summary}{more}"
        elif status == "maintenance":
            info = "maintenance window"
        elif status == "unreachable":
            info = "unreachable" + (f" · {info}" if info else "")
        tiles[d.device_id] = Tile(d.device_id, d.name, site, dept, status, len(open_here), info)
        days_by_supply = forecasts.get(d.device_id, {})
        for s in d.supplies:
            days = days_by_supply.get(str(s.get("index")))
            if not supply_is_low(s, days):
                continue
            supplies.append(
                SupplyOut(
                    device=d.device_id,
                    name=d.name,
                    site=site,
                    dept=dept,
                    supply=str(s.get("index")),
                    label=str(s.get("description") or s.get("type") or s.get("index")),
                    color=s.get("color"),
                    percent=s.get("percent"),
                    state=str(s.get("state") or "unknown"),
                    receptacle=s.get("class") == "receptacle",
                    days=days,
                )
            )
    supplies.sort(key=lambda s: (s.days is None, s.days or 0.0, _remaining(s)))
    out_incidents = []
    for inc in incidents:
        dev = devs.get(inc.device)
        labels = dev.labels if dev else inc.labels
        due_kind, due = ("resolve", inc.resolve_due) if inc.acknowledged else ("respond", inc.response_due)
        breached = now > due or inc.response_met is False or inc.resolve_met is False
        out_incidents.append(
            IncidentOut(
                no=inc.number,
                device=inc.device,
                name=dev.name if dev else inc.device,
                site=labels.get("site"),
                dept=labels.get("department"),
                sev=inc.severity,
                state=inc.state,
                summary=inc.summary,
                due=due,
                due_kind=due_kind,
                breached=breached,
                assignee=inc.assignee,
            )
        )
    out_incidents.sort(key=lambda i: (i.due, SEVERITIES.index(i.sev), i.no))  # type: ignore[arg-type]
    return WallState(now, tiles, out_incidents, supplies, dict(availability or {}))


def _remaining(s: SupplyOut) -> float:
    if s.percent is None:
        return {"empty": 0.0, "full": 0.0, "near_empty": 2.0}.get(s.state, 5.0)
    return 100.0 - s.percent if s.receptacle else s.percent


def changed_tiles(old: WallState | None, new: WallState) -> tuple[list[str], list[str]]:
    """(device ids whose tile changed or appeared, device ids gone)."""
    if old is None:
        return list(new.tiles), []
    changed = [k for k, t in new.tiles.items() if old.tiles.get(k) != t]
    gone = [k for k in old.tiles if k not in new.tiles]
    return changed, gone


def _header(state: WallState, tiles: list[Tile], incidents: list[IncidentOut]) -> dict[str, Any]:
    by_sev = dict.fromkeys(SEVERITIES, 0)
    for i in incidents:
        by_sev[i.sev] = by_sev.get(i.sev, 0) + 1
    avail = [state.availability[t.id] for t in tiles if t.id in state.availability]
    return {
        "devices": len(tiles),
        "open": len(incidents),
        "by_severity": by_sev,
        "breached": sum(1 for i in incidents if i.breached),
        "unreachable": sum(1 for t in tiles if t.status == "unreachable"),
        "maintenance": sum(1 for t in tiles if t.status == "maintenance"),
        "availability": (sum(avail) / len(avail)) if avail else None,
    }


def _lists(state: WallState, flt: WallFilter) -> dict[str, Any]:
    tiles = [t for t in state.tiles.values() if flt.matches(t.site, t.dept)]
    incidents = [i for i in state.incidents if flt.matches(i.site, i.dept)]
    supplies = [s for s in state.supplies if flt.matches(s.site, s.dept)]
    return {
        "header": _header(state, tiles, incidents),
        "incidents": [asdict(i) for i in incidents],
        "supplies": [asdict(s) for s in supplies[:MAX_SUPPLIES]],
        "supplies_more": max(0, len(supplies) - MAX_SUPPLIES),
        "_tiles": tiles,
    }


def snapshot(state: WallState, flt: WallFilter) -> dict[str, Any]:
    """Everything a wall needs to draw itself from nothing (sent on every (re)connect)."""
    body = _lists(state, flt)
    tiles = body.pop("_tiles")
    return {"now": state.now, "tiles": [asdict(t) for t in tiles], **body}


def update(old: WallState, new: WallState, flt: WallFilter) -> dict[str, Any] | None:
    """The diff a wall applies, or None when nothing it shows changed."""
    changed, gone = changed_tiles(old, new)

    def shown(t: Tile | None) -> bool:
        return t is not None and flt.matches(t.site, t.dept)

    upsert = [new.tiles[k] for k in changed if shown(new.tiles[k])]
    # Gone, or moved out of this wall's filter by a label change: only tiles this wall was showing.
    remove = [k for k in gone if shown(old.tiles[k])]
    remove += [k for k in changed if shown(old.tiles.get(k)) and not shown(new.tiles[k])]
    before, after = _lists(old, flt), _lists(new, flt)
    before.pop("_tiles")
    after.pop("_tiles")
    if not upsert and not remove and before == after:
        return None
    return {"now": new.now, "upsert": [asdict(t) for t in upsert], "remove": remove, **after}
