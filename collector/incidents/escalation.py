"""Which escalation steps are due for an incident at ``now`` (pure).

A step fires once per incident (its name is recorded in
``Incident.escalations``), so a tick after a long pause fires every step
that became due meanwhile, in policy order, and never repeats one.
"""

from __future__ import annotations

from datetime import datetime

from collector.incidents.model import Incident
from collector.incidents.policy import EscalationStep, Target
from collector.incidents.sla import Clock, fraction_point


def fire_time(step: EscalationStep, inc: Incident, clock: Clock, target: Target) -> datetime:
    if step.after is not None:
        return inc.opened_at + step.after  # wall clock: "5 minutes unacknowledged" means 5 real minutes
    assert step.at is not None
    span = target.respond if step.deadline == "response" else target.resolve
    return fraction_point(clock, inc.opened_at, span, step.at)


def applies(step: EscalationStep, inc: Incident) -> bool:
    if inc.severity not in step.severities or (step.tiers is not None and inc.tier not in step.tiers):
        return False
    if not inc.active:
        return False
    return not (step.stop_when == "acknowledged" and inc.acknowledged_at is not None)


def due_steps(
    inc: Incident, steps: list[EscalationStep], clock: Clock, target: Target, now: datetime
) -> list[EscalationStep]:
    fired = {e.step for e in inc.escalations}
    return [s for s in steps if s.name not in fired and applies(s, inc) and fire_time(s, inc, clock, target) <= now]
