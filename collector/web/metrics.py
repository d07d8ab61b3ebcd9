"""``/metrics``: the collector's own figures in the Prometheus text format (version 0.0.4).

Written by hand: a dozen series from ``IngestStats`` and the database do not
justify a client library and its global registry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from collector.agent_watch import AgentWatch
from collector.alerts import SEVERITIES
from collector.ingest import IngestStats

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _fmt(value: float) -> str:
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


class Exposition:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def metric(self, name: str, kind: str, help_text: str, samples: Iterable[tuple[Mapping[str, str], float]]) -> None:
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            lab = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
            self.lines.append(f"{name}{{{lab}}} {_fmt(value)}" if lab else f"{name} {_fmt(value)}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def render(
    stats: IngestStats | None,
    open_by_severity: Mapping[str, int],
    *,
    devices: int,
    wall_subscribers: int,
    wall_refresh_seconds: float,
    uptime_seconds: float,
    agents: AgentWatch | None = None,
) -> str:
    e = Exposition()
    if agents is not None:
        names = sorted(agents.last_batch)
        e.metric(
            "fleetwatch_agent_last_batch_timestamp_seconds",
            "gauge",
            "When the collector last received a batch from the agent (alert on time() minus this).",
            [({"agent": a}, agents.last_batch[a]) for a in names],
        )
        e.metric(
            "fleetwatch_agent_silent",
            "gauge",
            "1 while the agent is reported silent (an agent_silent incident), else 0.",
            [({"agent": a}, 1 if a in agents.silent else 0) for a in names],
        )
    if stats is not None:
        e.metric(
            "fleetwatch_batches_received_total",
            "counter",
            "Messages received from agents.",
            [({}, stats.batches_received)],
        )
        e.metric("fleetwatch_batches_stored_total", "counter", "Batches durably stored.", [({}, stats.batches_stored)])
        e.metric(
            "fleetwatch_batches_duplicate_total",
            "counter",
            "Batches received again after being stored.",
            [({}, stats.batches_duplicate)],
        )
        e.metric(
            "fleetwatch_batches_rejected_total",
            "counter",
            "Messages rejected, by reason.",
            [({"reason": r}, n) for r, n in sorted(stats.rejected_by_reason.items())],
        )
        e.metric("fleetwatch_polls_stored_total", "counter", "Device polls stored.", [({}, stats.polls_stored)])
        e.metric("fleetwatch_readings_stored_total", "counter", "Readings stored.", [({}, stats.readings_stored)])
        e.metric(
            "fleetwatch_agent_dropped_batches",
            "gauge",
            "Batches an agent's full spool dropped (as it reports).",
            [({"agent": a}, n) for a, n in sorted(stats.agent_dropped_batches.items())],
        )
        e.metric(
            "fleetwatch_rule_evaluation_seconds_total",
            "counter",
            "Time spent in stages after storage (rules, incidents, forecasts, live updates).",
            [({}, stats.rule_eval_seconds_total)],
        )
        e.metric("fleetwatch_rule_evaluations_total", "counter", "Times those stages ran.", [({}, stats.rule_evals)])
    e.metric(
        "fleetwatch_incidents_open",
        "gauge",
        "Open (or acknowledged, in progress) incidents by severity.",
        [({"severity": s}, open_by_severity.get(s, 0)) for s in SEVERITIES],
    )
    e.metric("fleetwatch_devices", "gauge", "Devices known to the collector.", [({}, devices)])
    e.metric("fleetwatch_wall_subscribers", "gauge", "Wall displays connected.", [({}, wall_subscribers)])
    e.metric(
        "fleetwatch_wall_refresh_seconds",
        "gauge",
        "Time the last wall state refresh took.",
        [({}, wall_refresh_seconds)],
    )
    e.metric(
        "fleetwatch_uptime_seconds", "gauge", "Seconds since this process started serving.", [({}, uptime_seconds)]
    )
    return e.text()
