"""The collector's web side as one FastAPI app: API, wall display, operator pages, health and metrics.

``create_app`` takes either the running ``CollectorService`` (its ingest
figures feed ``/metrics``) or just the path of a collector database, so the
same app runs inside the collector, or in tests against a SQLite file filled
through ``SqliteStorage`` without any ZeroMQ.

Every asset is served from ``static/`` (uPlot, Swagger UI): the wall works
in a NOC with no internet access.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from collector.config import CollectorConfig
from collector.incidents import db as incident_db
from collector.web import data, metrics
from collector.web import forecasts as fleet_forecasts
from collector.web.api import router
from collector.web.context import WebContext, ctx_of
from collector.web.live import LiveHub
from collector.web.reports_api import router as reports_router

if TYPE_CHECKING:
    from collector.service import CollectorService

log = logging.getLogger("fleetwatch.web")

STATIC = Path(__file__).resolve().parent / "static"


def create_app(
    service_or_db_path: CollectorService | Path | str,
    config: CollectorConfig | None = None,
    *,
    hub: LiveHub | None = None,
    forecasts: data.ForecastSource | Literal[False] | None = None,
    clock: Callable[[], float] | None = None,
) -> FastAPI:
    """``hub``: the ``LiveHub`` also appended to ``service.observers`` (one is made when omitted).

    ``forecasts``: where days-to-empty come from; by default the fleet forecaster
    (``collector.forecast``) when it is installed, refreshed in the background; ``False`` for none.
    """
    if isinstance(service_or_db_path, str | Path):
        service = None
        db_path = Path(service_or_db_path)
        config = config or CollectorConfig()
    else:
        service = service_or_db_path
        db_path = service.config.db_path()
        config = config or service.config
        clock = clock or service.clock
    clock = clock or time.time
    data.ensure_schema(db_path)
    hub = hub or LiveHub(db_path, clock=clock)
    if hub.db_path is None:
        hub.db_path = db_path
    if forecasts is None and hub.forecasts is None and fleet_forecasts.available():
        forecasts = fleet_forecasts.CachedForecasts(db_path)
    if forecasts is not None:
        hub.forecasts = forecasts or None
    ctx = WebContext(db_path=db_path, config=config, hub=hub, service=service, clock=clock, started_at=clock())

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(hub.run(), name="wall-hub")
        try:
            yield
        finally:
            hub.close()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(task, 5)

    app = FastAPI(
        title="fleetwatch collector",
        version="1",
        description="Devices, readings, incidents and maintenance windows of a fleetwatch collector. "
        "Authenticate with `Authorization: Bearer <token>` (`fleetwatch tokens create`).",
        docs_url=None,  # replaced below: FastAPI's default page loads Swagger UI from a CDN
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.web = ctx
    app.include_router(router)
    app.include_router(reports_router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="fleetwatch API",
            swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/static/vendor/swagger-ui/favicon-32x32.png",
        )

    @app.get("/healthz", tags=["health"])
    def healthz(request: Request) -> JSONResponse:
        c = ctx_of(request)
        try:
            with data.reading(c.db_path) as conn:
                devices = int(conn.execute("SELECT COUNT(*) FROM devices").fetchone()[0])
        except incident_db.DATABASE_ERRORS as exc:
            return JSONResponse({"status": "error", "error": f"database: {exc}"}, status_code=503)
        return JSONResponse(
            {
                "status": "ok",
                "devices": devices,
                "ingest": c.service is not None,
                "wall_ready": c.hub.state is not None,
                "uptime_s": round(c.clock() - c.started_at, 1),
            }
        )

    @app.get("/metrics", tags=["health"], response_class=PlainTextResponse)
    def prometheus(request: Request) -> PlainTextResponse:
        c = ctx_of(request)
        with data.reading(c.db_path) as conn:
            by_sev = data.open_by_severity(conn)
            devices = int(conn.execute("SELECT COUNT(*) FROM devices").fetchone()[0])
        body = metrics.render(
            c.service.stats if c.service is not None else None,
            by_sev,
            devices=devices,
            wall_subscribers=c.hub.subscribers,
            wall_refresh_seconds=c.hub.last_refresh_seconds,
            uptime_seconds=c.clock() - c.started_at,
            agents=c.service.agents if c.service is not None else None,
        )
        return PlainTextResponse(body, media_type=metrics.CONTENT_TYPE)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/ui/devices")

    @app.get("/wall", include_in_schema=False)
    def wall_page() -> FileResponse:
        return FileResponse(STATIC / "wall.html", headers={"Cache-Control": "no-cache"})

    @app.get("/ui", include_in_schema=False)
    @app.get("/ui/{rest:path}", include_in_schema=False)
    def ui_page(rest: str = "") -> FileResponse:
        return FileResponse(STATIC / "ui.html", headers={"Cache-Control": "no-cache"})

    return app
