"""Backbeat end to end: JBoss stand-ins on accounting-worker1..3 under their init
script (over SSH), Sidekiq queues in the lab's Redis (db 5, backbeat: keys).
Each test starts from the planted failure (python -m lab incident ...)."""
import json
import subprocess

import pytest
import yaml

from labtools import BIN, REPO, inv, lab
from services import http, lab_vars, results, sh

WORKERS = ("accounting-worker1", "accounting-worker2", "accounting-worker3")
LOG = "/var/groupon/jboss/accounting/logs/server.log"

pytestmark = pytest.mark.usefixtures("lab_up")


def pid(host):
    out = sh(host, "cat /run/jboss.pid 2>/dev/null; true").strip()
    return int(out) if out else None


def heartbeat(host):
    return http(lab_vars()["backbeat_lab_http_ports"][host], "/heartbeat.txt")[0]


@pytest.fixture
def fresh_workers():
    lab("incident", "hung-jboss-stop")  # every worker fresh, then the fault on worker2 ...
    sh("accounting-worker2", "rm -f /var/groupon/jboss/accounting/faults/*")  # ... which this fixture takes away
    return {h: pid(h) for h in WORKERS}


def test_b1_healthy_workers_are_not_restarted(fresh_workers, state_dir):
    code, doc, err = inv("backbeat.restart-jboss", "--yes", "--json", state_dir=state_dir)
    assert code == 0, err
    assert {h: pid(h) for h in WORKERS} == fresh_workers
    assert doc["severity"]["level"] == 3 and doc["severity"]["meaning"] == "medium: Could be losing money"


def test_b1_rolling_restart_kills_the_hornetq_hang(state_dir):
    lab("incident", "hung-jboss-stop")
    before = {h: pid(h) for h in WORKERS}
    code, doc, err = inv("backbeat.restart-jboss", "--force", "--stop-timeout", "3", "--yes", "--json",
                         state_dir=state_dir)
    assert code == 2, err
    after = {h: pid(h) for h in WORKERS}
    assert all(after[h] and after[h] != before[h] for h in WORKERS), (before, after)
    assert all(heartbeat(h) == 200 for h in WORKERS)
    restarts = {r["host"]: r for r in results(doc, "Bring the service to restarted")}
    assert list(restarts) == list(WORKERS)  # one at a time, in order
    hung = restarts["accounting-worker2"]["actions"]
    assert any(a.startswith("stop hang detected") and "stopping hornetq" in a for a in hung), hung
    assert any(a.startswith("SIGKILL process group") for a in hung), hung
    assert not any(a.startswith("SIGTERM") for a in hung), hung  # it ignores TERM: straight to kill -9
    assert not any("hang" in a for a in restarts["accounting-worker1"]["actions"])
    assert "started in" in sh("accounting-worker2", f"tail -n 1 {LOG}")
    assert doc["severity"]["legend"]["1"] == "high: Bleeding money"

    code, _, err = inv("backbeat.restart-jboss", "--yes", "--json", state_dir=state_dir)
    assert code == 0, err  # healthy now: nothing to restart
    assert {h: pid(h) for h in WORKERS} == after


def test_b1_only_the_down_worker_is_restarted(state_dir):
    lab("incident", "jboss-down")
    before = {h: pid(h) for h in WORKERS}
    assert heartbeat("accounting-worker3") is None
    code, doc, err = inv("backbeat.jboss-status", "--json", state_dir=state_dir)
    assert code == 4, err
    down = [r for r in results(doc, "B1 JBoss verdict") if r["attention"]]
    assert [r["host"] for r in down] == ["accounting-worker3"]
    code, doc, err = inv("backbeat.restart-jboss", "--yes", "--json", state_dir=state_dir)
    assert code == 2, err
    after = {h: pid(h) for h in WORKERS}
    assert after["accounting-worker1"] == before["accounting-worker1"]
    assert after["accounting-worker2"] == before["accounting-worker2"]
    assert after["accounting-worker3"] != before["accounting-worker3"] and heartbeat("accounting-worker3") == 200


