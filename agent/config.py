"""Agent configuration (``agent.yaml``), validated at start.

A bad file stops the agent before it polls anything, with the file, the
field path and what was expected (``ConfigError``). ``deploy/agent.example.yaml``
is the documented sample and is loaded by a test, so it cannot rot.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from agent.snmp import AUTH_PROTOCOLS, PRIV_PROTOCOLS, Credentials

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_duration(value: object) -> float:
    """``30``, ``"30s"``, ``"5m"``, ``"1h"`` -> seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        m = _DURATION.match(value)
        if m:
            return float(m.group(1)) * _UNIT_SECONDS[m.group(2)]
    raise ValueError(f"expected a duration like 30, '30s', '5m' or '1h', got {value!r}")


class ConfigError(Exception):
    """A config file that cannot be used; the message names file and field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SnmpV3(_Strict):
    user: str
    auth_protocol: Literal[tuple(AUTH_PROTOCOLS)] = "sha"  # type: ignore[valid-type]
    auth_key: SecretStr | None = None
    priv_protocol: Literal[tuple(PRIV_PROTOCOLS)] = "none"  # type: ignore[valid-type]
    priv_key: SecretStr | None = None
    context: str = ""

    @model_validator(mode="after")
    def _keys_present(self) -> SnmpV3:
        if self.auth_protocol != "none" and not self.auth_key:
            raise ValueError("auth_key is required when auth_protocol is set")
        if self.priv_protocol != "none" and not self.priv_key:
            raise ValueError("priv_key is required when priv_protocol is set")
        if self.priv_protocol != "none" and self.auth_protocol == "none":
            raise ValueError("SNMPv3 privacy needs authentication (authPriv): set auth_protocol")
        for name in ("auth_key", "priv_key"):
            key = getattr(self, name)
            if key is not None and len(key.get_secret_value()) < 8:
                raise ValueError(f"{name} must be at least 8 characters (RFC 3414)")
        return self


class Defaults(_Strict):
    version: Literal["1", "2c", "3"] = "2c"
    community: SecretStr = SecretStr("public")
    port: int = Field(161, ge=1, le=65535)
    interval: float = 60.0
    timeout: float = 2.0
    retries: int = Field(1, ge=0, le=10)
    identity_every: int = Field(10, ge=1, description="refresh identity/static data every N polls")

    _durations = field_validator("interval", "timeout", mode="before")(lambda v: parse_duration(v))


class Target(_Strict):
    name: str | None = Field(None, description="device id; defaults to address[:port]")
    address: str
    port: int | None = Field(None, ge=1, le=65535)
    version: Literal["1", "2c", "3"] | None = None
    community: SecretStr | None = None
    v3: SnmpV3 | None = None
    interval: float | None = None
    timeout: float | None = None
    retries: int | None = Field(None, ge=0, le=10)
    labels: dict[str, str] = Field(default_factory=dict)
    parent: str | None = Field(None, description="device id this device sits behind (e.g. its switch)")

    _durations = field_validator("interval", "timeout", mode="before")(
        lambda v: None if v is None else parse_duration(v)
    )

    @field_validator("address")
    @classmethod
    def _address_not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("address must not be empty")
        return v.strip()


class ResolvedTarget(BaseModel):
    """A target with defaults applied: what the poller works with."""

    device_id: str
    address: str
    port: int
    credentials: Credentials
    interval: float
    timeout: float
    retries: int
    identity_every: int
    labels: dict[str, str]
    parent: str | None = None

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)


LOOPBACK_HOSTS = ("localhost", "::1", "[::1]")


def is_local_endpoint(endpoint: str) -> bool:
    """A ZeroMQ endpoint whose traffic never leaves this machine: loopback TCP, ipc:// or inproc://."""
    scheme, _, rest = endpoint.partition("://")
    if scheme in ("ipc", "inproc"):
        return True
    if scheme != "tcp":
        return False
    host = rest.rsplit(":", 1)[0] if ":" in rest else rest
    host = host.split(";")[-1]  # "tcp://source;dest:port": only where it goes matters
    return host.startswith("127.") or host in LOOPBACK_HOSTS


