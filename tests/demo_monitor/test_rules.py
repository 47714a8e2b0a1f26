import pytest

from demo_monitor.domain.rules import (
    Cleared,
    Fired,
    Rule,
    RuleEngine,
    RuleError,
    server_status,
    validate_rule_edit,
)

MEMORY = Rule(1, "memory_usage", ">", 90, "critical", 3)


def run(engine, rules, values, start=0):
    out = []
    for i, value in enumerate(values):
        out.append(engine.evaluate(rules, {"www15": {"memory_usage": value}}, start + i))
    return out


def test_a_rule_fires_only_after_holding_for_its_seconds_and_clears_at_once():
    engine = RuleEngine()
    steps = run(engine, [MEMORY], [95, 95, 95, 95, 95, 50])
    assert steps[0:3] == [[], [], []]
    assert steps[3] == [Fired("www15", MEMORY, 95)]
    assert steps[4] == []
    assert steps[5] == [Cleared("www15", 1, 50)]


def test_a_dip_below_the_threshold_restarts_the_hold():
    engine = RuleEngine()
    steps = run(engine, [MEMORY], [95, 95, 80, 95, 95, 95, 95])
    assert [bool(s) for s in steps] == [False, False, False, False, False, False, True]


def test_disabling_a_firing_rule_clears_it():
    engine = RuleEngine()
    run(engine, [MEMORY], [95, 95, 95, 95])
    assert engine.is_firing("www15", 1)
    disabled = Rule(1, "memory_usage", ">", 90, "critical", 3, enabled=False)
    assert engine.evaluate([disabled], {"www15": {"memory_usage": 99}}, 10) == [Cleared("www15", 1, None)]


def test_server_status_is_the_worst_breached_severity():
    rules = [MEMORY, Rule(2, "cpu_usage", ">", 85, "warning", 5)]
    assert server_status(rules, {"memory_usage": 50, "cpu_usage": 50}) == "ok"
    assert server_status(rules, {"memory_usage": 50, "cpu_usage": 90}) == "warning"
    assert server_status(rules, {"memory_usage": 95, "cpu_usage": 90}) == "critical"


def test_rule_edits_are_checked_with_readable_messages():
    assert validate_rule_edit("cpu_usage", ">", "80", "warning", "10") == {
        "metric": "cpu_usage", "operator": ">", "threshold": 80.0, "severity": "warning", "for_seconds": 10}
    with pytest.raises(RuleError, match="threshold must be a number"):
        validate_rule_edit("cpu_usage", ">", "lots", "warning", "10")
    with pytest.raises(RuleError, match="Unknown metric"):
        validate_rule_edit("temperature", ">", "1", "warning", "10")
    with pytest.raises(RuleError, match="between 0 and 86400"):
        validate_rule_edit("cpu_usage", ">", "1", "warning", "-1")
