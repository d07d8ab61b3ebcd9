"""The shipped rule files load cleanly and pass their own tests (rules/tests/*.yaml)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from collector.paths import shipped_rules_dir
from collector.rules import load_rules
from collector.rules.testing import run_file

RULES = shipped_rules_dir()
TEST_FILES = sorted((RULES / "tests").glob("*.yaml"))


def test_shipped_rules_load_without_errors() -> None:
    rules, errors = load_rules([RULES])
    assert [str(e) for e in errors] == []
    assert len(rules) >= 20
    for r in rules:
        assert r.annotations.get("summary"), f"{r.alert} has no summary"
        assert r.annotations.get("runbook"), f"{r.alert} has no runbook text"


@pytest.mark.parametrize("path", TEST_FILES, ids=[p.name for p in TEST_FILES])
def test_shipped_rule_tests_pass(path: Path) -> None:
    checks, failures = run_file(path)
    assert [str(f) for f in failures] == []
    assert checks > 0


def test_every_shipped_rule_has_a_test_where_it_fires() -> None:
    rules, _ = load_rules([RULES])
    fired: set[str] = set()
    for path in TEST_FILES:
        for test in yaml.safe_load(path.read_text())["tests"]:
            fired |= {c["alertname"] for c in test["alert_rule_test"] if c.get("exp_alerts")}
    assert sorted(r.alert for r in rules if r.alert not in fired) == []


def test_unreachable_rules_suppress_the_device() -> None:
    rules, _ = load_rules([RULES])
    suppressing = {r.alert for r in rules if r.suppresses_device}
    assert suppressing == {"printer_unreachable", "network_device_unreachable", "host_unreachable"}
    assert {r.alert: r.severity for r in rules if r.alert in suppressing}["printer_unreachable"] == "P1"


def test_each_rule_file_starts_with_documentation() -> None:
    for path in sorted(RULES.glob("*.yaml")):
        head = path.read_text().splitlines()[:3]
        assert all(line.startswith("#") for line in head), f"{path.name}: no doc comment on top"
