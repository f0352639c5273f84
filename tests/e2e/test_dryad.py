"""Dryad end to end: a maintenance window under steady load, driven by
`inv drain-jobs` and `inv resume-jobs` over real SSH against real workers,
web processes and MariaDB. No job may be lost or run twice."""
import json
import time

import pytest

from dryad_lab import (DEPLOY, JOBS_HOST, clean, dj_pid, hold_files, kill_app_connections, marks, one,
                       open_work, release_dead_locks, rows, set_load, sigkill_a_busy_worker, worker_pids)
from labtools import BIN, REPO, inv, on_host, wait_until


@pytest.fixture
def dryad_lab(lab_up):
    set_load(2)
    release_dead_locks()
    yield
    set_load(2)
    clean()


def lap(label, started=[]):  # noqa: B006 (a stopwatch across one test)
    now = time.monotonic()
    print(f"{label}: {now - started[-1]:.1f}s" if started else f"{label}")
    started[:] = [now]


def playbook(name, state_dir, *args):
    """What CI and AWX run: ansible-playbook itself."""
    import subprocess
    return subprocess.run([str(BIN / "ansible-playbook"), f"playbooks/{name}", *args], cwd=REPO,
                          capture_output=True, text=True, env={"ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
                                                               "PATH": f"{BIN}:/usr/bin:/bin",
                                                               "REMEDIES_STATE_DIR": str(state_dir)})


def audit(state_dir):
    path = state_dir / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.mark.parametrize("kill_worker", [False, True], ids=["steady-load", "sigkilled-worker"])
def test_no_job_lost_across_a_maintenance_window(dryad_lab, state_dir, kill_worker):
    lap("start")
    mark = marks()
    set_load(0.5)  # both UI hosts publish a dataset (a submission and a copy) every 0.5 s
    time.sleep(2)
    killed = sigkill_a_busy_worker() if kill_worker else None

    code, doc, err = inv("drain-jobs", "--timeout", "60", "--json", state_dir=state_dir)
    assert code == 2, err
    assert "drained" in doc["message"]
    assert hold_files() == {h: sorted(["defer_jobs.txt", "hold-submissions.txt"]) for h in DEPLOY}
    lap("drain")
    # nothing runs: no copy replicating but a dead worker's, no submission processing; jobs still
    # arriving are claimed only for the moment it takes to defer them
    live_lockers = [f"host:{JOBS_HOST} pid:{p}" for p in worker_pids()] or [""]
    dead_held = one("SELECT COUNT(*) FROM delayed_jobs WHERE locked_by IS NOT NULL AND locked_by NOT IN %s "
                    "AND failed_at IS NULL", (live_lockers,))
    assert dead_held == (0 if not killed else dead_held) and (dead_held >= 1 if killed else True)
    assert one("SELECT COUNT(*) FROM stash_engine_zenodo_copies WHERE state = 'replicating' AND id > %s",
               (mark["copy"],)) == dead_held
    assert one("SELECT COUNT(*) FROM stash_engine_repo_queue_states e WHERE e.state = 'processing' "
               "AND e.id = (SELECT MAX(id) FROM stash_engine_repo_queue_states n WHERE n.resource_id = e.resource_id)"
               ) == 0
    live = "SELECT COUNT(*) FROM delayed_jobs WHERE locked_by IN %s AND failed_at IS NULL"
    assert min(one(live, (live_lockers,)) for _ in range(5)) == 0
    if killed:
        assert any("dead" in " ".join(r.get("report", [])) for r in doc["results"]), "the dead lock is reported"

    # the maintenance: every Dryad service restarts, the database connections drop; datasets keep coming
    for host in DEPLOY:
        assert on_host(host, "service dryad-ui restart").returncode == 0
    old_dj = dj_pid()
    if kill_worker:
        # a deploy: CI runs the D7 hooks (new-server mode: the delayed_job service)
        for hook in ("dryad_deploy_before.yml", "dryad_deploy_after.yml"):
            res = playbook(hook, state_dir)
            assert res.returncode == 0, res.stdout[-2000:]
            if hook.endswith("before.yml"):
                assert dj_pid() is None and worker_pids() == []
    else:
        # D3 on an old server: bin/delayed_job -n 3 restart from current, as the app user
        code, doc, err = inv("dryad.delayed-job", "--action", "restart", "--mode", "command", "--yes", "--json",
                             state_dir=state_dir)
        assert code == 2, err
        assert any("delayed_job" in a for r in doc["results"] for a in r.get("actions", []))
    assert dj_pid() not in (None, old_dj)
    wait_until(lambda: len(worker_pids()) == 3, what="3 new workers")
    assert kill_app_connections() > 0
    time.sleep(1)
    held = one("SELECT COUNT(*) FROM stash_engine_zenodo_copies WHERE state = 'deferred' AND id > %s",
               (mark["copy"],))
    shut = one("SELECT COUNT(*) FROM stash_engine_repo_queue_states e WHERE e.state = 'rejected_shutting_down' "
               "AND e.resource_id > %s AND e.id = (SELECT MAX(id) FROM stash_engine_repo_queue_states n "
               "WHERE n.resource_id = e.resource_id)", (mark["resource"],))
    assert held > 0 and shut > 0, "work arriving during the window was held, not run"
    assert {h for (h,) in rows("SELECT DISTINCT hostname FROM stash_engine_repo_queue_states WHERE "
                               "state = 'rejected_shutting_down' AND resource_id > %s", (mark["resource"],))} \
        == {"dryad2a", "dryad2c"}, "both servers shut submissions down"

    lap("maintenance")
    code, doc, err = inv("resume-jobs", "--yes", "--json", state_dir=state_dir)
    assert code == 2, err
    lap("resume")
    assert hold_files() == {h: [] for h in DEPLOY}
    set_load(0)
    wait_until(lambda: open_work(mark) == 0, timeout=90, what="every copy finished and submission completed")
    lap("work done")

    # exactly once: one Zenodo deposit per copy, one Merritt ingest per resource
    copies = one("SELECT COUNT(*) FROM stash_engine_zenodo_copies WHERE id > %s AND resource_id IS NOT NULL",
                 (mark["copy"],))
    resources = one("SELECT COUNT(*) FROM lab_resources WHERE id > %s", (mark["resource"],))
    assert copies > 20 and resources == copies
    assert rows("SELECT c.id, COUNT(d.id) FROM stash_engine_zenodo_copies c LEFT JOIN lab_zenodo_deposits d "
                "ON d.copy_id = c.id WHERE c.id > %s AND c.resource_id IS NOT NULL GROUP BY c.id "
                "HAVING COUNT(d.id) <> 1", (mark["copy"],)) == ()
    assert rows("SELECT r.id, COUNT(i.id) FROM lab_resources r LEFT JOIN lab_merritt_ingests i "
                "ON i.resource_id = r.id WHERE r.id > %s GROUP BY r.id HAVING COUNT(i.id) <> 1",
                (mark["resource"],)) == ()
    assert one("SELECT COUNT(*) FROM delayed_jobs WHERE locked_by IS NOT NULL") == 0
    assert one("SELECT COUNT(*) FROM stash_engine_zenodo_copies WHERE state = 'deferred'") == 0
    ids = {a.get("catalog_id") for a in audit(state_dir) if a.get("outcome") == "changed"}
    assert {"D5", "D6", "D7" if kill_worker else "D3"} <= ids, ids
    if killed:
        changes = {a["action"]: a for a in audit(state_dir) if a.get("outcome") == "changed"}
        assert any("dead_locked_jobs->release_locks" in a for a in changes), "resume released the dead lock (D4)"
        assert one("SELECT COUNT(*) FROM delayed_jobs WHERE id = %s", (killed[0],)) == 0
    else:
        # safe to run twice: the second run finds nothing to do
        code, doc, err = inv("resume-jobs", "--yes", "--json", state_dir=state_dir)
        assert code == 0, err


