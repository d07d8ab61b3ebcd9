"""The promtool-style rule test format: series notation, expanding values, and the runner's verdicts."""

from __future__ import annotations

from pathlib import Path

import pytest

from collector.rules.testing import expand_values, parse_series, run_file


@pytest.mark.parametrize(
    ("text", "values"),
    [
        pytest.param("15 12 9 8 8", [15, 12, 9, 8, 8], id="plain"),
        pytest.param("1+2x3", [1, 3, 5, 7], id="increasing"),
        pytest.param("10-2.5x2", [10, 7.5, 5], id="decreasing"),
        pytest.param("7x2", [7, 7, 7], id="repeat"),
        pytest.param("1 _ 3", [1, None, 3], id="missing"),
        pytest.param("_x3 4", [None, None, None, 4], id="missing_repeat"),
        pytest.param("up up down", ["up", "up", "down"], id="text"),
        pytest.param("upx2 down", ["up", "up", "up", "down"], id="text_repeat"),
        pytest.param("-1 1e3 .5", [-1, 1000, 0.5], id="number_forms"),
        pytest.param("sheet_feed_manual", ["sheet_feed_manual"], id="text_with_x_inside"),
    ],
)
def test_expanding_notation(text: str, values: list[float | str | None]) -> None:
    assert expand_values(text) == values


def test_series_notation() -> None:
    assert parse_series('supply_percent{device="p1",supply="1.1",color="black"}') == (
        "supply_percent",
        {"device": "p1", "supply": "1.1", "color": "black"},
    )
    assert parse_series("up") == ("up", {})
    assert parse_series(r'printer_alert{description="say \"hi\", ok", code="jam"}') == (
        "printer_alert",
        {"description": 'say "hi", ok', "code": "jam"},
    )
    with pytest.raises(ValueError, match="cannot read labels"):
        parse_series("up{device=p1}")


RULES = """
groups:
  - name: g
    rules:
      - alert: toner_low
        match: {kind: printer}
        condition: {threshold: {metric: supply_percent, op: "<", value: 10}}
        identity: [supply]
        severity: P3
        annotations: {summary: "{{ device }} at {{ value }}%"}
"""


def write(tmp_path: Path, test: str) -> Path:
    (tmp_path / "r.yaml").write_text(RULES)
    p = tmp_path / "t.yaml"
    p.write_text("rule_files: [r.yaml]\ntests:\n" + test)
    return p


@pytest.mark.parametrize(
    ("test", "message"),
    [
        pytest.param(
            """  - name: wrong labels
    devices: {p1: {kind: printer}}
    input_series: {'supply_percent{device="p1",supply="1.1"}': "5"}
    alert_rule_test:
      - {eval_time: 0m, alertname: toner_low, exp_alerts: [{exp_labels: {device: p1, supply: "1.2"}}]}
""",
            "expected firing {device=p1, supply=1.2}, got {device=p1, supply=1.1}",
            id="labels",
        ),
        pytest.param(
            """  - name: wrong annotation
    devices: {p1: {kind: printer}}
    input_series: {'supply_percent{device="p1",supply="1.1"}': "5"}
    alert_rule_test:
      - eval_time: 0m
        alertname: toner_low
        exp_alerts: [{exp_labels: {device: p1, supply: "1.1"}, exp_annotations: {summary: "p1 at 6%"}}]
""",
            "annotation summary: expected 'p1 at 6%', got 'p1 at 5%'",
            id="annotation",
        ),
        pytest.param(
            """  - name: unknown rule
    devices: {p1: {}}
    alert_rule_test: [{eval_time: 0m, alertname: toner_empty}]
""",
            "no loaded rule named 'toner_empty'",
            id="unknown_rule",
        ),
        pytest.param(
            """  - name: undeclared device
    input_series: {'supply_percent{device="p9",supply="1.1"}': "5"}
    alert_rule_test: [{eval_time: 0m, alertname: toner_low}]
""",
            "device 'p9' is not declared under devices",
            id="undeclared_device",
        ),
        pytest.param(
            """  - name: typo in the test file
    devices: {p1: {}}
    alert_rule_tests: []
""",
            "cannot read test file",
            id="bad_test_file",
        ),
    ],
)
def test_runner_reports_what_differs(tmp_path: Path, test: str, message: str) -> None:
    _, failures = run_file(write(tmp_path, test))
    assert len(failures) == 1
    assert message in str(failures[0])


def test_runner_passes_matching_expectations_and_counts_checks(tmp_path: Path) -> None:
    checks, failures = run_file(
        write(
            tmp_path,
            """  - devices: {p1: {kind: printer}, p2: {kind: printer}}
    interval: 30s
    input_series:
      supply_percent{device="p1",supply="1.1"}: "20 5"
      supply_percent{device="p2",supply="1.1"}: "5 20"
    alert_rule_test:
      - {eval_time: 0s, alertname: toner_low, exp_alerts: [{exp_labels: {device: p2, supply: "1.1"}}]}
      - eval_time: 45s
        alertname: toner_low
        exp_alerts: [{exp_labels: {device: p1, supply: "1.1"}, exp_annotations: {summary: "p1 at 5%"}}]
""",
        )
    )
    assert [str(f) for f in failures] == []
    assert checks == 2


def test_runner_reports_rule_file_errors(tmp_path: Path) -> None:
    p = write(tmp_path, "  - devices: {}\n")
    (tmp_path / "r.yaml").write_text(RULES.replace("P3", "P7"))
    _, [failure] = run_file(p)
    assert "rule file error" in str(failure)
    assert "severity" in str(failure)