class CollectorLink(_Strict):
    endpoint: str = "tcp://127.0.0.1:8471"
    insecure: bool | None = Field(
        None,
        description="true: plain TCP without CURVE. Must be said for a collector off this machine without keys;"
        " unset: CURVE when the keys are given, plain TCP only to a loopback endpoint",
    )
    server_public_key: Path | None = None
    client_secret_key: Path | None = None
    batch_max_polls: int = Field(200, ge=1)
    batch_max_wait: float = 1.0
    ack_timeout: float = 10.0
    spool_max_batches: int = Field(10000, ge=10, description="bounded on-disk queue; oldest dropped and counted")

    _durations = field_validator("batch_max_wait", "ack_timeout", mode="before")(lambda v: parse_duration(v))

    @property
    def plain(self) -> bool:
        """Whether this link goes without CURVE (the validator made sure that is what the user asked for)."""
        return bool(self.insecure) or (self.insecure is None and self.server_public_key is None)

    @model_validator(mode="after")
    def _encryption_asked_for(self) -> CollectorLink:
        keys = {"server_public_key": self.server_public_key, "client_secret_key": self.client_secret_key}
        missing = [name for name, value in keys.items() if value is None]
        if self.insecure:
            return self
        if self.insecure is False or len(missing) == 1:
            if missing:
                raise ValueError(f"{' and '.join(missing)} required for CURVE (or set insecure: true for plain TCP)")
            return self
        if len(missing) == 2 and not is_local_endpoint(self.endpoint):
            raise ValueError(
                f"endpoint {self.endpoint} is not on this machine: give server_public_key and client_secret_key"
                " for CURVE, or set insecure: true to send plain TCP on purpose"
            )
        return self


class LocalHost(_Strict):
    enabled: bool = True
    name: str | None = Field(None, description="device id for this machine; default: its hostname")
    interval: float = 60.0
    services: list[str] = Field(default_factory=list, description="process names that must be running")
    labels: dict[str, str] = Field(default_factory=dict)

    _durations = field_validator("interval", mode="before")(lambda v: parse_duration(v))


class Discovery(_Strict):
    """Scheduled rediscovery of address ranges; new and vanished devices go to the collector as events."""

    ranges: list[str] = Field(min_length=1, description="CIDR, a-b ranges or addresses (as `fleetwatch discover`)")
    every: float = 3600.0
    port: int = Field(161, ge=1, le=65535)
    communities: list[SecretStr] = Field(default_factory=lambda: [SecretStr("public")])
    v3: SnmpV3 | None = None
    timeout: float = 1.0

    _durations = field_validator("every", "timeout", mode="before")(lambda v: parse_duration(v))

    @field_validator("ranges")
    @classmethod
    def _ranges_expand(cls, v: list[str]) -> list[str]:
        from agent.discover import DiscoverError, expand

        try:
            expand(v)
        except DiscoverError as exc:
            raise ValueError(str(exc)) from None
        return v

    @field_validator("every")
    @classmethod
    def _every_positive(cls, v: float) -> float:
        if v <= 0:
            raise ValueError("every must be a positive duration")
        return v

    def credentials(self) -> list[Credentials]:
        out = [Credentials(version="2c", community=c.get_secret_value()) for c in self.communities]
        if self.v3 is not None:
            out.append(v3_credentials(self.v3))
        return out


def v3_credentials(v3: SnmpV3) -> Credentials:
    return Credentials(
        version="3",
        user=v3.user,
        auth_protocol=v3.auth_protocol,
        auth_key=v3.auth_key.get_secret_value() if v3.auth_key else None,
        priv_protocol=v3.priv_protocol,
        priv_key=v3.priv_key.get_secret_value() if v3.priv_key else None,
        context=v3.context,
    )


