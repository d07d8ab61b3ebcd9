"""Run the web app with uvicorn inside the collector's own asyncio loop.

One loop, one process: the API reads the same SQLite file the ingest writes,
and ``LiveHub`` hears about new batches directly as a ``PollObserver``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

import uvicorn

from collector.web.app import create_app
from collector.web.live import LiveHub

if TYPE_CHECKING:
    from fastapi import FastAPI

    from collector.service import CollectorService

log = logging.getLogger("fleetwatch.web")


def make_server(app: FastAPI, host: str, port: int) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        # Open wall streams end when the hub closes; this bounds anything else.
        timeout_graceful_shutdown=3,
    )
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]  # the collector owns signals
    return server


async def serve_app(app: FastAPI, host: str, port: int, stop: asyncio.Event) -> None:
    """Serve until ``stop`` is set; close the wall streams first so shutdown does not wait on them."""
    server = make_server(app, host, port)
    hub: LiveHub = app.state.web.hub

    async def watch() -> None:
        await stop.wait()
        hub.close()
        server.should_exit = True

    watcher = asyncio.create_task(watch(), name="http-stop")
    serving = asyncio.ensure_future(server.serve())
    try:
        # Shielded: CollectorService.run cancels its extra tasks when it stops; uvicorn cancelled
        # mid-loop would skip its shutdown (listening socket, lifespan), so shut it down properly.
        await asyncio.shield(serving)
    except asyncio.CancelledError:
        hub.close()
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(serving, 10)
        raise
    finally:
        watcher.cancel()


async def serve_http(service: CollectorService, stop: asyncio.Event, *, hub: LiveHub | None = None) -> None:
    """The collector's HTTP side on ``http.host:http.port``; returns when ``stop`` is set.

    Pass the ``hub`` that was appended to ``service.observers`` so new batches reach open walls at once.
    """
    http = service.config.http
    if not http.enabled:
        return
    app = create_app(service, service.config, hub=hub)
    log.info("http on http://%s:%d (wall: /wall, API: /api/v1, docs: /docs)", http.host, http.port)
    await serve_app(app, http.host, http.port, stop)
