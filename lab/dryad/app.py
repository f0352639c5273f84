"""Lab stand-in for the Dryad Rails app: its delayed_job workers, the web
processes' Merritt submission queue, a steady stream of new datasets, the
admin buttons and `long_jobs.dryad`.

Deployed on each lab UI host as <deploy>/releases/<release>/lib/dryad_app.py,
with <deploy>/current pointing at the release; the hold files live in
<deploy>/releases/, the parent of `current`, as on the real servers.

  bin/delayed_job -n 3 start|stop|status|restart   (the daemons gem's CLI)
      start: a monitor process (pid file tmp/pids/delayed_job.pid) and N
      workers "delayed_job.<i>" in its process group, each claiming
      delayed_jobs rows the way delayed_job does; stop: TERM, wait
      stop_wait_s (20 s in production), then KILL
  dryad_app.py web                the UI's in-process Merritt queue + new datasets
  dryad_app.py admin restart-submissions   "Restart submissions which were shut down gracefully"
  dryad_app.py long_jobs status|drain|restart   ~/bin/long_jobs.dryad

Workers and the web process survive a lost database connection (they
reconnect). SIGTERM during a job aborts it, unlocks the row and leaves
"SIGTERM" in last_error (raise_signal_exceptions = :term); SIGKILL leaves
the lock until max_run_time has passed.
"""
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
import uuid
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.realpath(__file__))
RELEASE = os.path.dirname(HERE)
RELEASES = os.path.dirname(RELEASE)
_CONFIG_FILE = os.path.join(RELEASE, "config", "lab.json")
CONFIG = json.load(open(_CONFIG_FILE)) if os.path.exists(_CONFIG_FILE) else {}
DEFER = os.path.join(RELEASES, "defer_jobs.txt")
HOLD = os.path.join(RELEASES, "hold-submissions.txt")
PIDFILE = os.path.join(RELEASE, "tmp", "pids", "delayed_job.pid")
LOGDIR = os.path.join(RELEASE, "log")
HOSTNAME = socket.gethostname()
# copy_type -> (ActiveJob class, queue, priority): real-systems.md.
JOBS = {"data": ("StashEngine::ZenodoCopyJob", "zenodo_copy", 10),
        "software": ("StashEngine::ZenodoSoftwareJob", "zenodo_software", -10),
        "software_publish": ("StashEngine::ZenodoSoftwareJob", "zenodo_software", -10),
        "supp": ("StashEngine::ZenodoSuppJob", "zenodo_supp", -10),
        "supp_publish": ("StashEngine::ZenodoSuppJob", "zenodo_supp", -10)}


def log(name, *parts):
    """log/delayed_job.log (every worker and the monitor, as the gem does) or log/web.log."""
    with open(os.path.join(LOGDIR, f"{name.split('.')[0]}.log"), "a") as f:
        f.write(" ".join([time.strftime("%Y-%m-%dT%H:%M:%S"), f"[{name} pid {os.getpid()}]"] + [str(p) for p in parts])
                + "\n")


def db():
    import pymysql
    c = CONFIG["db"]
    return pymysql.connect(host=c["host"], port=c["port"], user=c["user"], password=c["password"],
                           database=c["database"], autocommit=False, connect_timeout=5, read_timeout=30,
                           write_timeout=30)


def handler(copy_id, copy_type):
    """The YAML ActiveJob's delayed_job adapter stores: the job class and its argument (the copy id)."""
    job_class, queue, priority = JOBS[copy_type]
    return ("--- !ruby/object:ActiveJob::QueueAdapters::DelayedJobAdapter::JobWrapper\n"
            "job_data:\n"
            f"  job_class: {job_class}\n"
            f"  job_id: {uuid.uuid4()}\n"
            "  provider_job_id:\n"
            f"  queue_name: {queue}\n"
            f"  priority: {priority}\n"
            "  arguments:\n"
            f"  - {copy_id}\n"
            "  executions: 0\n"
            "  locale: en\n"
            "  timezone: UTC\n")


