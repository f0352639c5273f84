"""Benchmark: `inv drain-jobs` and `inv resume-jobs` against the lab's Dryad
with N queued delayed_jobs and M in flight, and the polling lag from "last
job finished" to "drain reports done".

    REMEDIES_LAB_SYSTEMS=dryad .venv/bin/python bench/dryad_drain.py [queued in_flight] ...
    (default: 1000 100)

Runs against the real lab (it must be up): the web side's load is stopped,
delayed_job on dryad2c is restarted with M workers and job durations of
15-25 s so that M jobs are still in flight when the drain's wait begins; afterwards the
backlog is worked off with M fast workers and delayed_job is put back as
the lab had it (-n 3). A watcher thread polls the database every 20 ms for
"nothing runs" (no live lock, no copy replicating, no submission
processing): that is when the last job finished. Not run in CI.
"""
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "e2e"))

from dryad_lab import DEPLOY, JOBS_HOST, clean, one, set_load, worker_pids  # noqa: E402
from labtools import BIN, on_host, wait_until  # noqa: E402

from lab import dryad  # noqa: E402

CONFIG = f"{DEPLOY[JOBS_HOST]}/current/config/lab.json"
BUSY = ("SELECT (SELECT COUNT(*) FROM delayed_jobs WHERE locked_by IS NOT NULL AND failed_at IS NULL) + "
        "(SELECT COUNT(*) FROM stash_engine_zenodo_copies WHERE state = 'replicating')")


LOGS = REPO / "var" / "bench"


def inv(*args):
    t = time.time()
    res = subprocess.run([str(BIN / "inv"), *args, "--json"], cwd=REPO, capture_output=True, text=True)
    end = time.time()
    LOGS.mkdir(parents=True, exist_ok=True)
    (LOGS / f"dryad-{args[0]}.log").write_text(res.stderr)
    doc = json.loads(res.stdout) if res.stdout.strip() else {}
    return res.returncode, doc, t, end, res.stderr


def set_job_seconds(low, high, poll=0.2):
    res = on_host(JOBS_HOST, f"python3 -c \"import json; p='{CONFIG}'; c=json.load(open(p)); "
                             f"c['job_s']=[{low},{high}]; c['poll_s']={poll}; json.dump(c, open(p,'w'))\"")
    assert res.returncode == 0, res.stderr


def restart_workers(n):
    res = on_host(JOBS_HOST, f"service delayed_job stop >/dev/null; cd {DEPLOY[JOBS_HOST]}/current && "
                             f"runuser -u dryad -- bin/delayed_job -n {n} start")
    assert res.returncode == 0, res.stderr
    wait_until(lambda: len(worker_pids()) >= n, timeout=60, what=f"{n} workers")


def enqueue(count):
    app = dryad.app()
    conn = dryad.connect()
    with conn.cursor() as cur:
        for i in range(count):
            cur.execute("INSERT INTO stash_engine_zenodo_copies (state, identifier_id, copy_type, created_at, "
                        "updated_at) VALUES ('enqueued', %s, 'data', NOW(), NOW())", (2_000_000 + i,))
            app.enqueue_copy_job(cur, cur.lastrowid, "data")
    conn.close()


class Watcher(threading.Thread):
    """When did the last running job finish? Poll every 20 ms."""

    def __init__(self):
        super().__init__(daemon=True)
        self.idle_since = None
        self.stop = False

    def run(self):
        conn = dryad.connect()
        with conn.cursor() as cur:
            while not self.stop:
                cur.execute(BUSY)
                busy = cur.fetchone()[0]
                now = time.time()
                if busy and self.idle_since:
                    self.idle_since = None
                elif not busy and not self.idle_since:
                    self.idle_since = now
                time.sleep(0.02)
        conn.close()


def once(queued, in_flight):
    clean()
    set_load(0)
    wait_until(lambda: one("SELECT COUNT(*) FROM delayed_jobs WHERE failed_at IS NULL AND run_at <= NOW()") == 0,
               timeout=120, what="an empty queue")
    on_host(JOBS_HOST, "service delayed_job stop >/dev/null")
    set_job_seconds(15, 25, poll=1.0)  # in flight through the drain's wait; 100 idle workers poll once a second
    enqueue(queued + in_flight)
    restart_workers(in_flight)
    wait_until(lambda: one("SELECT COUNT(*) FROM delayed_jobs WHERE locked_by IS NOT NULL") >= in_flight * 0.9,
               timeout=60, what=f"{in_flight} jobs in flight")
    at_start = {"queued": one("SELECT COUNT(*) FROM delayed_jobs WHERE locked_by IS NULL AND failed_at IS NULL"),
                "in_flight": one("SELECT COUNT(*) FROM delayed_jobs WHERE locked_by IS NOT NULL")}
    watcher = Watcher()
    watcher.start()
    code, doc, started, ended, err = inv("drain-jobs", "--timeout", "120", "--poll", "0.25")
    watcher.stop = True
    assert code in (0, 2), err[-2000:]
    last_finished = watcher.idle_since
    idle_at = (doc.get("drain") or {}).get("idle_at")
    deferred = one("SELECT COUNT(*) FROM stash_engine_zenodo_copies WHERE state = 'deferred'")
    code2, doc2, r_started, r_ended, err2 = inv("resume-jobs", "--yes", "--max-rows", str(10 * (queued + in_flight)))
    assert code2 == 2, err2[-2000:]
    deadline = (doc.get("drain") or {}).get("deadline")
    wait_began = deadline - 120 if deadline else None  # the drain's --timeout
    result = {"queued": at_start["queued"], "in_flight": at_start["in_flight"], "workers": in_flight,
              "drain_s": round(ended - started, 2), "deferred_by_drain": deferred,
              "wait_began_after_s": round(wait_began - started, 2) if wait_began else None,
              "last_job_finished_after_s": round(last_finished - started, 2) if last_finished else None,
              "lag_module_s": round(idle_at - last_finished, 2) if idle_at and last_finished else None,
              "lag_to_exit_s": round(ended - last_finished, 2) if last_finished else None,
              "resume_s": round(r_ended - r_started, 2)}
    # work the backlog off quickly, then put the lab back as it was
    set_job_seconds(0.2, 0.8)
    restart_workers(in_flight)
    wait_until(lambda: one("SELECT COUNT(*) FROM delayed_jobs WHERE failed_at IS NULL") == 0, timeout=300,
               what="the backlog to be worked off")
    on_host(JOBS_HOST, f"cd {DEPLOY[JOBS_HOST]}/current && runuser -u dryad -- bin/delayed_job stop >/dev/null")
    clean()
    set_load(2)
    return result


if __name__ == "__main__":
    sizes = [int(a) for a in sys.argv[1:]] or [1000, 100]
    pairs = list(zip(sizes[::2], sizes[1::2]))
    print(json.dumps([once(q, f) for q, f in pairs], indent=1))
