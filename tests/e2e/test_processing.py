"""The distributed processing queue end to end: real workers under init scripts
on three lab hosts claim from PostgreSQL while `inv processing.*` diagnoses and
maintains the queue; every count is read back from the database."""
import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from labtools import BIN, REPO, inv, lab, on_host, wait_until

WORKERS = ["processing-worker1", "processing-worker2", "processing-worker3"]
ELIGIBLE = ("(status = 'completed' AND completed_at < now() - interval '30 days') OR "
            "(status = 'failed' AND updated_at < now() - interval '7 days' AND retry_count >= 5)")


@pytest.fixture(scope="module")
def pq(lab_up):
    sys.path.insert(0, str(REPO))
    from lab import processing
    if not processing.worker_hosts():
        pytest.skip("the lab runs no processing hosts (REMEDIES_LAB_SYSTEMS)")
    return processing


def q(pq, sql, args=None):
    conn = pq.connect()
    try:
        with conn.cursor() as cur:
            cur.execute(sql, args)
            return cur.fetchall() if cur.description else cur.rowcount
    finally:
        conn.close()


def quiet(pq):
    lab("incident", "processing-quiet")
    wait_until(lambda: all(on_host(h, "service processing-worker status").returncode == 0 for h in WORKERS),
               what="workers running")


def table_digest(pq):
    return q(pq, "SELECT count(*), md5(string_agg(q::text, '|' ORDER BY id)) FROM processing_queue q")[0]


def archives(state_dir):
    d = state_dir / "archive"
    return sorted(d.glob("*.json")) if d.exists() else []


def archived_keys(state_dir):
    keys = set()
    for path in archives(state_dir):
        keys.update(json.loads(path.read_text())["keys"])
    return keys


def results(doc, prefix):
    return [r for r in doc["results"] if r["task"].split(" : ")[-1].startswith(prefix)]


def test_health_levels_and_diagnostics(pq, state_dir):
    quiet(pq)
    code, doc, err = inv("processing.health", "--json", state_dir=state_dir)
    assert code == 0, err
    [health] = [r for r in doc["results"] if r.get("data", {}).get("level")]
    assert health["data"]["level"] == "ok" and health["data"]["metrics"]["workers_running"] == 3

    planted = lab("incident", "processing-orphans")
    orphans = planted["killed_batch"] + planted["synthetic"]
    code, doc, err = inv("processing.health", "--json", state_dir=state_dir)
    assert code == 4, err  # needs attention
    data = [r for r in doc["results"] if r.get("data", {}).get("level")][0]["data"]
    assert data["metrics"]["orphaned_records"] == orphans
    assert data["level"] == "critical"  # > 50 orphaned (the runbook's thresholds, group_vars)
    assert {"metric": "orphaned_records", "level": "critical"}.items() <= \
        [a for a in data["alerts"] if a["metric"] == "orphaned_records"][0].items()

    code, doc, err = inv("processing.diagnose", "--json", state_dir=state_dir)
    assert code == 4, err
    diag = [r for r in doc["results"] if "issues_found" in r.get("data", {})][0]["data"]
    assert any(f"{orphans} orphaned records" in i for i in diag["issues_found"]), diag
    assert diag["metrics"]["missing_indexes"] == []

    # Q11: clean data passes; a corrupted row is an emergency.
    code, doc, err = inv("processing.integrity", "--json", state_dir=state_dir)
    assert code == 4 and not any("integrity" in i for i in
                                 [r for r in doc["results"] if "issues_found" in r.get("data", {})][0]["data"]
                                 ["issues_found"]), err
    bad = q(pq, "INSERT INTO processing_queue (flow_name, status, created_at, updated_at) "
                "VALUES ('survey_intake', 'completed', now(), now()) RETURNING id")[0][0]
    try:
        code, doc, err = inv("processing.integrity", "--json", state_dir=state_dir)
        data = [r for r in doc["results"] if "issues_found" in r.get("data", {})][0]["data"]
        assert code == 4 and data["level"] == "emergency"
        assert data["metrics"]["integrity"]["completed_without_completed_at"] == 1
    finally:
        q(pq, "DELETE FROM processing_queue WHERE id = %s", (bad,))