def parse_handler(text):
    job_class = arg = None
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.strip().startswith("job_class:"):
            job_class = line.split(":", 1)[1].strip()
        if line.strip() == "arguments:" and i + 1 < len(lines):
            arg = int(lines[i + 1].strip().lstrip("- ").strip())
    return job_class, arg


def enqueue_copy_job(cur, copy_id, copy_type):
    job_class, queue, priority = JOBS[copy_type]
    cur.execute("INSERT INTO delayed_jobs (priority, attempts, handler, run_at, queue, created_at, updated_at) "
                "VALUES (%s, 0, %s, NOW(), %s, NOW(), NOW())", (priority, handler(copy_id, copy_type), queue))


# --- delayed_job workers ------------------------------------------------------

class Terminated(Exception):
    """SignalException SIGTERM, raised inside the running job."""


class Expired(Exception):
    """Timeout::Error: the job ran past max_run_time."""


class Worker:
    def __init__(self, index):
        self.index = index
        self.name = f"host:{HOSTNAME} pid:{os.getpid()}"
        self.logname = f"delayed_job.{index}"
        self.stop = False
        self.in_job = False
        self.conn = None
        signal.signal(signal.SIGTERM, self.on_term)
        signal.signal(signal.SIGINT, self.on_term)

    def on_term(self, *_):
        self.stop = True
        if self.in_job:
            self.in_job = False
            raise Terminated("SIGTERM")

    def connection(self):
        if self.conn is None:
            self.conn = db()
        return self.conn

    def drop_connection(self):
        try:
            if self.conn is not None:
                self.conn.close()
        except Exception:
            pass
        self.conn = None

    def reserve(self):
        """delayed_job's MySQL reserve: lock one ready row with UPDATE ... LIMIT 1, then read it back."""
        conn = self.connection()
        with conn.cursor() as cur:
            cur.execute(
                "UPDATE delayed_jobs SET locked_at = NOW(), locked_by = %s "
                "WHERE ((run_at <= NOW() AND (locked_at IS NULL OR locked_at < NOW() - INTERVAL %s SECOND)) "
                "OR locked_by = %s) AND failed_at IS NULL "
                "ORDER BY priority ASC, run_at ASC LIMIT 1",
                (self.name, CONFIG["max_run_time_s"], self.name))
            conn.commit()
            cur.execute("SELECT id, handler, attempts FROM delayed_jobs WHERE locked_by = %s AND failed_at IS NULL "
                        "ORDER BY locked_at LIMIT 1", (self.name,))
            row = cur.fetchone()
            conn.commit()
        return row

    def sleep_in_job(self, seconds, started):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if time.monotonic() - started > CONFIG["max_run_time_s"]:
                raise Expired("execution expired")
            time.sleep(0.05)

    def perform(self, job_id, text, started):
        job_class, copy_id = parse_handler(text)
        if not job_class or not job_class.startswith("StashEngine::Zenodo"):
            return
        conn = self.connection()
        with conn.cursor() as cur:
            cur.execute("SELECT state, note FROM stash_engine_zenodo_copies WHERE id = %s FOR UPDATE", (copy_id,))
            row = cur.fetchone()
            if row is None or row[0] == "finished":
                conn.commit()
                return
            if os.path.exists(DEFER):
                cur.execute("UPDATE stash_engine_zenodo_copies SET state = 'deferred', updated_at = NOW() "
                            "WHERE id = %s", (copy_id,))
                conn.commit()
                log(self.logname, f"copy {copy_id} deferred (defer_jobs.txt)")
                return
            cur.execute("UPDATE stash_engine_zenodo_copies SET state = 'replicating', retries = retries + 1, "
                        "updated_at = NOW() WHERE id = %s", (copy_id,))
            conn.commit()
            note = row[1] or ""
            low, high = CONFIG["job_s"]
            self.sleep_in_job(CONFIG["max_run_time_s"] * 3 if "lab:slow" in note else random.uniform(low, high),
                              started)
            if "lab:fail" in note:
                cur.execute("UPDATE stash_engine_zenodo_copies SET state = 'error', error_info = %s, "
                            "updated_at = NOW() WHERE id = %s", ("Zenodo answered 500 (lab)", copy_id))
                conn.commit()
                return
            cur.execute("INSERT INTO lab_zenodo_deposits (copy_id, worker, created_at) VALUES (%s, %s, NOW())",
                        (copy_id, self.name))
            cur.execute("UPDATE stash_engine_zenodo_copies SET state = 'finished', deposition_id = %s, "
                        "updated_at = NOW() WHERE id = %s", (cur.lastrowid, copy_id))
            conn.commit()

    def failed(self, job_id, attempts, message):
        """delayed_job's reschedule: attempts + 1, run at now + attempts**4 + 5 s (scaled), unlock."""
        attempts += 1
        conn = self.connection()
        with conn.cursor() as cur:
            if attempts >= CONFIG["max_attempts"]:
                cur.execute("UPDATE delayed_jobs SET attempts = %s, last_error = %s, failed_at = NOW(), "
                            "locked_at = NULL, locked_by = NULL, updated_at = NOW() WHERE id = %s",
                            (attempts, message, job_id))
            else:
                delay = int((attempts ** 4 + 5) * CONFIG["retry_scale"])
                cur.execute("UPDATE delayed_jobs SET attempts = %s, last_error = %s, "
                            "run_at = NOW() + INTERVAL %s SECOND, locked_at = NULL, locked_by = NULL, "
                            "updated_at = NOW() WHERE id = %s", (attempts, message, delay, job_id))
            conn.commit()

    def run_one(self):
        row = self.reserve()
        if not row:
            return False
        job_id, text, attempts = row
        started = time.monotonic()
        try:
            self.in_job = True
            try:
                self.perform(job_id, text, started)
            finally:
                self.in_job = False
            with self.connection().cursor() as cur:
                cur.execute("DELETE FROM delayed_jobs WHERE id = %s", (job_id,))
            self.conn.commit()
            log(self.logname, f"job {job_id} completed after {time.monotonic() - started:.2f}s")
        except Terminated:
            self.rollback()
            self.failed(job_id, attempts, "SIGTERM\n" + "".join(traceback.format_stack(limit=3)))
            log(self.logname, f"job {job_id} aborted by SIGTERM; unlocked")
        except Expired as exc:
            self.rollback()
            self.failed(job_id, attempts, f"{exc}\n")
            log(self.logname, f"job {job_id} failed: execution expired")
        return True

    def rollback(self):
        try:
            self.conn.rollback()
        except Exception:
            self.drop_connection()

    def run(self):
        log(self.logname, f"Starting job worker {self.name}")
        last_beat = 0.0
        while not self.stop:
            try:
                worked = self.run_one()
            except Terminated:
                break
            except Exception as exc:  # lost connection: reconnect and carry on, as the gem does
                log(self.logname, f"error: {type(exc).__name__}: {exc}; reconnecting")
                self.drop_connection()
                worked = False
                time.sleep(0.5)
            if time.monotonic() - last_beat > 1:
                log(self.logname, "heartbeat")
                last_beat = time.monotonic()
            if not worked and not self.stop:
                try:
                    time.sleep(CONFIG["poll_s"])
                except Terminated:
                    break
        log(self.logname, "Exiting job worker")


