"""Collector configuration (``collector.yaml``), validated at start.

Every section has working defaults, so an empty file (or none) runs an
embedded collector on loopback: ZeroMQ on 127.0.0.1:8471, HTTP on
127.0.0.1:8470, state in ``./.fleetwatch``. ``deploy/collector.example.yaml``
is the documented sample and is loaded by a test.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agent.config import ConfigError, is_local_endpoint, load_yaml_model, parse_duration
from collector import paths
from collector.reports.schedule import ReportSchedule

#: Same name as ``collector.incidents.db.ENV`` (not imported: config must not pull in the incident package).
INCIDENT_DB_ENV = "FLEETWATCH_INCIDENT_DB"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DeviceOverride(_Strict):
    """Inventory data the collector adds to what agents report (labels win over the agent's)."""

    labels: dict[str, str] = Field(default_factory=dict)
    parent: str | None = None


class CurveServer(_Strict):
    enabled: bool = False
    server_secret_key: Path | None = None
    allowed_clients_dir: Path | None = Field(None, description="directory of agents' *.key public key files")


class HttpConfig(_Strict):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(8470, ge=1, le=65535)
    anonymous_wall: bool = Field(False, description="let the wall display be read without a token (kiosk)")


class InfluxConfig(_Strict):
    url: str
    token: str = ""
    org: str = "fleetwatch"
    bucket: str = "fleetwatch"


class StorageConfig(_Strict):
    backend: Literal["sqlite", "influxdb"] = "sqlite"
    retention_days: float = Field(90, gt=0)
    influxdb: InfluxConfig | None = None


class IncidentsConfig(_Strict):
    """Where incident state lives (incidents, alert state, maintenance windows, outbox, audit log)."""

    database: str | None = Field(
        None,
        description="a postgresql:// URL shared by several collectors, or a SQLite file path;"
        " default: the collector's own database in the state directory (or $FLEETWATCH_INCIDENT_DB)",
    )

    @field_validator("database")
    @classmethod
    def _target(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None
        v = v.strip()
        if "://" in v and not v.startswith(("postgresql://", "postgres://")):
            raise ValueError(f"incidents.database: only postgresql:// URLs or a file path, got {v.split('://')[0]}://")
        return v


class CollectorConfig(_Strict):
    listen: str = "tcp://127.0.0.1:8471"
    state_dir: Path | None = Field(None, description="default ./.fleetwatch (or $FLEETWATCH_STATE)")
    storage: StorageConfig = Field(default_factory=StorageConfig)
    incidents: IncidentsConfig = Field(default_factory=IncidentsConfig)
    curve: CurveServer = Field(default_factory=CurveServer)
    insecure: bool = Field(
        False, description="accept plain TCP from agents on a non-loopback listen address (without curve.enabled)"
    )
    http: HttpConfig = Field(default_factory=HttpConfig)
    rules_dirs: list[Path] = Field(default_factory=list, description="user rule directories, after the shipped ones")
    shipped_rules: bool = True
    sla_policy: Path | None = Field(None, description="SLA/escalation/notification policy; default deploy/sla.yaml")
    rule_interval: float = 10.0
    stale_after: float = Field(300.0, description="a device silent this long is reported unreachable")
    max_message_bytes: int = Field(32 * 1024 * 1024, ge=1024)
    devices: dict[str, DeviceOverride] = Field(default_factory=dict)
    reports: ReportSchedule = Field(
        default_factory=ReportSchedule, description="monthly report and daily inspection, delivered by channel"
    )
    dependency_wait: float = Field(180.0, description="how long a device-down alert waits for its failing parent")

    _durations = field_validator("rule_interval", "stale_after", "dependency_wait", mode="before")(
        lambda v: parse_duration(v)
    )

    @model_validator(mode="after")
    def _plain_tcp_asked_for(self) -> CollectorConfig:
        if self.curve.enabled and self.insecure:
            raise ValueError("insecure: true contradicts curve.enabled: true; keep one")
        if not self.curve.enabled and not self.insecure and not is_local_endpoint(self.listen):
            raise ValueError(
                f"listen: {self.listen} accepts agents from other machines: set curve.enabled: true (with keys) to"
                " encrypt and authenticate them, or insecure: true to accept plain TCP on purpose"
            )
        return self

    def resolved_state_dir(self) -> Path:
        return paths.state_dir(self.state_dir)

    def db_path(self) -> Path:
        return self.resolved_state_dir() / paths.DB_FILENAME

    def incident_db(self) -> str | Path:
        """The incident database: ``incidents.database``, else ``$FLEETWATCH_INCIDENT_DB``, else ``db_path()``."""
        target = self.incidents.database or os.environ.get(INCIDENT_DB_ENV, "").strip()
        if not target:
            return self.db_path()
        return target if "://" in target else Path(target)

    def rule_dirs(self) -> list[Path]:
        dirs = [paths.shipped_rules_dir()] if self.shipped_rules else []
        return dirs + list(self.rules_dirs)

    def sla_policy_path(self) -> Path:
        return self.sla_policy or (paths.deploy_dir() / "sla.yaml")


def load_collector_config(path: Path | str | None) -> CollectorConfig:
    if path is None:
        return CollectorConfig()
    cfg = load_yaml_model(path, CollectorConfig)
    assert isinstance(cfg, CollectorConfig)
    return cfg


__all__ = ["CollectorConfig", "ConfigError", "load_collector_config"]