def snapshot():
    return {"holds": hold_files(), "dj_pid": dj_pid(),
            "copies": rows("SELECT id, state, updated_at FROM stash_engine_zenodo_copies ORDER BY id"),
            "states": rows("SELECT id, state, hostname, updated_at FROM stash_engine_repo_queue_states ORDER BY id"),
            "jobs": rows("SELECT id, locked_by, last_error, failed_at FROM delayed_jobs ORDER BY id")}


def quiet():
    set_load(0)
    wait_until(lambda: one("SELECT COUNT(*) FROM delayed_jobs WHERE failed_at IS NULL AND locked_by IS NULL "
                           "AND run_at <= NOW()") == 0
               and one("SELECT COUNT(*) FROM stash_engine_repo_queue_states e WHERE e.state IN "
                       "('enqueued', 'processing') AND e.id = (SELECT MAX(id) FROM stash_engine_repo_queue_states n "
                       "WHERE n.resource_id = e.resource_id)") == 0, timeout=30, what="the lab to go quiet")
    time.sleep(1.2)  # updated_at has whole seconds


def test_check_mode_changes_nothing(dryad_lab, state_dir):
    quiet()
    before = snapshot()
    code, doc, err = inv("drain-jobs", "--check", "--json", state_dir=state_dir)
    assert code == 2, err  # would touch the hold files
    assert snapshot() == before

    # a drained lab, with deferred copies and shut-down submissions waiting
    set_load(0.3)
    for host, deploy in DEPLOY.items():
        on_host(host, f"touch {deploy}/releases/defer_jobs.txt {deploy}/releases/hold-submissions.txt")
    time.sleep(2)
    on_host(JOBS_HOST, "kill -KILL $(pgrep -u dryad -f 'dryad_app.py worker' | head -1)")  # a dead lock, maybe
    quiet()
    on_host(JOBS_HOST, "service delayed_job stop >/dev/null")
    before = snapshot()
    assert before["dj_pid"] is None
    for mode in ("service", "command"):  # D3 status in both start modes: stopped needs attention
        code, doc, err = inv("dryad.delayed-job", "--mode", mode, "--json", state_dir=state_dir)
        assert code == 4 and "NOT RUNNING" in doc["message"], (mode, err)
    for args in (["resume-jobs", "--check"], ["dryad.delayed-job", "--action", "start", "--check"]):
        code, doc, err = inv(*args, "--json", state_dir=state_dir)
        assert code in (0, 2), (args, err)
        assert snapshot() == before, args
    assert not list((state_dir / "archive").glob("*.json")) if (state_dir / "archive").exists() else True
    assert all(a.get("check_mode") or a.get("outcome") in ("nothing_to_do", "planned") for a in audit(state_dir))