def read_pid(path):
    try:
        pid = int(open(path).read().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return pid


def monitor(count):
    """The daemon behind `bin/delayed_job -n N start`: N workers, restarted if one dies."""
    os.makedirs(os.path.dirname(PIDFILE), exist_ok=True)
    with open(PIDFILE + ".tmp", "w") as f:
        f.write(str(os.getpid()))
    os.replace(PIDFILE + ".tmp", PIDFILE)
    stopping = []
    workers = {}

    def spawn(i):
        workers[i] = subprocess.Popen([sys.executable, os.path.realpath(__file__), "worker", str(i)],
                                      stdin=subprocess.DEVNULL)

    def on_term(*_):
        stopping.append(True)
        for p in workers.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_term)
    for i in range(count):
        spawn(i)
    log("delayed_job", f"monitor started {count} workers")
    while True:
        for i, p in list(workers.items()):
            if p.poll() is not None and not stopping:
                log("delayed_job", f"worker delayed_job.{i} (pid {p.pid}) died ({p.returncode}); restarting it")
                time.sleep(0.5)
                spawn(i)
        if stopping and all(p.poll() is not None for p in workers.values()):
            break
        time.sleep(0.2)
    try:
        os.unlink(PIDFILE)
    except FileNotFoundError:
        pass
    log("delayed_job", "monitor exiting")


