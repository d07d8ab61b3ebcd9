"""The ``/api/v1`` routes. Reads use read-only connections; writes call the incidents package.

Handlers are plain ``def`` so FastAPI runs them in its thread pool: SQLite
calls never block the collector's event loop (ZeroMQ ingest shares it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import StreamingResponse

from collector.agents import read_agents
from collector.incidents import audit, maintenance, manager, store
from collector.incidents import db as incident_db
from collector.incidents.maintenance import Window
from collector.incidents.model import ACTIVE_STATES, Incident, State, TransitionError
from collector.storage.sqlite import read_devices, read_history, read_latest
from collector.web import auth, data, wall
from collector.web.auth import Role, TokenInfo
from collector.web.context import WebContext, ctx_of, require, wall_reader
from collector.web.models import (
    AgentSummary,
    AssignIn,
    DeviceDetail,
    DeviceSummary,
    History,
    IncidentDetail,
    InventoryEvent,
    NoteIn,
    ReopenIn,
    ResolveIn,
    Series,
    TimelineEntry,
    TokenCreated,
    TokenIn,
    TokenOut,
    WindowIn,
    WindowOut,
)

Viewer = Annotated[TokenInfo, Depends(require(Role.viewer))]
Operator = Annotated[TokenInfo, Depends(require(Role.operator))]
Admin = Annotated[TokenInfo, Depends(require(Role.admin))]
WallReader = Annotated[TokenInfo, Depends(wall_reader)]
Ctx = Annotated[WebContext, Depends(ctx_of)]

router = APIRouter(prefix="/api/v1")

DEFAULT_HISTORY_S = 7 * 86400.0
UNPROCESSABLE = 422  # the constant was renamed across Starlette versions


def _labels_filter(label: list[str]) -> dict[str, str]:
    out = {}
    for item in label:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise HTTPException(UNPROCESSABLE, f"label filter {item!r} is not key=value")
        out[key] = value
    return out


def _time(value: str | None, default: float, name: str) -> float:
    """Unix seconds or ISO 8601 (``2026-11-21T08:00:00Z``; naive means UTC)."""
    if value is None or value == "":
        return default
    try:
        return float(value)
    except ValueError:
        pass
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise HTTPException(UNPROCESSABLE, f"{name}: expected Unix seconds or ISO 8601, got {value!r}") from None
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()


# -- devices ---------------------------------------------------------------------------------------------------


def _summaries(ctx: WebContext, conn: Any) -> list[DeviceSummary]:
    rows = read_devices(conn)
    worst = data.worst_open(conn)
    maint = data.in_maintenance(conn, [(r.device_id, r.labels) for r in rows], ctx.clock())
    out = []
    for r in rows:
        sev, n = worst.get(r.device_id, (None, 0))
        statuses = [s for s in (sev, "maintenance" if r.device_id in maint else None) if s]
        if not r.reachable:
            statuses.append("unreachable")
        out.append(DeviceSummary(**r.__dict__, status=wall.worst_status(statuses), open_incidents=n))
    return out


@router.get("/agents", response_model=list[AgentSummary], tags=["devices"])
def list_agents(ctx: Ctx, _: Viewer) -> list[AgentSummary]:
    """Agents reporting here, most recently heard from first; ``silent`` past the collector's ``stale_after``."""
    with data.reading(ctx.db_path) as conn:
        rows = read_agents(conn, ctx.clock())
    stale = ctx.config.stale_after
    return [AgentSummary(**dataclasses.asdict(r), silent=r.silent(stale)) for r in rows]


@router.get("/devices", response_model=list[DeviceSummary], tags=["devices"])
def list_devices(
    ctx: Ctx,
    _: Viewer,
    site: str | None = None,
    department: str | None = None,
    kind: str | None = None,
    label: Annotated[list[str], Query(description="key=value, repeatable")] = [],  # noqa: B006 - FastAPI idiom
) -> list[DeviceSummary]:
    want = _labels_filter(label)
    if site:
        want["site"] = site
    if department:
        want["department"] = department
    with data.reading(ctx.db_path) as conn:
        devices = _summaries(ctx, conn)
    return [
        d for d in devices if all(d.labels.get(k) == v for k, v in want.items()) and (kind is None or d.kind == kind)
    ]


@router.get("/devices/{device_id}", response_model=DeviceDetail, tags=["devices"])
def get_device(device_id: str, ctx: Ctx, _: Viewer) -> DeviceDetail:
    with data.reading(ctx.db_path) as conn:
        summary = next((d for d in _summaries(ctx, conn) if d.device_id == device_id), None)
        if summary is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no device {device_id!r}")
        latest = read_latest(conn, device_id)
        incidents = [i for i in data.active_incidents(conn) if i.device == device_id]
        events = [InventoryEvent(**e) for e in data.inventory_events(conn, device_id)]
        forecasts: dict[str, dict[str, Any]] = {}
        if ctx.hub.forecasts is not None:
            days = ctx.hub.forecasts(conn, ctx.clock()).get(device_id, {})
            forecasts = {k: {"days_to_empty": v} for k, v in days.items()}
    return DeviceDetail(**summary.model_dump(), latest=latest, forecasts=forecasts, incidents=incidents, events=events)


