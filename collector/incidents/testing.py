"""Builders for tests (ours and the collector's): a small explicit policy, events, devices.

Tests use this policy rather than ``deploy/sla.yaml`` so that editing the
shipped defaults never silently changes what a test asserts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from collector.alerts import AlertEvent, AlertState, Severity
from collector.incidents.model import DeviceInfo
from collector.incidents.policy import Policy

PARIS = ZoneInfo("Europe/Paris")


def paris(*args: int) -> datetime:
    """A wall-clock time in Paris (the test calendar's zone)."""
    return datetime(*args, tzinfo=PARIS)  # type: ignore[misc]


def ts(dt: datetime) -> float:
    return dt.timestamp()


def policy_dict() -> dict[str, Any]:
    return {
        "default_tier": "standard",
        "reopen_window": "1h",
        "calendars": {
            "office": {
                "timezone": "Europe/Paris",
                "weekdays": ["mon", "tue", "wed", "thu", "fri"],
                "start": "08:00",
                "end": "18:00",
                "holidays": ["2026-05-01"],
            }
        },
        "tiers": {
            "standard": {
                "hours": "office",
                "targets": {
                    "P1": {"respond": "2h", "resolve": "8h"},
                    "P2": {"respond": "4h", "resolve": "16h"},
                    "P3": {"respond": "8h", "resolve": "3d"},
                    "P4": {"respond": "2d", "resolve": "10d"},
                },
            },
            "premium": {
                "hours": "office",
                "targets": {
                    "P1": {"respond": "30m", "resolve": "4h"},
                    "P2": {"respond": "1h", "resolve": "4h"},
                    "P3": {"respond": "4h", "resolve": "1d"},
                    "P4": {"respond": "1d", "resolve": "5d"},
                },
            },
            "vip": {
                "hours": "24x7",
                "targets": {
                    "P1": {"respond": "15m", "resolve": "2h"},
                    "P2": {"respond": "30m", "resolve": "4h"},
                    "P3": {"respond": "2h", "resolve": "12h"},
                    "P4": {"respond": "8h", "resolve": "3d"},
                },
            },
        },
        "escalation": [
            {"name": "p1-lead", "severities": ["P1"], "after": "5m", "notify": ["lead"]},
            {"name": "response-80", "deadline": "response", "at": 0.8, "notify": ["lead"]},
            {"name": "response-breach", "deadline": "response", "at": 1.0, "notify": ["lead"]},
            {"name": "resolve-80", "deadline": "resolve", "at": 0.8, "notify": ["lead"]},
            {"name": "resolve-breach", "deadline": "resolve", "at": 1.0, "notify": ["lead"]},
        ],
        "notify": {
            "channels": {
                "hook": {"type": "webhook", "url": "http://127.0.0.1:9/none"},
                "lead": {"type": "email", "host": "127.0.0.1", "port": 9, "to": ["lead@example.test"]},
            },
            "routes": [{"events": ["open", "reopen", "acknowledge", "resolve"], "channels": ["hook"]}],
            "retry": {"first": "10s", "cap": "5m"},
        },
    }


def make_policy(**overrides: Any) -> Policy:
    d = policy_dict()
    d.update(overrides)
    return Policy.model_validate(d)


def device(
    device_id: str = "printer-1", *, tier: str | None = None, parent: str | None = None, **labels: str
) -> DeviceInfo:
    if tier:
        labels["tier"] = tier
    return DeviceInfo(
        device_id=device_id,
        labels=labels,
        parent=parent,
        vendor="Brother",
        model="HL-L8360CDW",
        serial=f"SN-{device_id}",
        location="2nd floor",
        kind="printer",
    )


def event(
    state: AlertState | str,
    at: datetime,
    *,
    device_id: str = "printer-1",
    rule: str = "printer_jam",
    severity: Severity = "P2",
    labels: tuple[tuple[str, str], ...] = (),
    suppresses_device: bool = False,
    auto_resolve: bool = True,
    incident_type: str = "fault",
    values: dict[str, float | str] | None = None,
) -> AlertEvent:
    return AlertEvent(
        state=AlertState(state),
        rule=rule,
        device_id=device_id,
        labels=labels,
        severity=severity,
        at=at.timestamp(),
        since=at.timestamp() - 60,
        annotations={"summary": f"{rule} on {device_id}", "description": f"{rule} detected"},
        values=values if values is not None else {"printer_error": 1.0},
        auto_resolve=auto_resolve,
        incident_type=incident_type,
        suppresses_device=suppresses_device,
    )
