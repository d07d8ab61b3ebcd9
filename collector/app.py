"""Assemble the collector from its stages (storage, rules, incidents, web) and run it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from agent.config import ConfigError
from collector.config import CollectorConfig
from collector.forecast.stage import ForecastStage
from collector.incidents import db as incident_db
from collector.incidents.manager import IncidentService
from collector.incidents.policy import PolicyError, load_policy
from collector.reports.schedule import ReportScheduler
from collector.service import CollectorService
from collector.stages import RulesStage
from collector.web.live import LiveHub
from collector.web.server import serve_http

log = logging.getLogger("fleetwatch.collector")


class Collector:
    """The running pieces, kept together so tests and the web side can reach them."""

    def __init__(self, config: CollectorConfig) -> None:
        self.config = config
        try:
            policy = load_policy(config.sla_policy_path())
        except PolicyError as exc:
            raise ConfigError(str(exc)) from None
        self.service = CollectorService(config)
        try:
            self.reports = ReportScheduler(config.db_path(), config.reports, policy)
        except ValueError as exc:
            raise ConfigError(f"collector config: {exc}") from None
        # Registered before any reader opens: the web side, reports and CLIs in this state directory follow it.
        target = incident_db.use(config.db_path(), config.incident_db())
        log.info("incident state in %s", incident_db.redact(target))
        try:
            self.incidents = IncidentService(target, policy)
        except Exception as exc:  # psycopg.OperationalError: unreachable server, bad credentials, no database
            if not incident_db.is_url(target):
                raise
            raise ConfigError(f"incidents.database {incident_db.redact(target)}: {exc}") from None
        self.rules = RulesStage(
            config.rule_dirs(),
            config.resolved_state_dir() / "rules_state.json",
            self.incidents,
            overrides=config.devices,
            dependency_wait=config.dependency_wait,
            agents=self.service.agents,
            agent_device_labels=lambda agent: [d.labels for d in self.service.storage.devices() if d.agent_id == agent],
        )
        # Forecasts first: it appends supply_days_to_empty / supply_lead_time_days to the readings the rules see.
        self.forecasts = ForecastStage(config.db_path(), self.incidents)
        self.service.observers.append(self.forecasts)
        self.service.observers.append(self.rules)
        # Last, so incidents are written before the wall refreshes.
        self.hub = LiveHub(config.db_path())
        self.service.observers.append(self.hub)
        self.extra_tasks: list[Callable[[asyncio.Event], object]] = [
            self._deliver_notifications,
            self._scheduled_reports,
            lambda stop: serve_http(self.service, stop, hub=self.hub),
        ]

    async def _deliver_notifications(self, stop: asyncio.Event) -> None:
        """Send queued notifications (webhook / e-mail) with retries; also those queued by CLI actions."""
        await _repeat(
            stop,
            min(self.config.rule_interval, 5.0),
            "notification delivery",
            self.incidents.deliver_pending,
            self.service.clock,
        )

    async def _scheduled_reports(self, stop: asyncio.Event) -> None:
        """Monthly report and daily inspection, once per period and channel (idempotent across restarts)."""
        await _repeat(stop, 60.0, "scheduled report", self.reports.run_due, self.service.clock)

    async def run(self, stop: asyncio.Event) -> None:
        try:
            await self.service.run(stop, extra=self.extra_tasks)
        finally:
            self.rules.tick(self.service.clock())
            self.forecasts.close()
            self.incidents.close()
            self.reports.close()
            incident_db.close_shared()


async def _repeat(
    stop: asyncio.Event,
    period: float,
    what: str,
    job: Callable[[float], Awaitable[object]],
    clock: Callable[[], float],
) -> None:
    """Run ``job(now)`` every ``period`` until stopped; a failing run (a broken receiver, a bad report) is
    logged and retried next period, never allowed to stop the collector."""
    while not stop.is_set():
        try:
            await job(clock())
        except Exception:
            log.exception("%s failed; will retry", what)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), period)


def build(config: CollectorConfig) -> Collector:
    return Collector(config)


async def build_and_run(config: CollectorConfig, stop: asyncio.Event) -> None:
    await build(config).run(stop)
