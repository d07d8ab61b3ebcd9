"""The rule engine's state machine: pending/firing/resolved, hysteresis, absent data, history, restarts."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agent.wire import Device, DevicePoll, PrinterStatus, Supply, SupplyState
from collector.alerts import AlertEvent, AlertState
from collector.rules import RuleEngine, device_info
from collector.rules.loader import parse_text
from collector.rules.model import Rule
from collector.series import Reading, flatten, labels_of

PRINTER: dict[str, Any] = {"kind": "printer", "vendor": "HP", "model": "M608", "labels": {"site": "paris"}}


def rules(text: str) -> list[Rule]:
    loaded, errors = parse_text(text, "test.yaml")
    assert [str(e) for e in errors] == []
    return [lr.rule for lr in loaded]


def one_rule(body: str) -> list[Rule]:
    indented = "\n".join("        " + line for line in body.strip().splitlines())
    return rules(f"groups:\n  - name: t\n    rules:\n      -\n{indented}\n")


def toner(pct: float, supply: str = "1.1", color: str = "black") -> Reading:
    return Reading("supply_percent", labels_of(supply=supply, color=color, type="toner"), pct)


def states(events: list[AlertEvent]) -> list[str]:
    return [e.state.value for e in events]


TONER_LOW = """
alert: toner_low
match: {kind: printer}
condition:
  threshold: {metric: supply_percent, where: {type: toner}, op: "<", value: 10}
clear:
  threshold: {op: ">=", value: 15}
identity: [supply]
severity: P3
incident_type: supply
for: 2m
labels: {team: print}
annotations:
  summary: "{{ device }} {{ color }} toner at {{ value }}%"
