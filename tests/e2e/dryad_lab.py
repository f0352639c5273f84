"""Helpers for the Dryad end-to-end tests: the lab's two UI hosts over SSH and
the `dryad` database, looked at the way an on-call engineer would."""
import sys
import time

from labtools import REPO, on_host, wait_until

sys.path.insert(0, str(REPO))
from lab import backends, dryad  # noqa: E402

DEPLOY = {"dryad2a": "/home/dryad/apps/ui", "dryad2c": "/home/dryad/deploy"}
HOLDS = ("defer_jobs.txt", "hold-submissions.txt")
JOBS_HOST = "dryad2c"


def db():
    return dryad.connect()


def rows(sql, args=()):
    conn = db()
    try:
        with conn.cursor() as cur:
            cur.execute(sql, args)
            return cur.fetchall()
    finally:
        conn.close()


def one(sql, args=()):
    return rows(sql, args)[0][0]


def hold_files():
    """{host: [hold files present]}, read on the hosts over SSH."""
    out = {}
    for host, deploy in DEPLOY.items():
        res = on_host(host, f"cd {deploy}/releases && ls {' '.join(HOLDS)} 2>/dev/null; true")
        out[host] = sorted(res.stdout.split())
    return out


def set_load(gap):
    """Seconds between new datasets on each UI host (0: stop the stream)."""
    for host in DEPLOY:
        res = on_host(host, f"echo {gap} > /home/dryad/lab-load")
        assert res.returncode == 0, res.stderr


def dj_pid():
    res = on_host(JOBS_HOST, f"cat {DEPLOY[JOBS_HOST]}/current/tmp/pids/delayed_job.pid 2>/dev/null")
    return int(res.stdout) if res.stdout.strip() else None


def worker_pids():
    res = on_host(JOBS_HOST, "pgrep -u dryad -f 'dryad_app.py worker'")
    return sorted(int(p) for p in res.stdout.split())


def marks():
    """Ids before the test's window: what was created after is the test's."""
    return {"copy": one("SELECT COALESCE(MAX(id), 0) FROM stash_engine_zenodo_copies"),
            "resource": one("SELECT COALESCE(MAX(id), 0) FROM lab_resources")}


def open_work(mark):
    """Copies and submissions of the window not yet finished / completed."""
    copies = one("SELECT COUNT(*) FROM stash_engine_zenodo_copies WHERE id > %s AND resource_id IS NOT NULL "
                 "AND state <> 'finished'", (mark["copy"],))
    subs = one("SELECT COUNT(*) FROM lab_resources r JOIN stash_engine_repo_queue_states e ON e.resource_id = r.id "
               "WHERE r.id > %s AND e.id = (SELECT MAX(id) FROM stash_engine_repo_queue_states n "
               "WHERE n.resource_id = r.id) AND e.state <> 'completed'", (mark["resource"],))
    missing = one("SELECT COUNT(*) FROM lab_resources r WHERE r.id > %s AND NOT EXISTS "
                  "(SELECT 1 FROM stash_engine_repo_queue_states e WHERE e.resource_id = r.id)", (mark["resource"],))
    return copies + subs + missing


def kill_app_connections():
    """The database connection goes away under the app (as in a failover): kill its sessions."""
    admin = backends.admin_secrets()
    import pymysql
    conn = pymysql.connect(host="127.0.0.1", port=3306, user=admin["user"], password=admin["password"],
                           autocommit=True)
    killed = 0
    with conn.cursor() as cur:
        cur.execute("SELECT id FROM information_schema.processlist WHERE user = 'dryad_app'")
        for (thread,) in cur.fetchall():
            try:
                cur.execute("KILL CONNECTION %s", (thread,))
                killed += 1
            except pymysql.err.OperationalError:
                pass  # gone already
    conn.close()
    return killed


def sigkill_a_busy_worker(timeout=20):
    """SIGKILL a live worker in the middle of a job; return (job id, locked_by)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        live = {f"host:{JOBS_HOST} pid:{p}": p for p in worker_pids()}
        locked = rows("SELECT id, locked_by FROM delayed_jobs WHERE locked_by IN %s AND failed_at IS NULL "
                      "AND queue LIKE 'zenodo%%' ORDER BY locked_at DESC LIMIT 1", (list(live) or [""],))
        if locked:
            job_id, locker = locked[0]
            on_host(JOBS_HOST, f"kill -KILL {live[locker]}")
            time.sleep(0.3)
            still = rows("SELECT locked_by FROM delayed_jobs WHERE id = %s", (job_id,))
            if still and still[0][0] == locker:
                return job_id, locker
        time.sleep(0.05)
    raise AssertionError("no worker was caught in a job to SIGKILL")


def release_dead_locks():
    """Lab plumbing: locks of workers an earlier test killed go, so each test starts clean."""
    live = [f"host:{JOBS_HOST} pid:{p}" for p in worker_pids()] or [""]
    conn = db()
    with conn.cursor() as cur:
        cur.execute("UPDATE delayed_jobs SET locked_by = NULL, locked_at = NULL WHERE locked_by IS NOT NULL "
                    "AND locked_by NOT IN %s", (live,))
    conn.close()


def clean():
    """Lab plumbing between tests: no hold, nothing deferred or shut down, delayed_job running."""
    for host, deploy in DEPLOY.items():
        on_host(host, f"rm -f {deploy}/releases/defer_jobs.txt {deploy}/releases/hold-submissions.txt; "
                      f"runuser -u dryad -- {deploy}/current/bin/dryad-admin restart-submissions >/dev/null")
    on_host(JOBS_HOST, "rm -f /var/lib/remedies/restarts/delayed_job.json; "
                       "runuser -u dryad -- /home/dryad/bin/long_jobs.dryad restart >/dev/null; "
                       "service delayed_job start >/dev/null")
    wait_until(lambda: dj_pid() and len(worker_pids()) == 3, what="delayed_job and its 3 workers")
    release_dead_locks()
