"""``ForecastStage``: keeps every supply's forecast current inside the running collector.

Runs as a ``PollObserver`` *before* the rules stage. For each stored poll it:

1. recomputes a supply's forecast when its level (or part number) changed
   at this poll or the previous one (the reading after a jump confirms or
   refutes a replacement), or the last computation is older than
   ``refresh`` seconds; from the supply's history (``forecast.history.
   DeviceHistory``: level change points over ``history_days``, i.e. the
   installed unit since its fitting plus the previous units, whose yield is
   the best prior, and the hourly page counter over the demand window; kept in
   memory, only rows stored since the last read are read); the result goes to
   the ``forecasts`` table (columns documented in ``forecast.store``);
2. appends readings to that poll's list, in place, with the labels of the
   supply's ``supply_percent`` reading, so rules can compare them:
   ``supply_days_to_empty`` (days from the poll until empty / full; absent
   when there is no forecast) and ``supply_lead_time_days`` (the supplier lead
   time of the supply's part, only when that part is under stock management);
3. on a confirmed replacement (the reading after the jump agrees) records the
   finished cartridge life (``cartridge_lives``) and takes one unit of the
   fitted part off the shelf (``stock.store.consume_for_replacement``);
4. learns which devices use which part (``stock_part_devices``).

On ``tick`` it re-reads the stock (the CLI edits it from another process),
turns parts below their reorder point into supply-order alerts for the
incident manager (``stock.orders``) and publishes its own cost counters to
``collector_stats`` (``forecast_*`` keys): seconds spent per poll is
``forecast_observe_seconds_total / forecast_polls``.
"""

from __future__ import annotations

import itertools
import logging
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from agent.wire import DevicePoll, Supply
from collector.alerts import AlertEvent, AlertState
from collector.forecast.forecaster import Series, forecast_series
from collector.forecast.history import DeviceHistory, SupplyKey
from collector.forecast.model import Calendar, CartridgeLife, Forecast, Prior, SupplyKind
from collector.forecast.store import SupplyInfo, ensure_schema, fleet_yields, record_life, upsert_forecast
from collector.incidents.manager import IncidentService
from collector.incidents.model import DeviceInfo
from collector.series import Labels, Reading
from collector.stock import orders
from collector.stock import store as stock
from collector.storage.sqlite import connect

log = logging.getLogger("fleetwatch.collector.forecast")

DAY = 86400.0


@dataclass
class _Tracked:
    """What the stage remembers about one supply between polls."""

    key: SupplyKey
    labels: Labels
    level: float | None
    part: str | None
    computed_at: float
    forecast: Forecast
    recorded: set[float] = field(default_factory=set)  # removal times already written
    # The level changed at this poll: recompute at the next one too, which confirms (or refutes) a jump.
    recheck: bool = False


@dataclass
class StageStats:
    polls: int = 0
    observe_seconds: float = 0.0
    observe_seconds_max: float = 0.0
    recomputes: int = 0
    recompute_seconds: float = 0.0
    replacements: int = 0
    stock_decrements: int = 0
    order_events: int = 0

    def flat(self) -> dict[str, float]:
        return {
            "forecast_polls": self.polls,
            "forecast_observe_seconds_total": self.observe_seconds,
            "forecast_observe_seconds_max": self.observe_seconds_max,
            "forecast_recomputes": self.recomputes,
            "forecast_recompute_seconds_total": self.recompute_seconds,
            "forecast_replacements": self.replacements,
            "stock_decrements": self.stock_decrements,
            "stock_order_events": self.order_events,
        }