"""


def test_pending_then_firing_after_for_and_each_change_reported_once() -> None:
    engine = RuleEngine(one_rule(TONER_LOW))
    assert engine.evaluate("p1", [toner(12)], PRINTER, 0) == []
    [pending] = engine.evaluate("p1", [toner(9)], PRINTER, 60)
    assert (pending.state, pending.since, pending.at) == (AlertState.pending, 60, 60)
    assert engine.evaluate("p1", [toner(8)], PRINTER, 120) == []  # 1 minute of 2
    [firing] = engine.evaluate("p1", [toner(8)], PRINTER, 180)
    assert (firing.state, firing.since, firing.at) == (AlertState.firing, 60, 180)
    assert firing.rule == "toner_low"
    assert firing.device_id == "p1"
    assert firing.labels == (("supply", "1.1"), ("team", "print"))
    assert firing.severity == "P3"
    assert firing.incident_type == "supply"
    assert firing.auto_resolve
    assert firing.annotations == {"summary": "p1 black toner at 8%"}
    assert firing.values == {"supply_percent": 8.0}
    assert firing.fingerprint == "p1|toner_low|supply=1.1,team=print"
    # Dedup: still low, lower still: nothing new to report, but alerts() shows the latest value.
    assert engine.evaluate("p1", [toner(5)], PRINTER, 240) == []
    [current] = engine.alerts()
    assert current.state == AlertState.firing
    assert current.values == {"supply_percent": 5.0}
    assert current.annotations["summary"] == "p1 black toner at 5%"


def test_pending_that_clears_before_for_goes_back_to_inactive() -> None:
    engine = RuleEngine(one_rule(TONER_LOW))
    assert states(engine.evaluate("p1", [toner(9)], PRINTER, 0)) == ["pending"]
    [ev] = engine.evaluate("p1", [toner(11)], PRINTER, 60)
    assert ev.state == AlertState.inactive
    assert ev.since == 0
    assert engine.alerts() == []


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        pytest.param([9, 11, 9, 11, 9, 11, 9], ["firing"], id="hovering_9_11_is_one_alert"),
        pytest.param([9, 16, 9, 16], ["firing", "resolved", "firing", "resolved"], id="real_refills_resolve"),
        pytest.param([9, 14, 14.9, 15], ["firing", "resolved"], id="clears_exactly_at_15"),
        pytest.param([12, 11, 10, 10.5], [], id="never_below_10"),
    ],
)
def test_hysteresis_with_clear_condition(values: list[float], expected: list[str]) -> None:
    engine = RuleEngine(one_rule(TONER_LOW.replace("for: 2m", "for: 0s")))
    events = [e for i, v in enumerate(values) for e in engine.evaluate("p1", [toner(v)], PRINTER, i * 60)]
    assert states(events) == expected


def test_flapping_input_without_for_or_clear_flaps_and_with_for_never_fires() -> None:
    plain = one_rule(TONER_LOW.replace("for: 2m", "for: 0s").replace('clear:\n  threshold: {op: ">=", value: 15}', ""))
    held = one_rule(TONER_LOW.replace('clear:\n  threshold: {op: ">=", value: 15}', ""))
    flap = [9, 11, 9, 11, 9, 11]
    for rs, expected in ((plain, ["firing", "resolved"] * 3), (held, ["pending", "inactive"] * 3)):
        engine = RuleEngine(rs)
        events = [e for i, v in enumerate(flap) for e in engine.evaluate("p1", [toner(v)], PRINTER, i * 60)]
        assert states(events) == expected


def test_keep_firing_for_holds_a_cleared_alert_then_resolves() -> None:
    engine = RuleEngine(
        one_rule(
            TONER_LOW.replace("for: 2m", "keep_firing_for: 5m").replace(
                'clear:\n  threshold: {op: ">=", value: 15}', ""
            )
        )
    )
    assert states(engine.evaluate("p1", [toner(5)], PRINTER, 0)) == ["firing"]
    assert engine.evaluate("p1", [toner(50)], PRINTER, 60) == []
    assert engine.evaluate("p1", [toner(5)], PRINTER, 120) == []  # holds again: the clear clock restarts
    assert engine.evaluate("p1", [toner(50)], PRINTER, 180) == []
    assert engine.evaluate("p1", [toner(50)], PRINTER, 420) == []  # 4 min clear
    [resolved] = engine.evaluate("p1", [toner(50)], PRINTER, 480)
    assert resolved.state == AlertState.resolved
    assert resolved.since == 0
    assert resolved.at == 480
    assert resolved.values == {"supply_percent": 50.0}


def _poll(reachable: bool, pct: float | None = None, ts: float = 0) -> DevicePoll:
    supplies = (
        []
        if pct is None
        else [Supply(index="1.1", description="Black", type="toner", color="black", percent=pct, state=SupplyState.ok)]
    )
    return DevicePoll(
        device_id="p1",
        ts=ts,
        reachable=reachable,
        device=Device(address="127.0.0.1", kind="printer"),
        supplies=supplies,
    )


def test_unreachable_is_not_resolved_supply_alert_kept_while_poll_fails() -> None:
    engine = RuleEngine(rules(UNREACHABLE_AND_TONER))
    assert states(engine.evaluate("p1", flatten(_poll(True, 5)), PRINTER, 0)) == ["firing"]
    events: list[AlertEvent] = []
    for t in (60, 120, 180):
        events += engine.evaluate("p1", flatten(_poll(False)), PRINTER, t)
    # Only up=0 readings: the toner alert neither resolves nor changes; unreachable fires on the 3rd poll.
    assert [(e.rule, e.state.value, e.at) for e in events] == [("printer_unreachable", "firing", 180)]
    assert events[0].suppresses_device
    assert events[0].severity == "P1"
    assert {(a.rule, a.state.value) for a in engine.alerts()} == {
        ("toner_low", "firing"),
        ("printer_unreachable", "firing"),
    }
    back = engine.evaluate("p1", flatten(_poll(True, 5)), PRINTER, 240)
    assert [(e.rule, e.state.value) for e in back] == [("printer_unreachable", "resolved")]
    fixed = engine.evaluate("p1", flatten(_poll(True, 100)), PRINTER, 300)
    assert [(e.rule, e.state.value) for e in fixed] == [("toner_low", "resolved")]


UNREACHABLE_AND_TONER = """
groups:
  - name: t
    rules:
      - alert: printer_unreachable
        condition: {threshold: {metric: up, op: "==", value: 0, polls: 3}}
        severity: P1
        suppresses_device: true
      - alert: toner_low
        condition: {threshold: {metric: supply_percent, op: "<", value: 10}}
        identity: [supply]
        severity: P3
