from demo_monitor.domain.fleet import METRICS, Fleet, fleet_names
from demo_monitor.domain.rules import Rule, RuleEngine

DEFAULT_RULES = [
    Rule(1, "memory_usage", ">", 90, "critical", 2),
    Rule(2, "cpu_usage", ">", 85, "warning", 5),
    Rule(3, "disk_usage", ">", 95, "error", 2),
    Rule(4, "error_rate", ">", 5, "critical", 2),
]


def test_default_fleet_has_web_db_and_cache_servers_including_www15():
    names = [name for name, _ in fleet_names(24)]
    assert len(names) == 24
    assert "www15" in names and "www1" in names
    assert any(n.startswith("db") for n in names) and any(n.startswith("cache") for n in names)
    assert len(set(names)) == 24
    assert len(fleet_names(200)) == 200


def test_same_seed_gives_the_same_series_and_another_seed_differs():
    a = Fleet(24, seed=7, start=1_790_000_000)
    b = Fleet(24, seed=7, start=1_790_000_000)
    c = Fleet(24, seed=8, start=1_790_000_000)
    series_a = [a.tick()["www3"]["cpu_usage"] for _ in range(50)]
    series_b = [b.tick()["www3"]["cpu_usage"] for _ in range(50)]
    series_c = [c.tick()["www3"]["cpu_usage"] for _ in range(50)]
    assert series_a == series_b
    assert series_a != series_c
    assert len(set(series_a)) > 10  # it moves


def test_a_healthy_fleet_raises_no_alert_with_the_default_rules():
    fleet = Fleet(200, seed=42, start=1_790_000_000)
    engine = RuleEngine()
    fired = []
    for _ in range(300):
        fired += engine.evaluate(DEFAULT_RULES, fleet.tick(), fleet.now)
    assert fired == []


def test_history_is_a_bounded_ring_buffer_aligned_with_timestamps():
    fleet = Fleet(3, history=10, start=100.0)
    for _ in range(25):
        fleet.tick()
    history = fleet.history("www1")
    assert history["t"] == [100.0 + i for i in range(16, 26)]
    for metric in METRICS:
        assert len(history[metric]) == 10


def test_a_fault_drives_the_metric_to_its_target_holds_it_and_recovery_lets_it_fall_back():
    fleet = Fleet(24, seed=1, start=1_790_000_000)
    fleet.tick()
    fleet.set_fault("www15", "memory_usage", 98, ramp_ticks=2)
    first = fleet.tick()["www15"]["memory_usage"]
    assert 70 < first < 98
    held = [fleet.tick()["www15"]["memory_usage"] for _ in range(5)]
    assert held == [98.0] * 5
    assert fleet.active_faults("www15") == {"memory_usage": 98}
    assert fleet.clear_fault("www15", "memory_usage")
    after = [fleet.tick()["www15"]["memory_usage"] for _ in range(4)]
    assert after[-1] < 85
    assert fleet.servers["www15"].faults == {}
