"""Loading rule files: every valid rule loads; each mistake names file, line, rule and field; the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from collector.rules import load_rules
from collector.rules.cli import rules as rules_cli
from collector.rules.loader import parse_text
from collector.rules.model import parse_duration

GOOD = """
groups:
  - name: g
    rules:
      - alert: toner_low
        condition: {threshold: {metric: supply_percent, op: "<", value: 10}}
        severity: P3
"""


def rule_file(body: str, name: str = "bad_rule", group: str = "g") -> str:
    indented = "\n".join("        " + line for line in body.strip().splitlines())
    return f"groups:\n  - name: {group}\n    rules:\n      - alert: {name}\n{indented}\n"


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        pytest.param(
            'condition: {threshold: {metric: x, op: "=<", value: 1}}\nseverity: P3',
            "condition.threshold.op",
            "Input should be '<'",
            id="bad_operator",
        ),
        pytest.param(
            'condition: {threshold: {metric: x, op: "<", value: 1}}\nseverity: P9',
            "severity",
            "'P1', 'P2', 'P3' or 'P4'",
            id="bad_severity",
        ),
        pytest.param(
            'condition: {threshold: {metric: x, op: "<", value: 1}}\nseverity: P3\nfor: 5 minutes',
            "for",
            "not a duration",
            id="bad_duration",
        ),
        pytest.param(
            'condition: {threshold: {metric: x, op: "<", value: 1}}\nseverity: P3\nkeep_firng_for: 1m',
            "keep_firng_for",
            "Extra inputs are not permitted",
            id="misspelt_key",
        ),
        pytest.param(
            'condition: {threshold: {metric: x, op: "<"}}\nseverity: P3',
            "condition.threshold",
            "exactly one of value",
            id="threshold_without_value",
        ),
        pytest.param(
            'condition:\n  threshold: {metric: x, op: "<", value: 1}\n  state: {metric: y, value: a}\nseverity: P3',
            "condition",
            "exactly one of",
            id="two_condition_kinds",
        ),
        pytest.param(
            'condition: {threshold: {op: "<", value: 1}}\nseverity: P3',
            None,
            "needs a metric",
            id="no_metric",
        ),
        pytest.param(
            'condition: {threshold: {metric: x, op: "<", value: 1}}\nseverity: P3\nannotations: {summary: "{{ oops"}',
            "annotations.summary",
            "template error",
            id="broken_template",
        ),
        pytest.param(
            'condition: {rate: {metric: x, op: ">", value: 1, per: fortnight}}\nseverity: P3',
            "condition.rate.per",
            "Input should be",
            id="bad_rate_unit",
        ),
        pytest.param(
            'condition: {threshold: {metric: x, op: "<", value: 1}}\nseverity: P3\nincident_type: repair',
            "incident_type",
            "'fault', 'supply', 'supply_order' or 'inspection'",
            id="bad_incident_type",
        ),
        pytest.param(
            'condition: {threshold: {metric: up, op: "==", value_metric: y, polls: 3}}\nseverity: P1',
            "condition.threshold",
            "polls > 1 needs a constant value",
            id="polls_with_value_metric",
        ),
    ],
)
def test_invalid_rule_error_names_file_rule_and_field(body: str, field: str | None, message: str) -> None:
    loaded, errors = parse_text(rule_file(body), "printers.yaml")
    assert loaded == []
    assert errors, "expected an error"
    e = errors[0]
    assert e.file == "printers.yaml"
    assert e.rule == "bad_rule"
    assert e.field == field
    assert message in e.message
    assert e.line is not None
    assert e.line >= 4
    assert str(e).startswith(f"printers.yaml:{e.line}: rule bad_rule: ")


def test_error_line_points_at_the_offending_field() -> None:
    text = rule_file('condition:\n  threshold:\n    metric: x\n    op: "=<"\n    value: 1\nseverity: P3')
    _, [e] = parse_text(text, "f.yaml")
    assert text.splitlines()[e.line - 1].strip() == 'op: "=<"'


def test_unnamed_rule_is_named_by_position() -> None:
    text = GOOD + '      - condition: {threshold: {metric: x, op: "<", value: 1}}\n        severity: P3\n'
    loaded, [e] = parse_text(text, "f.yaml")
    assert [lr.rule.alert for lr in loaded] == ["toner_low"]
    assert (e.rule, e.field) == ("#2 in group g", "alert")


def test_one_bad_rule_does_not_stop_the_others_in_its_file() -> None:
    text = GOOD + '      - alert: broken\n        condition: {threshold: {metric: x, op: "<", value: 1}}\n'
    loaded, errors = parse_text(text, "f.yaml")
    assert [lr.rule.alert for lr in loaded] == ["toner_low"]
    assert [(e.rule, e.field) for e in errors] == [("broken", "severity")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("groups: [\n  - x: :\n", "not valid YAML", id="yaml_syntax"),
        pytest.param("- alert: x\n", "a mapping with a list under 'groups'", id="no_groups"),
        pytest.param("groups:\n  - name: g\n", "a group has a 'name' and a list of 'rules'", id="group_without_rules"),
    ],
)
def test_broken_file_is_one_error_and_other_files_still_load(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "a_broken.yaml").write_text(text)
    (tmp_path / "b_good.yaml").write_text(GOOD)
    (tmp_path / "notes.txt").write_text("not a rule file")
    rules, errors = load_rules([tmp_path])
    assert [r.alert for r in rules] == ["toner_low"]
    assert len(errors) == 1
    assert errors[0].file.endswith("a_broken.yaml")
    assert message in errors[0].message


def test_empty_file_is_fine(tmp_path: Path) -> None:
    (tmp_path / "empty.yaml").write_text("# nothing yet\n")
    assert load_rules([tmp_path]) == ([], [])


def test_duplicate_name_in_one_directory_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD)
    (tmp_path / "b.yaml").write_text(GOOD)
    rules, [e] = load_rules([tmp_path])
    assert [r.alert for r in rules] == ["toner_low"]
    assert e.file.endswith("b.yaml")
    assert "duplicate rule name" in e.message
    assert "a.yaml" in e.message


def test_user_directory_overrides_and_disables_shipped_rules(tmp_path: Path) -> None:
    shipped, user = tmp_path / "shipped", tmp_path / "user"
    shipped.mkdir()
    user.mkdir()
    jam = "      - alert: jam\n        condition: {flag: {flags: jammed}}\n        severity: P2\n"
    (shipped / "p.yaml").write_text(GOOD + jam)
    (user / "local.yaml").write_text(GOOD.replace("value: 10", "value: 20") + jam + "        enabled: false\n")
    rules, errors = load_rules([shipped, user])
    assert errors == []
    assert [(r.alert, r.condition.spec.value) for r in rules] == [("toner_low", 20.0)]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("5m", 300), ("1h30m", 5400), ("7d", 604800), (90, 90), ("0", None), ("1.5h", 5400)],
)
def test_durations(text: object, seconds: float | None) -> None:
    if seconds is None:
        with pytest.raises(ValueError, match="not a duration"):
            parse_duration(text)
    else:
        assert parse_duration(text) == seconds


def test_cli_check_exit_status_and_error_lines(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(rules_cli, ["check"])
    assert ok.exit_code == 0, ok.output
    assert "0 errors" in ok.output
    (tmp_path / "good.yaml").write_text(GOOD)
    (tmp_path / "bad.yaml").write_text(
        rule_file('condition: {threshold: {metric: x, op: "<", value: 1}}\nseverity: P0')
    )
    bad = runner.invoke(rules_cli, ["check", str(tmp_path)])
    assert bad.exit_code == 1
    assert f"{tmp_path / 'bad.yaml'}:" in bad.output
    assert "rule bad_rule: severity: Input should be" in bad.output
    assert "1 rules (0 disabled) from 1 files, 1 errors" in bad.output


def test_cli_test_runs_files_and_fails_on_a_wrong_expectation(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(GOOD)
    test = """
rule_files: [r.yaml]
tests:
  - interval: 1m
    devices: {p1: {}}
    input_series:
      'supply_percent{device="p1",supply="1.1"}': "20 5"
    alert_rule_test:
      - eval_time: 1m
        alertname: toner_low
        exp_alerts:
          - exp_labels: {device: p1, supply: "1.1"}
"""
    (tmp_path / "good_test.yaml").write_text(test)
    (tmp_path / "bad_test.yaml").write_text(test.replace("eval_time: 1m", "eval_time: 0m"))
    runner = CliRunner()
    good = runner.invoke(rules_cli, ["test", str(tmp_path / "good_test.yaml")])
    assert good.exit_code == 0, good.output
    assert "OK: 1 checks, 0 failures" in good.output
    bad = runner.invoke(rules_cli, ["test", str(tmp_path / "good_test.yaml"), str(tmp_path / "bad_test.yaml")])
    assert bad.exit_code == 1
    assert "expected firing {device=p1, supply=1.1}, got none" in bad.output