"""


def test_unreachable_needs_n_polls_in_a_row() -> None:
    engine = RuleEngine(rules(UNREACHABLE_AND_TONER))
    up = [1, 0, 0, 1, 0, 0, 0]
    fired = [
        (i, e.state.value)
        for i, v in enumerate(up)
        for e in engine.evaluate("p1", [Reading("up", (), float(v))], PRINTER, i * 60)
    ]
    assert fired == [(6, "firing")]


def test_pending_alert_with_no_data_stays_pending_and_fires_when_data_returns() -> None:
    engine = RuleEngine(one_rule(TONER_LOW))
    engine.evaluate("p1", [toner(5)], PRINTER, 0)
    assert engine.evaluate("p1", [Reading("up", (), 0.0)], PRINTER, 60) == []
    assert [a.state for a in engine.alerts()] == [AlertState.pending]
    assert states(engine.evaluate("p1", [toner(5)], PRINTER, 180)) == ["firing"]


def test_identity_separates_supplies_and_devices() -> None:
    engine = RuleEngine(one_rule(TONER_LOW.replace("for: 2m", "for: 0s")))
    a = engine.evaluate(
        "p1", [toner(5, "1.1", "black"), toner(50, "1.2", "cyan"), toner(3, "1.3", "magenta")], PRINTER, 0
    )
    b = engine.evaluate("p2", [toner(5, "1.1", "black")], PRINTER, 0)
    assert sorted(e.fingerprint for e in a + b) == [
        "p1|toner_low|supply=1.1,team=print",
        "p1|toner_low|supply=1.3,team=print",
        "p2|toner_low|supply=1.1,team=print",
    ]


@pytest.mark.parametrize(
    ("match", "device", "applies"),
    [
        pytest.param("{kind: printer}", {"kind": "printer"}, True, id="kind"),
        pytest.param("{kind: printer}", {"kind": "network"}, False, id="other_kind"),
        pytest.param("{vendor: [hp, Brother]}", {"vendor": "HP"}, True, id="vendor_ignores_case"),
        pytest.param("{vendor: Brother}", {}, False, id="vendor_unknown"),
        pytest.param("{labels: {site: paris}}", {"labels": {"site": "paris"}}, True, id="labels"),
        pytest.param("{labels: {site: paris}}", {"labels": {"site": "lyon"}}, False, id="labels_differ"),
        pytest.param("{labels: {site: paris}}", {"labels": {}}, False, id="label_missing"),
        pytest.param("{model: [m608, m609]}", {"model": "M608"}, True, id="model"),
    ],
)
def test_device_matcher(match: str, device: dict[str, Any], applies: bool) -> None:
    engine = RuleEngine(one_rule(TONER_LOW.replace("for: 2m", "for: 0s").replace("{kind: printer}", match)))
    assert bool(engine.evaluate("p1", [toner(5)], device, 0)) is applies


RATE = """
alert: if_errors
condition:
  rate: {metric: if_in_errors, op: ">", value: 10, per: minute}
