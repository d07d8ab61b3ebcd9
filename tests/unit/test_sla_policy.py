"""The shipped policy loads, and a broken policy is a clear error naming what is wrong."""

from __future__ import annotations

from datetime import timedelta

import pytest
import yaml

from collector.incidents.policy import PolicyError, load_policy, parse_duration
from collector.incidents.testing import policy_dict


def test_shipped_policy_loads_with_documented_example() -> None:
    p = load_policy()  # deploy/sla.yaml
    assert set(p.tiers) == {"standard", "premium", "vip"}
    assert p.tiers["premium"].targets["P2"].respond == timedelta(hours=1)  # the example
    assert p.tiers["premium"].targets["P2"].resolve == timedelta(hours=4)
    assert p.tiers["vip"].hours == "24x7"
    assert p.calendars["office"].weekdays == [0, 1, 2, 3, 4]
    assert p.tier_for({"tier": "vip"}) == "vip"
    assert p.tier_for({}) == p.default_tier


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("5m", 300), ("1h30m", 5400), ("2d", 172800), ("1d2h", 93600)],
)
def test_compact_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


def _broken(mutate) -> dict:
    d = policy_dict()
    mutate(d)
    return d


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        pytest.param(lambda d: d.update(default_tier="gold"), "default_tier", id="unknown-default-tier"),
        pytest.param(lambda d: d["tiers"]["vip"].update(hours="night"), "night", id="unknown-calendar"),
        pytest.param(lambda d: d["tiers"]["vip"]["targets"].pop("P3"), "P3", id="missing-severity"),
        pytest.param(lambda d: d["escalation"][0].update(notify=["pager"]), "pager", id="unknown-channel"),
        pytest.param(lambda d: d["escalation"][1].pop("at"), "at", id="deadline-without-fraction"),
        pytest.param(lambda d: d["escalation"].append(dict(d["escalation"][0])), "unique", id="duplicate-step"),
        pytest.param(lambda d: d.update(colour="red"), "colour", id="unknown-key"),
    ],
)
def test_bad_policy_names_the_problem(tmp_path, mutate, match: str) -> None:

    path = tmp_path / "sla.yaml"
    path.write_text(yaml.safe_dump(_broken(mutate)))
    with pytest.raises(PolicyError, match=match):
        load_policy(path)


def test_missing_policy_file(tmp_path) -> None:
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(tmp_path / "nope.yaml")