def test_b1_rolling_restart_stops_at_the_first_failure(fresh_workers, state_dir):
    sh("accounting-worker1", "install -o jboss -m 644 /dev/null /var/groupon/jboss/accounting/faults/fail-start")
    try:
        code, doc, err = inv("backbeat.restart-jboss", "--force", "--yes", "--json", state_dir=state_dir)
        assert code == 1, err
        assert "did not come back" in err and "the remaining workers are left alone" in err
        assert pid("accounting-worker2") == fresh_workers["accounting-worker2"]
        assert pid("accounting-worker3") == fresh_workers["accounting-worker3"]
    finally:
        sh("accounting-worker1", "rm -f /var/groupon/jboss/accounting/faults/* /var/lib/remedies/restarts/*; "
                                 "service jboss start")


def test_b1_an_unreachable_worker_is_reported_while_the_others_carry_on(fresh_workers, tmp_path, state_dir):
    inventory = yaml.safe_load((REPO / "inventories" / "lab" / "hosts.yml").read_text())
    inventory["all"]["children"]["backbeat_workers"]["hosts"]["accounting-worker4"] = {
        "ansible_port": 1, "backbeat_jboss_http_port": 1}
    (tmp_path / "group_vars").symlink_to(REPO / "inventories" / "lab" / "group_vars")
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(inventory))
    code, doc, err = inv("backbeat.jboss-status", "-i", str(tmp_path / "hosts.yml"), "--json", state_dir=state_dir)
    assert code == 1, err
    assert doc["hosts"]["accounting-worker4"]["unreachable"] == 1
    healthy = [r["host"] for r in results(doc, "B1 JBoss verdict") if r["data"]["healthy"]]
    assert sorted(healthy) == list(WORKERS)


# --- B3 Sidekiq latency ----------------------------------------------------

def test_b3_latency_per_queue_in_both_formats_against_thresholds(state_dir):
    lab("incident", "slow-sidekiq")
    code, doc, err = inv("backbeat.queue-latency", "--json", state_dir=state_dir)
    assert code == 4, err
    verdict = results(doc, "B3 verdict with its severity")
    assert len(verdict) == 1  # measured once, not once per worker
    queues = {q["queue"]: q for q in verdict[0]["data"]["queues"]}
    assert queues["backbeat_server"]["enqueued_at_format"] == "seconds"
    assert 1190 < queues["backbeat_server"]["latency_seconds"] < 1300
    assert queues["accounting_invoices"]["enqueued_at_format"] == "milliseconds"
    assert 590 < queues["accounting_invoices"]["latency_seconds"] < 700
    assert queues["backbeat_server"]["key"] == "backbeat:queue:backbeat_server"
    assert all(q["over"] for q in queues.values())
    assert doc["severity"]["catalog_id"] == "B3" and verdict[0]["data"]["severity"]["level"] == 3

    code, doc, err = inv("backbeat.queue-latency", "--threshold", "3600", "--json", state_dir=state_dir)
    assert code == 0, err


def test_b3_empty_queue_has_no_latency_and_a_bad_name_is_refused(state_dir):
    code, doc, err = inv("backbeat.queue-latency", "--queue", "nosuch_queue", "--json", state_dir=state_dir)
    assert code == 0, err
    q = results(doc, "B3 verdict with its severity")[0]["data"]["queues"][0]
    assert (q["size"], q["latency_seconds"], q["enqueued_at_format"]) == (0, 0.0, None)
    code, doc, err = inv("backbeat.queue-latency", "--queue", "bad name;", "--json", state_dir=state_dir)
    assert code == 1 and "not a queue name" in doc["message"]


# --- B2 severity -----------------------------------------------------------

def test_b2_every_backbeat_entry_carries_the_legend():
    code, doc, err = inv("backbeat.severity-legend", "--json")
    assert code == 0, err
    assert doc["legend"] == {"1": "high: Bleeding money", "2": "med high: Money is being lost",
                             "3": "medium: Could be losing money", "4": "med low: Future money being lost",
                             "5": "low: Money will be lost if nothing is done"}
    assert set(doc["entries"]) == {"B1", "B2", "B3"}
    out = subprocess.run([str(BIN / "inv"), "catalog", "--system", "backbeat", "--json"], cwd=REPO,
                         capture_output=True, text=True, check=True).stdout
    for entry in json.loads(out):
        assert len(entry["severity_legend"]) == 5 and 1 <= entry["severity"] <= 5