identity: [ifindex]
severity: P3
annotations: {summary: "{{ ifname }} {{ value }}/min"}
"""


def err(v: float, ifindex: str = "3") -> Reading:
    return Reading("if_in_errors", labels_of(ifindex=ifindex, ifname="ge-0/0/3"), v)


def test_rate_condition_fires_on_error_rate_not_on_counter_value() -> None:
    engine = RuleEngine(one_rule(RATE))
    assert engine.evaluate("sw", [err(1_000_000)], {}, 0) == []  # a big counter is no rate
    assert engine.evaluate("sw", [err(1_000_005)], {}, 60) == []  # 5/min
    [ev] = engine.evaluate("sw", [err(1_000_035)], {}, 120)  # 30/min
    assert ev.state == AlertState.firing
    assert ev.annotations["summary"] == "ge-0/0/3 30/min"
    assert ev.values == {"if_in_errors_per_minute": 30.0}
    # Counter reset (device rebooted): no rate this poll -> the alert is left as it is, not resolved.
    assert engine.evaluate("sw", [err(2)], {}, 180) == []
    assert [a.state for a in engine.alerts()] == [AlertState.firing]
    [res] = engine.evaluate("sw", [err(4)], {}, 240)  # 2/min
    assert res.state == AlertState.resolved


def test_rate_over_window_averages_the_samples_in_it() -> None:
    engine = RuleEngine(one_rule(RATE.replace("per: minute}", "per: minute, window: 5m}")))
    # 60 errors in one minute, then none: per-poll rate would be 60 then 0; the 5 minute average stays above 10.
    seq = [0, 0, 60, 60, 60, 60, 60, 60]
    out = [(i, e.state.value) for i, v in enumerate(seq) for e in engine.evaluate("sw", [err(v)], {}, i * 60)]
    assert out == [(2, "firing"), (7, "resolved")]


def test_counter_not_increasing_for_two_hours() -> None:
    engine = RuleEngine(
        one_rule(
            """
alert: page_counter_stuck
condition: {delta: {metric: page_count, where: {counter: total_pages}, op: "<=", value: 0}}
for: 2h
severity: P4
"""
        )
    )

    def pages(v: float) -> list[Reading]:
        return [Reading("page_count", labels_of(counter="total_pages"), v)]

    seq = [100, 120, 120, 120, 120, 120, 121, 121, 121, 121, 121]  # every 30 min
    out = [(i, e.state.value) for i, v in enumerate(seq) for e in engine.evaluate("p1", pages(v), {}, i * 1800)]
    assert out == [(2, "pending"), (6, "inactive"), (7, "pending")]
    out = [e.state.value for e in engine.evaluate("p1", pages(121), {}, 11 * 1800)]
    assert out == ["firing"]


def test_reboot_is_uptime_going_down() -> None:
    engine = RuleEngine(
        one_rule(
            'alert: rebooted\ncondition: {delta: {metric: uptime_seconds, op: "<", value: 0}}\nseverity: P4\n'
            'annotations: {summary: "up {{ value }}s, was {{ values.uptime_seconds_previous }}s"}'
        )
    )
    up = [86400, 86460, 86520, 30, 90]
    out = [
        (i, e) for i, v in enumerate(up) for e in engine.evaluate("h", [Reading("uptime_seconds", (), v)], {}, i * 60)
    ]
    assert [(i, e.state.value) for i, e in out] == [(3, "firing"), (4, "resolved")]
    assert out[0][1].annotations["summary"] == "up 30s, was 86520s"


INTERFACE_DOWN = """
alert: interface_down
condition: {state: {metric: if_oper_status, value: down, was: up}}
identity: [ifindex]
severity: P3
"""


def oper(v: str, ifindex: str = "1") -> Reading:
    return Reading("if_oper_status", labels_of(ifindex=ifindex), v)


def test_interface_down_only_when_it_was_up_before() -> None:
    engine = RuleEngine(one_rule(INTERFACE_DOWN))
    assert engine.evaluate("sw", [oper("down", "1"), oper("up", "2")], {}, 0) == []  # port 1 never seen up
    [ev] = engine.evaluate("sw", [oper("down", "1"), oper("down", "2")], {}, 60)
    assert ev.labels == (("ifindex", "2"),)
    assert ev.state == AlertState.firing
    assert states(engine.evaluate("sw", [oper("down", "1"), oper("up", "2")], {}, 120)) == ["resolved"]
    assert states(engine.evaluate("sw", [oper("down", "1"), oper("down", "2")], {}, 180)) == ["firing"]


FORECAST = """
alert: supply_order_needed
condition:
  threshold: {metric: supply_days_to_empty, op: "<", value_metric: supply_lead_time_days}
