"""processing_assess: the runbook's thresholds map figures to the alert levels (Q8),
and the capacity formula (Q10). Pure functions; no database."""
import runpy
from pathlib import Path

import pytest

MOD = runpy.run_path(str(Path(__file__).resolve().parents[2] / "library" / "processing_assess.py"))
health, capacity, diagnostics = MOD["health"], MOD["capacity"], MOD["diagnostics"]

CALM = {"total_records": 1000, "pending_records": 10, "processing_records": 5, "completed_records": 980,
        "failed_records": 5, "orphaned_records": 0, "window_completed": 190, "window_failed": 10,
        "window_hours": 1, "response_time_ms": 20, "workers_total": 3, "workers_running": 3}


@pytest.mark.parametrize("change, level, metric", [
    ({}, "ok", None),
    ({"window_completed": 85, "window_failed": 15}, "warning", "success_rate"),     # 85 %
    ({"window_completed": 70, "window_failed": 30}, "critical", "success_rate"),    # 70 %
    ({"window_completed": 30, "window_failed": 0}, "warning", "processing_rate"),   # 30/hour with a backlog
    ({"window_completed": 5, "window_failed": 0}, "critical", "processing_rate"),
    ({"failed_records": 75}, "warning", "failed_records"),
    ({"failed_records": 101}, "critical", "failed_records"),
    ({"orphaned_records": 11}, "warning", "orphaned_records"),
    ({"orphaned_records": 51}, "critical", "orphaned_records"),
    ({"response_time_ms": 1500}, "warning", "response_time"),
    ({"response_time_ms": 6000}, "critical", "response_time"),
    ({"workers_running": 0}, "emergency", "workers"),
    ({"db_reachable": False}, "emergency", "database"),
    ({"integrity_problems": 2}, "emergency", "data_integrity"),
])
def test_alert_levels(change, level, metric):
    result = health(dict(CALM, **change), {})
    assert result["level"] == level
    assert result["attention"] is (level != "ok")
    if metric:
        assert metric in [a["metric"] for a in result["alerts"] if a["level"] == level]


def test_idle_queue_is_not_slow():
    result = health(dict(CALM, pending_records=0, window_completed=0, window_failed=0), {})
    assert result["level"] == "ok" and result["metrics"]["success_rate_percent"] is None


def test_thresholds_come_from_configuration():
    assert health(dict(CALM, failed_records=75), {"failed_records_warning": 200})["level"] == "ok"


def test_capacity_formula_and_pool_cap():
    m = capacity({"pending_records": 9000, "processing_records": 0, "batch_size": 100,
                  "target_processing_rate": 12, "containers": 3, "pool_size": 10, "max_overflow": 20}, {})["metrics"]
    assert m["containers_needed"] == 8 and m["containers_recommended"] == 8  # ceil(9000 / 1200)
    assert m["theoretical_capacity_per_hour"] == 3600 and m["utilization_percent"] == 250.0
    capped = capacity({"pending_records": 100000, "batch_size": 100, "target_processing_rate": 12,
                       "containers": 3, "pool_size": 10, "max_overflow": 20}, {})
    assert capped["metrics"]["containers_needed"] == 84 and capped["metrics"]["containers_recommended"] == 15
    assert capped["level"] == "warning"


def test_diagnostics_issues():
    out = diagnostics({"orphaned": [{"flow_instance_id": "w1-1", "orphaned_records": 60, "oldest_hours": 3.5}],
                       "claim_patterns": [{"flow_instance_id": "w2-2", "records_claimed": 500}],
                       "integrity": {"processed_twice": 1, "failed_without_error": 0},
                       "indexes": ["a"], "recommended_indexes": ["a", "b"], "batch_size": 100}, {})
    assert out["level"] == "emergency"
    text = "\n".join(out["issues_found"])
    assert "60 orphaned" in text and "w2-2 holds 500" in text and "1 rows processed twice" in text
    assert "index b is missing" in text