def test_bad_input_is_refused_and_changes_nothing(dryad_lab, state_dir):
    before = hold_files()
    assert before == {h: [] for h in DEPLOY}
    for args, says in ((["drain-jobs", "--host", "nosuchhost"], "unknown host"),
                       (["drain-jobs", "--timeout", "0"], "positive"),
                       (["drain-jobs", "--timeout", "-5"], "positive"),
                       (["dryad.delayed-job", "--action", "restart", "--host", "dryad2a", "--yes"], "unknown host"),
                       (["dryad.resend-copies", "--copy-id", "987654321", "--apply", "--yes"], "no Zenodo copy"),
                       (["dryad.resend-copies", "--copy-id", "abc"], "positive integer"),
                       (["dryad.delayed-job", "--action", "explode"], "unknown action")):
        code, doc, err = inv(*args, "--json", state_dir=state_dir)
        assert code == 1, (args, err)
        assert says in (doc or {}).get("message", "") + err, (args, doc, err)
        assert hold_files() == before, args
    # the playbooks refuse the same input when CI or AWX run them directly
    res = playbook("dryad_drain_jobs.yml", state_dir, "-e", '{"dryad_drain_timeout": -1}')
    assert res.returncode != 0 and "nothing was changed" in res.stdout + res.stderr
    assert hold_files() == before

    # a drain while a drain is in place succeeds and says so
    for host, deploy in DEPLOY.items():
        on_host(host, f"touch {deploy}/releases/defer_jobs.txt {deploy}/releases/hold-submissions.txt")
    code, doc, err = inv("drain-jobs", "--json", state_dir=state_dir)
    assert code == 0, err
    assert "already in place" in doc["message"]


def test_resend_reset_and_cut_off_jobs(dryad_lab, state_dir):
    from dryad_lab import dryad
    info = dryad.zenodo_errors()
    code, doc, err = inv("dryad.stuck-jobs", "--json", state_dir=state_dir)
    assert code == 4, err
    assert "cut off" in doc["message"]

    # D1, plan: resend in order; the admin page's refusals kept
    code, doc, err = inv("dryad.resend-copies", "--all-errored", "--json", state_dir=state_dir)
    assert code == 2, err
    refusals = doc["refusals"]
    assert any(r.startswith(f"copy {info['second']} ") and "prerequisite" in r for r in refusals), refusals
    assert any(r.startswith(f"copy {info['queued']} ") and "already queued" in r for r in refusals), refusals
    code, doc, err = inv("dryad.resend-copies", "--copy-id", str(info["second"]), "--apply", "--yes", "--json",
                         state_dir=state_dir)
    assert code == 3 and "prerequisite" in doc["message"], err
    assert one("SELECT state FROM stash_engine_zenodo_copies WHERE id = %s", (info["second"],)) == "error"

    code, doc, err = inv("dryad.resend-copies", "--all-errored", "--identifier", str(info["identifier"]), "--apply",
                         "--yes", "--json", state_dir=state_dir)
    assert code == 2, err
    resent = (info["first"], info["other_type"])
    wait_until(lambda: one("SELECT COUNT(*) FROM stash_engine_zenodo_copies WHERE id IN %s AND state = 'finished'",
                           (resent,)) == 2, timeout=30, what="resent copies to finish")
    assert one("SELECT COUNT(*) FROM lab_zenodo_deposits WHERE copy_id IN %s", (resent,)) == 2

    # D4: delete the rows cut off by SIGTERM / execution expired (archived), then D2 resets their copies
    code, doc, err = inv("dryad.delete-cut-off-jobs", "--apply", "--yes", "--json", state_dir=state_dir)
    assert code == 2, err
    change = next(r["change_id"] for r in doc["results"] if r.get("change_id"))
    assert one("SELECT COUNT(*) FROM delayed_jobs WHERE id IN %s", ((info["sigterm_job"], info["expired_job"]),)) == 0
    code, doc, err = inv("dryad.reset-stalled", "--apply", "--yes", "--json", state_dir=state_dir)
    assert code == 2, err
    assert {s for (s,) in rows("SELECT state FROM stash_engine_zenodo_copies WHERE id IN %s",
                               ((info["sigterm_copy"], info["expired_copy"]),))} == {"error"}
    archived = json.loads(next((state_dir / "archive").glob(f"{change}.json")).read_text())
    assert {r["id"] for r in archived["before"]} == {info["sigterm_job"], info["expired_job"]}
    # leave the lab as found: the incident's leftovers go
    conn = dryad.connect()
    with conn.cursor() as cur:
        cur.execute("DELETE FROM delayed_jobs WHERE id IN %s",
                    ((info["queued_job"], info["sigterm_job"], info["expired_job"]),))
    conn.close()