class ForecastStage:
    """Forecasts, cartridge lives and stock inside the collector (see module doc)."""

    def __init__(
        self,
        db_path: Path | str,
        incidents: IncidentService | None = None,
        *,
        refresh: float = 300.0,
        history_days: float = 180.0,
        planning_days: float = 90.0,
        calendar: Calendar | None = None,
        usage_refresh: float = 3600.0,
    ) -> None:
        self.db = connect(db_path)
        ensure_schema(self.db)
        stock.ensure_schema(self.db)
        self.incidents = incidents
        self.refresh = refresh
        self.history_days = history_days
        self.planning_days = planning_days
        self.calendar = calendar or Calendar()
        self.usage_refresh = usage_refresh
        self.stats = StageStats()
        self._tracked: dict[tuple[str, str], _Tracked] = {}
        self._history: dict[str, DeviceHistory] = {}
        self._usage: dict[tuple[str, str, str], float] = {}
        self._yields: dict[tuple[str | None, str | None, str | None], tuple[float, list[tuple[str, float]]]] = {}
        self.parts: dict[str, stock.StockPart] = {}
        self._reload_parts()

    def close(self) -> None:
        self.db.close()

    # -- per poll ------------------------------------------------------------------------------------------

    def observe(self, polls: list[DevicePoll], readings: list[list[Reading]], now: float) -> None:
        for poll, poll_readings in zip(polls, readings, strict=True):
            if not poll.reachable or not poll.supplies:
                continue
            started = time.perf_counter()
            try:
                with stock.transaction(self.db):
                    poll_readings.extend(self._observe_poll(poll, poll_readings, now))
            except Exception:
                log.exception("forecast failed for %s; its readings go to the rules without forecasts", poll.device_id)
            took = time.perf_counter() - started
            self.stats.polls += 1
            self.stats.observe_seconds += took
            self.stats.observe_seconds_max = max(self.stats.observe_seconds_max, took)

    def _observe_poll(self, poll: DevicePoll, poll_readings: list[Reading], now: float) -> list[Reading]:
        pct = {r.label("supply"): r.labels for r in poll_readings if r.metric == "supply_percent"}
        extra: list[Reading] = []
        for s in poll.supplies:
            if s.part_number:
                self._learn_usage(poll, s, now)
            labels = pct.get(s.index)
            if labels is None:
                continue  # no percent (state-only or unknown level): nothing to forecast from here
            tr = self._tracked.get((poll.device_id, s.index))
            if (
                tr is None
                or tr.level != s.percent
                or tr.part != s.part_number
                or tr.recheck
                or poll.ts - tr.computed_at >= self.refresh
                or poll.ts < tr.computed_at
            ):
                tr = self._recompute(poll, s, labels, tr, now)
            f = tr.forecast
            if f.empty_at is not None:
                extra.append(Reading("supply_days_to_empty", labels, max(0.0, (f.empty_at - poll.ts) / DAY)))
            sp = self.parts.get(s.part_number or "")
            if sp is not None:
                extra.append(Reading("supply_lead_time_days", labels, float(sp.part.lead_time_days)))
        return extra

    def _learn_usage(self, poll: DevicePoll, s: Supply, now: float) -> None:
        key = (s.part_number or "", poll.device_id, s.index)
        last = self._usage.get(key)
        if last is not None and now - last < self.usage_refresh:
            return
        stock.learn_part(self.db, key[0], s.description, poll.device_id, s.index, now)
        self._usage[key] = now

    def _recompute(self, poll: DevicePoll, s: Supply, labels: Labels, tr: _Tracked | None, now: float) -> _Tracked:
        started = time.perf_counter()
        key = SupplyKey(poll.device_id, s.index, s.type, s.color)
        hist = self._history.get(poll.device_id)
        if hist is None:
            hist = self._history[poll.device_id] = DeviceHistory(
                self.db, poll.device_id, history_days=self.history_days
            )
        series = hist.series(key, poll.ts, rescan=tr is None or tr.labels != labels)
        kind = SupplyKind.receptacle if s.supply_class == "receptacle" else SupplyKind.consumed
        info = SupplyInfo(poll.device_id, s.index, s.part_number, s.description, s.type, s.color, poll.device.model)
        f = forecast_series(series, poll.ts, kind=kind, prior=self._prior(info), calendar=self.calendar)
        upsert_forecast(self.db, info, f)
        new = _Tracked(
            key,
            labels,
            s.percent,
            s.part_number,
            poll.ts,
            f,
            tr.recorded if tr else set(),
            recheck=tr is not None and (tr.level != s.percent or tr.part != s.part_number),
        )
        self._record_replacements(info, series, f.lives, new, now)
        self._tracked[(poll.device_id, s.index)] = new
        self.stats.recomputes += 1
        self.stats.recompute_seconds += time.perf_counter() - started
        return new

    def _prior(self, info: SupplyInfo) -> Prior | None:
        """Per-model yield from recorded lives of *other* devices (the forecaster finds the supply's own
        previous cartridge in its history)."""
        k = (info.model, info.type, info.color)
        cached = self._yields.get(k)
        if cached is None or time.monotonic() - cached[0] > 3600:
            cached = (time.monotonic(), fleet_yields(self.db, *k))
            self._yields[k] = cached
        vals = [ppp for dev, ppp in cached[1] if dev != info.device]
        return Prior(statistics.median(vals), 0.25, "fleet") if len(vals) >= 2 else None

    def _record_replacements(
        self, info: SupplyInfo, series: Series, lives: tuple[CartridgeLife, ...], tr: _Tracked, now: float
    ) -> None:
        for old, new in itertools.pairwise(lives):
            if old.removed_at is None or old.removed_at in tr.recorded or new.end_index <= new.start_index:
                continue  # not a replacement, already recorded, or not yet confirmed by a later reading
            tr.recorded.add(old.removed_at)
            carts = series.cartridges or []
            i = int(np.searchsorted(series.t, old.removed_at))
            fitted = carts[i] if i < len(carts) else None
            removed_part = carts[i - 1] if 0 < i <= len(carts) else None
            life_info = SupplyInfo(
                info.device, info.supply, removed_part or fitted, info.description, info.type, info.color, info.model
            )
            if not record_life(self.db, life_info, old, fitted, now):
                continue
            self.stats.replacements += 1
            self._yields.pop((info.model, info.type, info.color), None)
            log.info(
                "replacement on %s supply %s at %.0f (%s, %s pages, swapped early: %s)",
                info.device,
                info.supply,
                old.removed_at,
                old.cause,
                old.pages_printed,
                old.swapped_early,
            )
            if fitted and stock.consume_for_replacement(self.db, fitted, info.device, info.supply, old.removed_at, now):
                self.stats.stock_decrements += 1

    # -- periodic ------------------------------------------------------------------------------------------

    def _reload_parts(self) -> None:
        self.parts = {sp.part.part_number: sp for sp in stock.list_parts(self.db, managed_only=True)}

    def tick(self, now: float) -> None:
        self._reload_parts()
        events = self._stock_events(now)
        if events and self.incidents is not None:
            devices = {e.device_id: self._stock_device(dict(e.labels)["part_number"]) for e in events}
            self.incidents.handle(events, devices, now)
        self.db.executemany(
            "INSERT INTO collector_stats(key, value, updated) VALUES (?,?,?) "
            "ON CONFLICT(key) DO UPDATE SET value=excluded.value, updated=excluded.updated",
            [(k, float(v), now) for k, v in self.stats.flat().items()],
        )

    def _stock_device(self, part_number: str) -> DeviceInfo:
        """The incident's "device" for a part: the shelf it sits on."""
        sp = self.parts.get(part_number)
        return DeviceInfo(
            device_id=orders.device_id(part_number),
            kind="stock",
            model=(sp.part.description or None) if sp else None,
            location=sp.part.location if sp else None,
        )

    def _stock_events(self, now: float) -> list[AlertEvent]:
        events: list[AlertEvent] = []
        with stock.transaction(self.db):
            for sp, rec in orders.evaluate(self.db, now, self.planning_days):
                need = orders.decide(sp.part, rec)
                since = sp.order_alert_since
                if need is not None and since is None:
                    events.append(orders.event(sp.part, rec, need, AlertState.firing, now, now))
                    stock.set_order_alert(self.db, sp.part.part_number, now)
                elif need is None and since is not None:
                    events.append(orders.event(sp.part, rec, None, AlertState.resolved, since, now))
                    stock.set_order_alert(self.db, sp.part.part_number, None)
        for e in events:
            log.info("%s %s: %s", e.state.value, e.device_id, e.annotations.get("summary"))
        self.stats.order_events += len(events)
        return events