def test_performance_shows_the_dominant_errors(pq, state_dir):
    quiet(pq)
    wave = lab("incident", "processing-failure-wave")
    code, doc, err = inv("processing.performance", "--window-hours", "1", "--json", state_dir=state_dir)
    assert code == 4, err
    data = [r for r in doc["results"] if "recommendations" in r.get("data", {})][0]["data"]
    top = [(e["error_message"], e["error_count"]) for e in data["metrics"]["top_errors"][:3]]
    assert top == [tuple(t) for t in wave["top_errors"]]
    assert data["metrics"]["overall"]["failed"] == wave["failed_added"]
    assert data["level"] == "critical" and any("cause" in r for r in data["recommendations"])
    assert {f["flow_name"] for f in data["metrics"]["flows"]} == {"survey_intake", "survey_scoring"}


def test_maintenance_beside_three_live_workers(pq, state_dir):
    """Q4, Q5 and Q6 while the workers keep claiming: nothing lost, nothing
    processed twice, no claim waited on the maintenance's locks."""
    quiet(pq)
    lab("incident", "processing-history")
    orphans = lab("incident", "processing-orphans")
    lab("incident", "processing-failure-wave")
    eligible = {r[0] for r in q(pq, f"SELECT id FROM processing_queue WHERE {ELIGIBLE}")}
    kept_history = {r[0] for r in q(pq, f"SELECT id FROM processing_queue WHERE NOT ({ELIGIBLE})")}
    backlog = pq.add_pending(2500, work_ms=5)
    started = q(pq, "SELECT now()")[0][0]
    # A row a worker (or anyone) holds is skipped, not waited for.
    held = pq.connect(autocommit=False)
    held_id = min(eligible)
    with held.cursor() as cur:
        cur.execute("SELECT id FROM processing_queue WHERE id = %s FOR UPDATE", (held_id,))

    code, doc, err = inv("processing.cleanup-orphaned", "--apply", "--yes", "--json", state_dir=state_dir)
    assert code == 2, err
    requeued = sum(r.get("rows_changed", 0) for r in results(doc, "Q4 re-queue"))
    failed = sum(r.get("rows_changed", 0) for r in results(doc, "Q4 fail"))
    assert requeued + failed == orphans["killed_batch"] + orphans["synthetic"]
    assert failed >= orphans["past_max_retries"]

    code, doc, err = inv("processing.reset-failed", "--apply", "--yes", "--json", state_dir=state_dir)
    assert code == 2, err
    code, doc, err = inv("processing.cleanup-history", "--apply", "--yes", "--json", state_dir=state_dir)
    assert code == 2, err
    deleted = sum(r.get("rows_changed", 0) for r in results(doc, "Q6"))
    assert deleted == len(eligible) - 1  # all but the held row
    assert all(r.get("batches", 0) == -(-r.get("rows_changed", 0) // 1000) for r in results(doc, "Q6"))
    finished = q(pq, "SELECT now()")[0][0]
    held.rollback()
    held.close()
    code, doc, err = inv("processing.cleanup-history", "--apply", "--yes", "--json", state_dir=state_dir)
    assert code == 2 and sum(r.get("rows_changed", 0) for r in results(doc, "Q6")) == 1, err

    # Every record is still there but the old history, which is exactly what was archived.
    present = {r[0] for r in q(pq, "SELECT id FROM processing_queue")}
    assert set(backlog) <= present and kept_history - eligible <= present
    assert not (eligible & present)
    assert eligible <= archived_keys(state_dir)
    wait_until(lambda: q(pq, "SELECT count(*) FROM processing_queue WHERE id = ANY(%s) AND status <> 'completed'",
                         (backlog,))[0][0] == 0, timeout=90, what="the workers to finish the backlog")
    twice = q(pq, "SELECT count(*) FROM (SELECT queue_id FROM processed_surveys GROUP BY queue_id "
                  "HAVING count(*) > 1) t")[0][0]
    assert twice == 0
    assert q(pq, "SELECT count(DISTINCT queue_id) FROM processed_surveys WHERE queue_id = ANY(%s)",
             (backlog,))[0][0] == len(backlog)
    batches, max_claim_ms, timeouts = q(pq, "SELECT count(*), max(claim_ms), sum(claim_lock_timeouts) "
                                            "FROM flow_execution_logs WHERE started_at BETWEEN %s AND %s",
                                        (started, finished))[0]
    print(f"\nworker batches during maintenance: {batches}, longest claim {max_claim_ms:.1f} ms, "
          f"claims that waited > 100 ms on a lock: {timeouts}")
    assert batches >= 10  # the workers really were claiming meanwhile
    assert timeouts == 0


def test_history_cleanup_survives_sigkill_and_undo_restores(pq, state_dir):
    quiet(pq)
    lab("incident", "processing-history")
    eligible = {r[0] for r in q(pq, f"SELECT id FROM processing_queue WHERE {ELIGIBLE}")}
    before = table_digest(pq)
    env = dict(os.environ, REMEDIES_STATE_DIR=str(state_dir), ANSIBLE_CONFIG=str(REPO / "ansible.cfg"))
    # The playbook as cron or AWX runs it (no plan step), in batches of 250 rows.
    argv = [str(BIN / "ansible-playbook"), "playbooks/processing_cleanup_history.yml",
            "-e", "processing_batch_size=250"]
    for kill_after in (1, len(archives(state_dir)) + 3, None):
        proc = subprocess.Popen(argv, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        if kill_after is None:
            assert proc.wait(timeout=300) == 0
            break
        target = len(archives(state_dir)) + kill_after
        deadline = time.monotonic() + 60
        while len(archives(state_dir)) < target and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.002)
        time.sleep(random.uniform(0, 0.02))  # anywhere in a batch: lock, delete, archive or commit
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        present = {r[0] for r in q(pq, "SELECT id FROM processing_queue WHERE id = ANY(%s)", (list(eligible),))}
        assert eligible - present <= archived_keys(state_dir), "a row was deleted without its archive"
        assert present, "the kill came after the job was done; nothing was tested"
    assert not q(pq, f"SELECT id FROM processing_queue WHERE {ELIGIBLE}")
    assert eligible <= archived_keys(state_dir)

    runs = sorted({p.name.rsplit("-b", 1)[0] for p in archives(state_dir)}, reverse=True)
    assert len(runs) >= 2
    for run_id in runs:
        code, doc, err = inv("processing.undo-run", run_id, "--yes", "--json", state_dir=state_dir)
        assert code in (0, 2), err
    assert table_digest(pq) == before


def test_bad_input_gets_one_clear_error_and_changes_nothing(pq, state_dir):
    quiet(pq)
    lab("incident", "processing-history")
    before = table_digest(pq)
    cases = [
        (("processing.cleanup-orphaned", "--apply", "--yes", "--timeout-hours", "-1"), 1, "positive number of hours"),
        (("processing.reset-failed", "--apply", "--yes", "--max-retries", "0"), 1, "max retries must be 1 or more"),
        (("processing.cleanup-history", "--apply", "--yes", "--status", "archived"), 1, "unknown status archived"),
        (("processing.performance", "--window-hours", "9000"), 3, "over a year"),
        (("processing.cleanup-history", "--apply", "--yes", "--batch-size", "50000"), 1, "at most 10000"),
    ]
    for args, want, text in cases:
        code, doc, err = inv(*args, "--json", state_dir=state_dir)
        assert code == want and text in doc["message"], (args, code, doc, err)
        assert "ansible" not in err.lower(), "refused before any playbook ran"
    # --yes confirms the long window
    code, doc, err = inv("processing.performance", "--window-hours", "9000", "--yes", "--json", state_dir=state_dir)
    assert code in (0, 4), err
    # The playbooks refuse bad input on their own too (AWX and cron call them directly).
    res = subprocess.run([str(BIN / "ansible-playbook"), "playbooks/processing_reset_failed.yml",
                          "-e", "processing_max_retries=0"], cwd=REPO, capture_output=True, text=True,
                         env=dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
                                  REMEDIES_STATE_DIR=str(state_dir)))
    assert res.returncode != 0 and "bad input, nothing was changed" in res.stdout
    assert table_digest(pq) == before
    assert archives(state_dir) == []


def test_emergency_stop_then_gradual_restart(pq, state_dir):
    quiet(pq)
    lab("incident", "processing-backlog")
    code, doc, err = inv("processing.emergency-stop", "--json", state_dir=state_dir)
    assert code == 3 and "--yes" in doc["message"]  # destructive: asks first
    code, doc, err = inv("processing.emergency-stop", "--yes", "--json", state_dir=state_dir)
    assert code == 2, err
    assert all(on_host(h, "service processing-worker status").returncode != 0 for h in WORKERS)
    # TERM let each worker hand its unfinished batch back to pending.
    assert q(pq, "SELECT count(*) FROM processing_queue WHERE status = 'processing'")[0][0] == 0
    stopped_at = q(pq, "SELECT now()")[0][0]

    code, doc, err = inv("processing.gradual-restart", "--yes", "--observe", "1", "--json", state_dir=state_dir)
    assert code == 2, err
    assert all(on_host(h, "service processing-worker status").returncode == 0 for h in WORKERS)
    assert all(on_host(h, "test ! -e /opt/processing/batch_size").returncode == 0 for h in WORKERS)
    first = q(pq, "SELECT flow_instance_id, min(started_at), max(claimed) FROM flow_execution_logs "
                  "WHERE started_at > %s GROUP BY 1 ORDER BY 2", (stopped_at,))
    assert first and first[0][0].startswith("processing-worker1-")
    assert first[0][2] <= 10  # reduced capacity first
    audit = [json.loads(line) for line in (state_dir / "audit.jsonl").read_text().splitlines()]
    assert sum(1 for a in audit if a.get("catalog_id") == "Q9" and a.get("outcome") == "changed") == 6


def test_database_health_and_capacity(pq, state_dir):
    quiet(pq)
    lab("incident", "processing-backlog")
    code, doc, err = inv("processing.database-health", "--json", state_dir=state_dir)
    assert code == 0, err
    db = [r for r in doc["results"] if r.get("data", {}).get("metrics", {}).get("pool_capacity")][0]["data"]
    assert db["metrics"]["app_connections"] == 3 and db["metrics"]["pool_capacity"] == 90
    time.sleep(8)  # a few batches to measure
    code, doc, err = inv("processing.capacity", "--window-minutes", "1", "--json", state_dir=state_dir)
    assert code in (0, 4), err
    cap = [r for r in doc["results"] if "containers_needed" in r.get("data", {}).get("metrics", {})][0]["data"]
    m = cap["metrics"]
    assert m["pending_records"] > 0 and m["containers_needed"] >= 1
    assert m["containers_needed"] == -(-m["pending_records"] // (m["batch_size"] * m["target_processing_rate"]))


def test_maintenance_gives_up_on_a_locked_table_within_its_lock_timeout(pq, state_dir):
    """Every maintenance statement runs under lock_timeout: a table someone holds
    exclusively makes the run fail fast, changing nothing."""
    quiet(pq)
    lab("incident", "processing-orphans")
    before = q(pq, "SELECT count(*) FROM processing_queue WHERE status = 'processing'")[0][0]
    holder = pq.connect(autocommit=False)
    try:
        with holder.cursor() as cur:
            cur.execute("LOCK TABLE processing_queue IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        code, doc, err = inv("processing.cleanup-orphaned", "--apply", "--yes", "--json", state_dir=state_dir)
        elapsed = time.monotonic() - started
    finally:
        holder.rollback()
        holder.close()
    assert code == 1, err
    assert any("lock wait timed out after 1000 ms" in (r.get("msg") or "") for r in doc["results"]), doc
    assert elapsed < 60
    assert q(pq, "SELECT count(*) FROM processing_queue WHERE status = 'processing'")[0][0] == before
    assert archives(state_dir) == []
