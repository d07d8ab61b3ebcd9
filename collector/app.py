"""Assemble the collector from its stages (storage, rules, incidents, web) and run it."""

from __future__ import annotations

import asyncio
import logging

from collector.config import CollectorConfig
from collector.service import CollectorService

log = logging.getLogger("fleetwatch.collector")


def build(config: CollectorConfig) -> CollectorService:
    service = CollectorService(config)
    return service


async def build_and_run(config: CollectorConfig, stop: asyncio.Event) -> None:
    service = build(config)
    await service.run(stop)