identity: [supply]
severity: P4
incident_type: supply
annotations: {summary: "{{ value }} days left, delivery takes {{ values.supply_lead_time_days }}"}
"""


def test_forecast_hook_days_to_empty_below_lead_time() -> None:
    engine = RuleEngine(one_rule(FORECAST))
    lab = labels_of(supply="1.1", color="black", type="toner")

    def fc(days: float, lead: float | None) -> list[Reading]:
        out = [Reading("supply_days_to_empty", lab, days), Reading("supply_percent", lab, 30.0)]
        return out + ([Reading("supply_lead_time_days", lab, lead)] if lead is not None else [])

    assert engine.evaluate("p1", fc(12, 5), PRINTER, 0) == []
    [ev] = engine.evaluate("p1", fc(4.5, 5), PRINTER, 86400)
    assert ev.state == AlertState.firing
    assert ev.annotations["summary"] == "4.5 days left, delivery takes 5"
    assert engine.evaluate("p1", fc(30, None), PRINTER, 2 * 86400) == []  # lead time unknown: no data, kept
    assert states(engine.evaluate("p1", fc(30, 5), PRINTER, 3 * 86400)) == ["resolved"]


def test_flag_condition_device_level_and_cleared_when_status_reported() -> None:
    engine = RuleEngine(
        one_rule(
            "alert: jam\ncondition: {flag: {flags: jammed, alert_codes: jam}}\nseverity: P2\n"
            "annotations: {summary: '{{ value }}'}"
        )
    )
    poll = _poll(True, 50)
    jammed = poll.model_copy(update={"printer_status": PrinterStatus(error_flags=["jammed", "low_paper"])})
    clear = poll.model_copy(update={"printer_status": PrinterStatus(error_flags=["low_paper"])})
    [ev] = engine.evaluate("p1", flatten(jammed), PRINTER, 0)
    assert ev.labels == ()
    assert ev.annotations == {"summary": "jammed"}
    assert engine.evaluate("p1", flatten(poll), PRINTER, 60) == []  # no printer status in this poll: unknown
    assert states(engine.evaluate("p1", flatten(clear), PRINTER, 120)) == ["resolved"]


def test_manual_resolve_rule_emits_events_marked_not_auto_resolve() -> None:
    engine = RuleEngine(one_rule(TONER_LOW.replace("for: 2m", "resolve: manual")))
    [ev] = engine.evaluate("p1", [toner(5)], PRINTER, 0)
    assert ev.auto_resolve is False
    [res] = engine.evaluate("p1", [toner(50)], PRINTER, 60)
    assert res.state == AlertState.resolved
    assert res.auto_resolve is False


def test_templates_unknown_names_render_empty_and_broken_ones_fall_back_to_source() -> None:
    rs = one_rule(
        TONER_LOW.replace("for: 2m", "").replace(
            'summary: "{{ device }} {{ color }} toner at {{ value }}%"',
            "summary: '[{{ nothing }}] {{ device_labels.site }} {{ vendor }}'\n  description: '{{ value / \"x\" }}'",
        )
    )
    [ev] = RuleEngine(rs).evaluate("p1", [toner(5)], PRINTER, 0)
    assert ev.annotations == {"summary": "[] paris HP", "description": '{{ value / "x" }}'}


def test_state_survives_restart_through_json() -> None:
    rs = (
        rules(UNREACHABLE_AND_TONER)
        + one_rule(INTERFACE_DOWN)
        + one_rule(TONER_LOW.replace("toner_low", "toner_low_slow"))
    )
    engine = RuleEngine(rs)
    engine.evaluate("p1", [toner(5), Reading("up", (), 0.0)], PRINTER, 0)
    engine.evaluate("p1", [Reading("up", (), 0.0)], PRINTER, 60)
    engine.evaluate("sw", [oper("up")], {}, 60)
    saved = json.loads(json.dumps(engine.dump_state()))

    again = RuleEngine.load_state(rs, saved)
    assert [(a.rule, a.state, a.since) for a in again.alerts()] == [(a.rule, a.state, a.since) for a in engine.alerts()]
    # History came along: third up=0 poll fires; the interface is known to have been up; pending continues.
    out = again.evaluate("p1", [toner(5), Reading("up", (), 0.0)], PRINTER, 120)
    assert {(e.rule, e.state.value) for e in out} == {("printer_unreachable", "firing"), ("toner_low_slow", "firing")}
    assert states(again.evaluate("sw", [oper("down")], {}, 180)) == ["firing"]
    assert again.dump_state()["version"] == 1


def test_load_state_drops_alerts_of_removed_rules_visibly() -> None:
    rs = rules(UNREACHABLE_AND_TONER)
    engine = RuleEngine(rs)
    engine.evaluate("p1", [toner(5)], PRINTER, 0)
    again = RuleEngine.load_state([r for r in rs if r.alert != "toner_low"], engine.dump_state())
    assert again.alerts() == []
    assert [(d.rule, d.device_id) for d in again.dropped] == [("toner_low", "p1")]
    with pytest.raises(ValueError, match="version"):
        RuleEngine.load_state(rs, {"version": 99})


def test_disabled_rules_do_not_run_and_duplicates_are_refused() -> None:
    rs = one_rule(TONER_LOW + "enabled: false\n")
    assert RuleEngine(rs).evaluate("p1", [toner(1)], PRINTER, 0) == []
    with pytest.raises(ValueError, match="duplicate"):
        RuleEngine(one_rule(TONER_LOW) * 2)


def test_all_condition_needs_every_part() -> None:
    engine = RuleEngine(
        one_rule(
            """