def delayed_job_cli(argv):
    """bin/delayed_job [-n N] start|stop|status|restart|run, like the daemons gem."""
    count, action = 1, None
    args = list(argv)
    while args:
        a = args.pop(0)
        if a in ("-n", "--number_of_workers"):
            count = int(args.pop(0))
        elif a.startswith("--number_of_workers="):
            count = int(a.split("=", 1)[1])
        else:
            action = a
    if action not in ("start", "stop", "status", "restart", "run"):
        print("Usage: bin/delayed_job [-n N] start|stop|status|restart|run", file=sys.stderr)
        return 2
    os.makedirs(LOGDIR, exist_ok=True)
    if action == "status":
        pid = read_pid(PIDFILE)
        print(f"delayed_job: running [pid {pid}]" if pid else "delayed_job: not running")
        return 0 if pid else 3
    if action in ("stop", "restart"):
        pid = read_pid(PIDFILE)
        if pid:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + CONFIG["stop_wait_s"]
            while time.monotonic() < deadline and read_pid(PIDFILE) == pid:
                time.sleep(0.1)
            if read_pid(PIDFILE) == pid:
                print(f"delayed_job: pid {pid} still running after {CONFIG['stop_wait_s']}s; sending KILL")
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                try:
                    os.unlink(PIDFILE)
                except FileNotFoundError:
                    pass
            print("delayed_job: stopped")
        else:
            print("delayed_job: not running")
        if action == "stop":
            return 0
    if action == "run":
        monitor(count)
        return 0
    if read_pid(PIDFILE):
        print(f"delayed_job: already running [pid {read_pid(PIDFILE)}]")
        return 0
    out = open(os.path.join(LOGDIR, "delayed_job.out.log"), "ab")
    subprocess.Popen([sys.executable, os.path.realpath(__file__), "monitor", str(count)], stdin=subprocess.DEVNULL,
                     stdout=out, stderr=out, start_new_session=True, cwd=RELEASE)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not read_pid(PIDFILE):
        time.sleep(0.05)
    pid = read_pid(PIDFILE)
    print(f"delayed_job: started [pid {pid}]" if pid else "delayed_job: failed to start")
    return 0 if pid else 1


# --- the web side: new datasets, Merritt submissions ----------------------------