@router.get("/devices/{device_id}/history", response_model=History, tags=["devices"])
def device_history(
    device_id: str,
    ctx: Ctx,
    _: Viewer,
    metric: Annotated[str, Query(description="e.g. supply_percent, page_count, up")],
    since: Annotated[str | None, Query(description="Unix seconds or ISO 8601; default 7 days ago")] = None,
    until: Annotated[str | None, Query(description="Unix seconds or ISO 8601; default now")] = None,
    step: Annotated[float | None, Query(gt=0, description="average into buckets of this many seconds")] = None,
    label: Annotated[
        list[str], Query(description="label filter key=value, repeatable (supply=1.1, counter=total_pages)")
    ] = [],  # noqa: B006 - FastAPI idiom
) -> History:
    now = ctx.clock()
    hi = _time(until, now, "until")
    lo = _time(since, hi - DEFAULT_HISTORY_S, "since")
    if lo > hi:
        raise HTTPException(UNPROCESSABLE, "since is after until")
    with data.reading(ctx.db_path) as conn:
        if conn.execute("SELECT 1 FROM devices WHERE device_id = ?", (device_id,)).fetchone() is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no device {device_id!r}")
        found = read_history(conn, device_id, metric, _labels_filter(label), lo, hi, step)
    series = [Series(labels=dict(lab), points=[(s.ts, s.value) for s in samples]) for lab, samples in found.items()]
    return History(device_id=device_id, metric=metric, since=lo, until=hi, step=step, series=series)


# -- incidents -------------------------------------------------------------------------------------------------


@router.get("/incidents", response_model=list[Incident], tags=["incidents"])
def list_incidents(
    ctx: Ctx,
    _: Viewer,
    state: Annotated[list[State], Query()] = [],  # noqa: B006 - FastAPI idiom
    active: Annotated[bool | None, Query(description="true: open, acknowledged or in progress")] = None,
    severity: str | None = None,
    device: str | None = None,
    site: str | None = None,
    department: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 500,
) -> list[Incident]:
    with data.incident_reading(ctx.db_path) as conn:
        found = store.query(conn, severity=severity)
    out = []
    for inc in reversed(found):  # newest first
        labels = inc.inventory.get("labels") or {}
        if state and inc.state not in state:
            continue
        if active is not None and (inc.state in ACTIVE_STATES) != active:
            continue
        if device and inc.device != device:
            continue
        if (site and labels.get("site") != site) or (department and labels.get("department") != department):
            continue
        out.append(inc)
        if len(out) >= limit:
            break
    return out


@router.get("/incidents/{number}", response_model=IncidentDetail, tags=["incidents"])
def get_incident(number: int, ctx: Ctx, _: Viewer) -> IncidentDetail:
    with data.incident_reading(ctx.db_path) as conn:
        inc = store.get(conn, number)
        if inc is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no incident #{number}")
        timeline = [
            TimelineEntry(seq=e.seq, at=e.at, actor=e.actor, action=e.action, data=e.data)
            for e in audit.timeline(conn, number)
        ]
    return IncidentDetail(incident=inc, timeline=timeline)


def _act(ctx: WebContext, fn: Callable[..., Incident], *args: Any, **kwargs: Any) -> Incident:
    """Run one lifecycle action of the incidents package and map its errors to HTTP statuses."""
    try:
        with data.incident_writing(ctx.db_path) as conn:
            inc = fn(conn, *args, **kwargs)
    except manager.NotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except TransitionError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    except ValueError as exc:
        raise HTTPException(UNPROCESSABLE, str(exc)) from None
    ctx.hub.poke()
    return inc


@router.post("/incidents/{number}/ack", response_model=Incident, tags=["incidents"])
def ack_incident(number: int, ctx: Ctx, who: Operator) -> Incident:
    return _act(ctx, manager.acknowledge, number, who.actor, ctx.clock())


@router.post("/incidents/{number}/assign", response_model=Incident, tags=["incidents"])
def assign_incident(number: int, body: AssignIn, ctx: Ctx, who: Operator) -> Incident:
    return _act(ctx, manager.assign, number, body.assignee, who.actor, ctx.clock())


@router.post("/incidents/{number}/note", response_model=Incident, tags=["incidents"])
def note_incident(number: int, body: NoteIn, ctx: Ctx, who: Operator) -> Incident:
    return _act(ctx, manager.add_note, number, body.text, who.actor, ctx.clock())


@router.post("/incidents/{number}/resolve", response_model=Incident, tags=["incidents"])
def resolve_incident(number: int, body: ResolveIn, ctx: Ctx, who: Operator) -> Incident:
    return _act(
        ctx, manager.resolve, number, who.actor, ctx.clock(), cause=body.cause, action=body.action, result=body.result
    )