class AgentConfig(_Strict):
    agent_id: str = Field("agent", min_length=1)
    collector: CollectorLink = Field(default_factory=CollectorLink)
    collectors: list[CollectorLink] | None = Field(
        None,
        min_length=1,
        description="push every batch to each of these collectors (instead of `collector`), each with its own spool",
    )
    spool_dir: Path = Path(".fleetwatch/agent-spool")
    max_in_flight: int = Field(64, ge=1, le=1000, description="SNMP requests in flight across all targets")
    labels: dict[str, str] = Field(default_factory=dict, description="added to every target's labels")
    defaults: Defaults = Field(default_factory=Defaults)
    local_host: LocalHost = Field(default_factory=LocalHost)
    targets: list[Target] = Field(default_factory=list)
    discovery: Discovery | None = None

    def resolved_targets(self) -> list[ResolvedTarget]:
        d = self.defaults
        out = []
        for t in self.targets:
            port = t.port or d.port
            version = t.version or ("3" if t.v3 else d.version)
            if version == "3":
                v3 = t.v3
                assert v3 is not None  # checked by _unique_and_complete
                creds = v3_credentials(v3)
            else:
                community = (t.community or d.community).get_secret_value()
                creds = Credentials(version=version, community=community)
            out.append(
                ResolvedTarget(
                    device_id=target_id(t, port),
                    address=t.address,
                    port=port,
                    credentials=creds,
                    interval=t.interval or d.interval,
                    timeout=t.timeout or d.timeout,
                    retries=d.retries if t.retries is None else t.retries,
                    identity_every=d.identity_every,
                    labels={**self.labels, **t.labels},
                    parent=t.parent,
                )
            )
        return out

    def links(self) -> list[CollectorLink]:
        """Every collector this agent pushes to; each gets every batch."""
        return list(self.collectors) if self.collectors else [self.collector]

    def spool_dir_for(self, index: int) -> Path:
        """The first collector keeps ``spool_dir`` itself (so a single-collector spool survives adding a second);
        the others get a sub-directory named after their endpoint, stable across reordering."""
        if index == 0:
            return self.spool_dir
        endpoint = self.links()[index].endpoint
        return self.spool_dir / ("to-" + re.sub(r"[^A-Za-z0-9.-]+", "-", endpoint).strip("-"))

    @model_validator(mode="after")
    def _one_collector_form(self) -> AgentConfig:
        if self.collectors is not None and "collector" in self.model_fields_set:
            raise ValueError("collectors: give either `collector` (one) or `collectors` (a list), not both")
        first: dict[str, int] = {}
        for i, link in enumerate(self.collectors or []):
            if link.endpoint in first:
                raise ValueError(
                    f"collectors.{i}.endpoint: {link.endpoint!r} already listed as collectors.{first[link.endpoint]}"
                )
            first[link.endpoint] = i
        return self

    @model_validator(mode="after")
    def _unique_and_complete(self) -> AgentConfig:
        seen: dict[str, int] = {}
        for i, t in enumerate(self.targets):
            version = t.version or ("3" if t.v3 else self.defaults.version)
            if version == "3" and t.v3 is None:
                raise ValueError(f"targets.{i}.v3: SNMPv3 target needs a v3 section (user, keys)")
            did = target_id(t, t.port or self.defaults.port)
            if did in seen:
                raise ValueError(
                    f"targets.{i}.name: device id {did!r} already used by targets.{seen[did]}; give each a unique name"
                )
            seen[did] = i
        return self


def target_id(t: Target, port: int) -> str:
    if t.name:
        return t.name
    if port == 161:
        return t.address
    return f"[{t.address}]:{port}" if ":" in t.address else f"{t.address}:{port}"  # IPv6 keeps its brackets


def format_validation_error(path: Path | str, exc: ValidationError) -> str:
    lines = [f"{path}: invalid configuration"]
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        got = err.get("input")
        got_text = "" if isinstance(got, dict) else f" (got {got!r})"
        if err["type"] == "extra_forbidden":
            lines.append(f"  {loc}: unknown field")
        else:
            lines.append(f"  {loc}: {err['msg']}{got_text}")
    return "\n".join(lines)


def load_yaml_model(path: Path | str, model: type[BaseModel]) -> BaseModel:
    """Load and validate a YAML file; every failure becomes a ConfigError naming the file."""
    p = Path(path)
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{p}: file not found") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML: {exc}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{p}: expected a mapping at the top level, got {type(raw).__name__}")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(p, exc)) from None


def load_agent_config(path: Path | str) -> AgentConfig:
    cfg = load_yaml_model(path, AgentConfig)
    assert isinstance(cfg, AgentConfig)
    return cfg