alert: port_down
condition:
  all:
    - state: {metric: if_oper_status, value: down}
    - state: {metric: if_admin_status, value: up}
identity: [ifindex]
severity: P3
"""
        )
    )
    admin = [
        Reading("if_admin_status", labels_of(ifindex="1"), "up"),
        Reading("if_admin_status", labels_of(ifindex="2"), "down"),
    ]
    out = engine.evaluate("sw", [oper("down", "1"), oper("down", "2"), *admin], {}, 0)
    assert [e.labels for e in out] == [(("ifindex", "1"),)]


def test_device_info_from_a_poll_feeds_match_and_templates() -> None:
    poll = _poll(True, 5).model_copy(update={"labels": {"site": "paris"}})
    poll.device.vendor, poll.device.model = "Brother", "HL-5370DW"
    rs = one_rule(
        TONER_LOW.replace("for: 2m", "")
        .replace("{kind: printer}", "{kind: printer, vendor: brother, labels: {site: paris}}")
        .replace("{{ device }} {{ color }} toner at {{ value }}%", "{{ vendor }} {{ model }} {{ device_kind }}")
    )
    [ev] = RuleEngine(rs).evaluate("p1", flatten(poll), device_info(poll), 0)
    assert ev.annotations["summary"] == "Brother HL-5370DW printer"


@pytest.mark.parametrize("odd", [float("nan"), float("inf"), -float("inf")], ids=["nan", "inf", "minus_inf"])
def test_odd_numbers_from_a_device_do_not_crash_any_shipped_rule(odd: float) -> None:
    from collector.paths import shipped_rules_dir
    from collector.rules import load_rules

    shipped, _ = load_rules([shipped_rules_dir()])
    engine = RuleEngine(shipped)
    metrics = ["supply_percent", "supply_state", "tray_state", "up", "uptime_seconds", "if_in_errors", "if_oper_status"]
    for t in (0, 60, 120):
        readings = [Reading(m, labels_of(supply="1.1", type="toner", ifindex="1", tray="1"), odd) for m in metrics]
        engine.evaluate("d", readings, {"kind": "printer"}, t)
        engine.evaluate("d", readings, {"kind": "network"}, t)
    assert all(a.state in (AlertState.pending, AlertState.firing) for a in engine.alerts())