@router.post("/incidents/{number}/close", response_model=Incident, tags=["incidents"])
def close_incident(number: int, ctx: Ctx, who: Operator) -> Incident:
    return _act(ctx, manager.close, number, who.actor, ctx.clock())


@router.post("/incidents/{number}/reopen", response_model=Incident, tags=["incidents"])
def reopen_incident(number: int, body: ReopenIn, ctx: Ctx, who: Operator) -> Incident:
    return _act(ctx, manager.reopen, number, who.actor, ctx.clock(), body.reason)


# -- maintenance windows ---------------------------------------------------------------------------------------


def _window_out(w: Window, now: datetime) -> WindowOut:
    return WindowOut(**w.model_dump(), active=w.active_at(now), description=w.describe())


@router.get("/maintenance", response_model=list[WindowOut], tags=["maintenance"])
def list_windows(ctx: Ctx, _: Viewer) -> list[WindowOut]:
    now = datetime.fromtimestamp(ctx.clock(), UTC)
    with data.incident_reading(ctx.db_path) as conn:
        return [_window_out(w, now) for w in maintenance.load(conn)]


def _aware(dt: datetime | None) -> datetime | None:
    return dt if dt is None or dt.tzinfo else dt.replace(tzinfo=UTC)


@router.post("/maintenance", response_model=WindowOut, status_code=status.HTTP_201_CREATED, tags=["maintenance"])
def add_window(body: WindowIn, ctx: Ctx, who: Admin) -> WindowOut:
    now = datetime.fromtimestamp(ctx.clock(), UTC)
    try:
        w = Window(
            **body.model_dump(exclude={"starts_at", "ends_at"}),
            starts_at=_aware(body.starts_at),
            ends_at=_aware(body.ends_at),
            created_by=who.actor,
            created_at=now.replace(microsecond=0),
        )
    except ValueError as exc:
        raise HTTPException(UNPROCESSABLE, str(exc)) from None
    with data.incident_writing(ctx.db_path) as conn:
        w = maintenance.add(conn, w)
    ctx.hub.poke()
    return _window_out(w, now)


@router.delete("/maintenance/{window_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["maintenance"])
def remove_window(window_id: int, ctx: Ctx, _: Admin) -> None:
    with data.incident_writing(ctx.db_path) as conn:
        if not maintenance.remove(conn, window_id):
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no maintenance window #{window_id}")
    ctx.hub.poke()


# -- tokens and configuration (admin) --------------------------------------------------------------------------


def _token_out(t: auth.TokenInfo) -> TokenOut:
    return TokenOut(**t.__dict__)


@router.get("/tokens", response_model=list[TokenOut], tags=["admin"])
def list_tokens(ctx: Ctx, _: Admin, include_revoked: bool = False) -> list[TokenOut]:
    with data.token_reading(ctx.db_path) as conn:
        return [_token_out(t) for t in auth.list_tokens(conn, include_revoked=include_revoked)]


@router.post("/tokens", response_model=TokenCreated, status_code=status.HTTP_201_CREATED, tags=["admin"])
def create_token(body: TokenIn, ctx: Ctx, _: Admin) -> TokenCreated:
    with data.token_writing(ctx.db_path) as conn:
        info, token = auth.create_token(conn, body.role, body.name, ctx.clock())
    return TokenCreated(**_token_out(info).model_dump(), token=token)


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["admin"])
def revoke_token(token_id: str, ctx: Ctx, _: Admin) -> None:
    with data.token_writing(ctx.db_path) as conn:
        if not auth.revoke_token(conn, token_id, ctx.clock()):
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no active token {token_id!r}")


@router.get("/config", tags=["admin"])
def get_config(ctx: Ctx, _: Admin) -> dict[str, Any]:
    """The running configuration (secrets redacted)."""
    cfg = ctx.config.model_dump(mode="json")
    influx = (cfg.get("storage") or {}).get("influxdb")
    if influx and influx.get("token"):
        influx["token"] = "***"
    incidents = cfg.get("incidents") or {}
    if incidents.get("database"):
        incidents["database"] = incident_db.redact(incidents["database"])
    return cfg


# -- wall ------------------------------------------------------------------------------------------------------


@router.get("/wall/state", tags=["wall"])
async def wall_state(
    request: Request, _: WallReader, site: str | None = None, department: str | None = None
) -> dict[str, Any]:
    ctx = ctx_of(request)
    state = await ctx.hub.fresh()
    return {**wall.snapshot(state, wall.WallFilter(site or None, department or None)), "now": ctx.clock()}


@router.get("/wall/stream", tags=["wall"], response_class=StreamingResponse)
async def wall_stream(
    request: Request, _: WallReader, site: str | None = None, department: str | None = None
) -> StreamingResponse:
    """Server-sent events: ``snapshot`` on every (re)connect, then ``update`` diffs."""
    hub = ctx_of(request).hub
    return StreamingResponse(
        hub.stream(wall.WallFilter(site or None, department or None)),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
