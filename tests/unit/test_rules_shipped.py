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


def test_readme_worked_example_is_true(tmp_path: Path) -> None:
    """The rule and test shown in rules/README.md run as shown."""
    readme = (RULES / "README.md").read_text()
    blocks = {}
    for block in readme.split("```yaml\n")[1:]:
        body = block.split("```", 1)[0]
        first = body.splitlines()[0]
        if first.startswith("# my-rules/"):
            blocks[first.removeprefix("# ")] = body
    assert set(blocks) == {"my-rules/toner.yaml", "my-rules/tests/toner_test.yaml"}
    for name, body in blocks.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(body)
    checks, failures = run_file(tmp_path / "my-rules/tests/toner_test.yaml")
    assert [str(f) for f in failures] == []
    assert checks == 4
    override = readme.split("## Your own rules", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "override.yaml").write_text(override)
    rules, errors = load_rules([RULES, tmp_path / "override.yaml"])
    assert errors == []
    assert "maintenance_overdue" not in {r.alert for r in rules}
    assert next(r for r in rules if r.alert == "door_open").for_ == 120
