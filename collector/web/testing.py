"""Builders for web tests: a fleet stored through the real ``SqliteStorage``, incidents through the real manager.

Used by the API tests and the browser tests, so both look at data written
exactly as the collector writes it.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import uuid
from collections.abc import Iterable
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from agent.wire import Counters, Device, DeviceKind, DevicePoll, PrinterStatus, Supply, SupplyState
from collector.incidents.manager import IncidentService
from collector.incidents.model import DeviceInfo, Incident, utc
from collector.incidents.testing import event, make_policy
from collector.series import flatten
from collector.storage.sqlite import SqliteStorage
from collector.web.server import make_server

SITES = ("hq", "plant", "depot")
DEPARTMENTS = ("finance", "sales", "it", "ops")


def printer_poll(
    device_id: str,
    ts: float,
    *,
    site: str = "hq",
    department: str = "finance",
    black: float | None = 80.0,
    waste_fill: float | None = 20.0,
    pages: int = 10_000,
    jammed: bool = False,
    reachable: bool = True,
) -> DevicePoll:
    supplies = [
        Supply(
            index="1.1",
            description="Black Toner Cartridge",
            part_number="TN-421BK",
            type="toner",
            color="black",
            capacity=100,
            level=None if black is None else int(black),
            percent=black,
            state=SupplyState.ok if black is not None else SupplyState.unknown,
        ),
        Supply(
            index="1.2",
            description="Waste Toner Box",
            type="waste_toner",
            **{"class": "receptacle"},
            capacity=100,
            level=None if waste_fill is None else int(waste_fill),
            percent=waste_fill,
            state=SupplyState.ok if waste_fill is not None else SupplyState.unknown,
        ),
    ]
    return DevicePoll(
        device_id=device_id,
        ts=ts,
        duration_s=0.2,
        reachable=reachable,
        labels={"site": site, "department": department},
        device=Device(
            address="127.0.0.1",
            sys_name=device_id,
            vendor="Brother",
            model="HL-L8360CDW",
            serial=f"SN-{device_id}",
            kind=DeviceKind.printer,
            uptime_s=1000.0 + ts % 1000,
        ),
        supplies=supplies if reachable else [],
        counters=Counters(total_pages=pages) if reachable else Counters(),
        printer_status=PrinterStatus(
            printer_status="idle", device_status="running", error_flags=["jammed"] if jammed else []
        )
        if reachable
        else None,
    )


def store(storage: SqliteStorage, polls: Iterable[DevicePoll], now: float, agent_id: str = "agent-test") -> None:
    polls = list(polls)
    storage.store_batch(uuid.uuid4().hex, agent_id, polls, [flatten(p) for p in polls], now)


def device_id(i: int) -> str:
    return f"prn-{i:04d}"


def fleet(n: int, ts: float) -> list[DevicePoll]:
    """``n`` printers over the sites and departments, with a few low supplies."""
    return [
        printer_poll(
            device_id(i),
            ts,
            site=SITES[i % len(SITES)],
            department=DEPARTMENTS[i % len(DEPARTMENTS)],
            black=5.0 if i % 97 == 0 else 60.0 + i % 40,
            pages=10_000 + i,
        )
        for i in range(n)
    ]


def fill(db_path: Path, n: int, ts: float, batch: int = 500) -> None:
    storage = SqliteStorage(db_path)
    try:
        polls = fleet(n, ts)
        for start in range(0, n, batch):
            store(storage, polls[start : start + batch], ts)
    finally:
        storage.close()


def open_incident(
    db_path: Path,
    device: str,
    now: float,
    *,
    rule: str = "paper_jam",
    severity: str = "P2",
    labels: dict[str, str] | None = None,
) -> Incident:
    """Open an incident the way the collector does: a firing alert handed to the incident manager."""
    svc = IncidentService(db_path, make_policy())
    try:
        info = DeviceInfo(device_id=device, labels=labels or {}, kind="printer")
        ev = event("firing", utc(now), device_id=device, rule=rule, severity=severity)  # type: ignore[arg-type]
        changed = svc.handle([ev], {device: info}, now)
    finally:
        svc.close()
    assert changed, f"the manager opened no incident for {device}"
    return changed[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerThread:
    """A real uvicorn server for the app on 127.0.0.1, in a thread with its own event loop."""

    def __init__(self, app: FastAPI, port: int | None = None) -> None:
        self.app = app
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._server: uvicorn.Server | None = None
        self._error: BaseException | None = None

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            hub = self.app.state.web.hub
            self._server = make_server(self.app, "127.0.0.1", self.port)

            async def watch() -> None:
                assert self._stop is not None
                await self._stop.wait()
                hub.close()
                assert self._server is not None
                self._server.should_exit = True

            watcher = asyncio.create_task(watch())
            try:
                await self._server.serve()
            finally:
                watcher.cancel()

        try:
            asyncio.run(main())
        except BaseException as exc:  # noqa: BLE001 - reported by start() in the test thread
            self._error = exc

    def start(self, timeout: float = 10.0) -> ServerThread:
        self._thread = threading.Thread(target=self._run, name=f"uvicorn-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not (self._server is not None and self._server.started):
            if self._error is not None or not self._thread.is_alive():
                raise RuntimeError(f"server did not start: {self._error!r}")
            if time.monotonic() > deadline:
                raise TimeoutError("server did not start")
            time.sleep(0.02)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise TimeoutError("server did not stop")