class Web:
    """One UI server's web process: publishes datasets (a Merritt submission
    and a Zenodo copy each) and runs its Merritt queue in threads."""

    def __init__(self):
        self.stop = False
        self.inflight = set()
        self.lock = threading.Lock()
        self.pool = ThreadPoolExecutor(max_workers=CONFIG["merritt_threads"])
        self.conn = None
        signal.signal(signal.SIGTERM, self.on_term)

    def on_term(self, *_):
        self.stop = True

    def connection(self):
        if self.conn is None:
            self.conn = db()
        return self.conn

    def state(self, cur, resource_id, state):
        cur.execute("INSERT INTO stash_engine_repo_queue_states (resource_id, state, hostname, created_at, "
                    "updated_at) VALUES (%s, %s, %s, NOW(), NOW())", (resource_id, state, HOSTNAME))

    def load(self):
        """Seconds between new datasets on this host (the lab's steady load); 0 or no file: none."""
        try:
            return float(open(CONFIG["load_file"]).read().strip() or 0)
        except (OSError, ValueError):
            return 0.0

    def publish(self):
        conn = self.connection()
        rnd = random.random()
        copy_type = "data" if rnd < 0.8 else "software" if rnd < 0.9 else "supp"
        with conn.cursor() as cur:
            cur.execute("SELECT MAX(identifier_id) FROM lab_resources")
            top = cur.fetchone()[0] or 1000
            identifier = top + 1 if random.random() < 0.7 else random.randint(1001, top)
            cur.execute("INSERT INTO lab_resources (identifier_id, hostname, created_at) VALUES (%s, %s, NOW())",
                        (identifier, HOSTNAME))
            resource_id = cur.lastrowid
            cur.execute("INSERT INTO stash_engine_zenodo_copies (state, identifier_id, resource_id, copy_type, "
                        "created_at, updated_at) VALUES ('enqueued', %s, %s, %s, NOW(), NOW())",
                        (identifier, resource_id, copy_type))
            enqueue_copy_job(cur, cur.lastrowid, copy_type)
            if os.path.exists(HOLD):
                self.state(cur, resource_id, "rejected_shutting_down")
                conn.commit()
                return
            self.state(cur, resource_id, "enqueued")
            conn.commit()
        self.submit(resource_id)

    def submit(self, resource_id):
        with self.lock:
            if resource_id in self.inflight:
                return
            self.inflight.add(resource_id)
        self.pool.submit(self.run_submission, resource_id)

    def run_submission(self, resource_id):
        conn = None
        try:
            conn = db()
            with conn.cursor() as cur:
                if os.path.exists(HOLD):
                    self.state(cur, resource_id, "rejected_shutting_down")
                    conn.commit()
                    return
                self.state(cur, resource_id, "processing")
                conn.commit()
                time.sleep(random.uniform(*CONFIG["merritt_s"]))
                cur.execute("INSERT INTO lab_merritt_ingests (resource_id, hostname, created_at) "
                            "VALUES (%s, %s, NOW())", (resource_id, HOSTNAME))
                self.state(cur, resource_id, "completed")
                conn.commit()
        except Exception as exc:
            log("web", f"submission of resource {resource_id} failed: {type(exc).__name__}: {exc}")
        finally:
            if conn is not None:
                conn.close()
            with self.lock:
                self.inflight.discard(resource_id)

    def pick_up_enqueued(self):
        """Submissions enqueued for this host (resubmitted by the admin button, or left by a restart)."""
        conn = self.connection()
        with conn.cursor() as cur:
            cur.execute("SELECT e.resource_id FROM stash_engine_repo_queue_states e WHERE e.state = 'enqueued' "
                        "AND e.hostname = %s AND NOT EXISTS (SELECT 1 FROM stash_engine_repo_queue_states n "
                        "WHERE n.resource_id = e.resource_id AND n.id > e.id)", (HOSTNAME,))
            ids = [r[0] for r in cur.fetchall()]
            conn.commit()
        for resource_id in ids:
            self.submit(resource_id)

    def run(self):
        log("web", f"web process started on {HOSTNAME}")
        next_publish = last_pick = last_beat = 0.0
        while not self.stop:
            now = time.monotonic()
            try:
                gap = self.load()
                if gap > 0 and now >= next_publish:
                    self.publish()
                    next_publish = now + gap
                if now - last_pick >= CONFIG["pick_up_s"]:
                    self.pick_up_enqueued()
                    last_pick = now
            except Exception as exc:
                log("web", f"error: {type(exc).__name__}: {exc}; reconnecting")
                try:
                    self.conn.close()
                except Exception:
                    pass
                self.conn = None
                time.sleep(0.5)
            if now - last_beat > 1:
                log("web", f"heartbeat inflight={len(self.inflight)}")
                last_beat = now
            time.sleep(0.05)
        self.pool.shutdown(wait=True)
        log("web", "web process stopped")


# --- admin buttons and long_jobs.dryad -------------------------------------------

