"""``/api/v1/reports``: the monthly service report and the daily inspection over HTTP.

Same figures and formats as ``fleetwatch report``; handlers are plain ``def``
(FastAPI's thread pool) because a month of a large fleet takes seconds.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, status
from fastapi.responses import Response

from collector.reports.inspection import inspection_report
from collector.reports.monthly import month_bounds, monthly_report
from collector.reports.render import MEDIA_TYPES, render
from collector.web import data
from collector.web.auth import Role, TokenInfo
from collector.web.context import WebContext, ctx_of, require

Viewer = Annotated[TokenInfo, Depends(require(Role.viewer))]
Ctx = Annotated[WebContext, Depends(ctx_of)]
Fmt = Literal["json", "html", "csv"]

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])


def _previous_month(now: datetime) -> str:
    year, month = (now.year, now.month - 1) if now.month > 1 else (now.year - 1, 12)
    return f"{year:04d}-{month:02d}"


@router.get("/monthly")
def monthly(
    ctx: Ctx,
    _: Viewer,
    month: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM; default last month")] = None,
    site: str | None = None,
    department: str | None = None,
    tz: str = "UTC",
    format: Fmt = "json",  # the query parameter users type
) -> Response:
    now = datetime.fromtimestamp(ctx.clock(), UTC)
    try:
        start, end = month_bounds(month or _previous_month(now), tz)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    with data.reading(ctx.db_path) as conn:
        report = monthly_report(conn, start, end, site=site, department=department, now=now)
    return Response(render(report, format, tz=tz), media_type=MEDIA_TYPES[format])


@router.get("/inspection")
def inspection(
    ctx: Ctx,
    _: Viewer,
    day: Annotated[date | None, Query(alias="date", description="YYYY-MM-DD; default today")] = None,
    site: str | None = None,
    department: str | None = None,
    tz: str = "UTC",
    format: Fmt = "json",
) -> Response:
    now = datetime.fromtimestamp(ctx.clock(), UTC)
    with data.reading(ctx.db_path) as conn:
        report = inspection_report(conn, day or now.date(), now=now, tz=tz, site=site, department=department)
    return Response(render(report, format, tz=tz), media_type=MEDIA_TYPES[format])