def restart_submissions():
    """Admin "Restart submissions which were shut down gracefully", on this host."""
    try:
        os.unlink(HOLD)
    except FileNotFoundError:
        pass
    conn = db()
    with conn.cursor() as cur:
        cur.execute("SELECT e.id, e.resource_id FROM stash_engine_repo_queue_states e "
                    "WHERE e.state = 'rejected_shutting_down' AND e.hostname = %s AND NOT EXISTS "
                    "(SELECT 1 FROM stash_engine_repo_queue_states n WHERE n.resource_id = e.resource_id "
                    "AND n.id > e.id) FOR UPDATE", (HOSTNAME,))
        rows = cur.fetchall()
        for _, resource_id in rows:
            cur.execute("INSERT INTO stash_engine_repo_queue_states (resource_id, state, hostname, created_at, "
                        "updated_at) VALUES (%s, 'enqueued', %s, NOW(), NOW())", (resource_id, HOSTNAME))
        conn.commit()
    conn.close()
    print(json.dumps({"resubmitted": len(rows), "hostname": HOSTNAME, "resource_ids": [r[1] for r in rows]}))
    return 0


STATUS_SQL = {
    "submissions enqueued": "SELECT COUNT(*) FROM stash_engine_repo_queue_states e WHERE e.state = 'enqueued' "
                            "AND NOT EXISTS (SELECT 1 FROM stash_engine_repo_queue_states n "
                            "WHERE n.resource_id = e.resource_id AND n.id > e.id)",
    "submissions processing": "SELECT COUNT(*) FROM stash_engine_repo_queue_states e WHERE e.state = 'processing' "
                              "AND e.updated_at > NOW() - INTERVAL 7 DAY AND NOT EXISTS "
                              "(SELECT 1 FROM stash_engine_repo_queue_states n WHERE n.resource_id = e.resource_id "
                              "AND n.id > e.id)",
    "zenodo enqueued": "SELECT COUNT(*) FROM stash_engine_zenodo_copies WHERE state = 'enqueued'",
    "zenodo replicating": "SELECT COUNT(*) FROM stash_engine_zenodo_copies WHERE state = 'replicating' "
                          "AND updated_at > NOW() - INTERVAL 7 DAY",
}


def long_jobs(action):
    if action == "drain":
        for path in (DEFER, HOLD):
            open(path, "a").close()
        print(f"touched {DEFER} and {HOLD}")
        return 0
    conn = db()
    with conn.cursor() as cur:
        if action == "restart":
            for path in (DEFER, HOLD):
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass
            cur.execute("SELECT id, copy_type FROM stash_engine_zenodo_copies WHERE state = 'deferred' FOR UPDATE")
            rows = cur.fetchall()
            for copy_id, copy_type in rows:
                cur.execute("UPDATE stash_engine_zenodo_copies SET state = 'enqueued', updated_at = NOW() "
                            "WHERE id = %s", (copy_id,))
                enqueue_copy_job(cur, copy_id, copy_type)
            conn.commit()
            print(f"re-enqueued {len(rows)} deferred Zenodo copies")
        elif action == "status":
            for label, sql in STATUS_SQL.items():
                cur.execute(sql)
                print(f"{label}: {cur.fetchone()[0]}")
        else:
            print("Usage: long_jobs.dryad status|drain|restart", file=sys.stderr)
            return 2
    conn.close()
    return 0


def main(argv):
    os.makedirs(LOGDIR, exist_ok=True)
    cmd = argv[0] if argv else ""
    if cmd == "delayed_job":
        return delayed_job_cli(argv[1:])
    if cmd == "monitor":
        monitor(int(argv[1]))
        return 0
    if cmd == "worker":
        Worker(int(argv[1])).run()
        return 0
    if cmd == "web":
        Web().run()
        return 0
    if cmd == "admin" and argv[1:] == ["restart-submissions"]:
        return restart_submissions()
    if cmd == "long_jobs" and len(argv) == 2:
        return long_jobs(argv[1])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
