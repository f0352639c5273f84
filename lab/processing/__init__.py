"""The distributed processing queue in the lab: the PostgreSQL `processing`
database, worker "containers" under init scripts on the processing-worker
hosts, and a generator that plants each symptom of the runbook."""
import json
import os
import random
import secrets
import subprocess
import time
from pathlib import Path

from lab import hosts, paths

HERE = Path(__file__).resolve().parent
DATABASE = "processing"
HOME = "/opt/processing"
NOGROUP = 65534
WORKER_ROLE, OPS_ROLE = "processing_worker", "processing_ops"
FLOWS = ("survey_intake", "survey_scoring")
# A failure wave: a few dominant errors, and a tail of one-offs.
DOMINANT_ERRORS = (("ValidationError: survey response has no respondent_id", 0.5),
                   ("TimeoutError: scoring service did not answer within 30s", 0.3),
                   ("KeyError: 'survey_version'", 0.15))


def secrets_file():
    f = paths.SECRETS / "processing.json"
    if not f.exists():
        paths.SECRETS.mkdir(parents=True, exist_ok=True, mode=0o700)
        f.write_text(json.dumps({WORKER_ROLE: secrets.token_urlsafe(16), OPS_ROLE: secrets.token_urlsafe(16)}))
        f.chmod(0o600)
    return json.loads(f.read_text())


def connect(user=OPS_ROLE, autocommit=True):
    import psycopg2
    conn = psycopg2.connect(host="127.0.0.1", port=5432, user=user, password=secrets_file()[user],
                            dbname=DATABASE, connect_timeout=5, application_name="remedies-lab")
    conn.autocommit = autocommit
    return conn


def psql(sql, database="postgres"):
    subprocess.run(["runuser", "-u", "postgres", "--", "psql", "-q", "-v", "ON_ERROR_STOP=1", "-d", database],
                   input=sql.encode(), check=True, cwd="/", stdout=subprocess.DEVNULL,
                   env=dict(os.environ, PGOPTIONS="-c client_min_messages=warning"))


def create_database(reset=False):
    pw = secrets_file()
    roles = "\n".join(f"""DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{r}') THEN CREATE ROLE {r} LOGIN; END IF;
END $$;
ALTER ROLE {r} WITH LOGIN PASSWORD '{pw[r]}';""" for r in (WORKER_ROLE, OPS_ROLE))
    drop = f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE);" if reset else ""
    psql(roles + "\nGRANT pg_monitor TO " + OPS_ROLE + ";\n" + drop)
    exists = subprocess.run(["runuser", "-u", "postgres", "--", "psql", "-tAc",
                             f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'"],
                            capture_output=True, text=True, check=True, cwd="/").stdout.strip()
    if exists != "1":
        psql(f"CREATE DATABASE {DATABASE};")
    psql((HERE / "schema.sql").read_text() + f"""
REVOKE ALL ON DATABASE {DATABASE} FROM PUBLIC;
GRANT CONNECT ON DATABASE {DATABASE} TO {WORKER_ROLE}, {OPS_ROLE};
GRANT SELECT, INSERT, UPDATE ON processing_queue TO {WORKER_ROLE};
GRANT INSERT ON processed_surveys, flow_execution_logs TO {WORKER_ROLE};
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {WORKER_ROLE};
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {OPS_ROLE};
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {OPS_ROLE};
""", DATABASE)


def _write(path, text, mode=0o644, group=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    if group is not None:
        os.chown(path, 0, group)


def deploy(name, spec):
    hp = lambda inside: paths.host_path(name, inside)  # noqa: E731
    config = {"db": {"host": "127.0.0.1", "port": 5432, "user": WORKER_ROLE, "password": secrets_file()[WORKER_ROLE],
                     "database": DATABASE},
              "flow_name": spec.get("processing_flow", FLOWS[0]), "batch_size": 50, "work_ms": 20,
              "idle_s": 0.3, "heartbeat_s": 2, "claim_lock_timeout_ms": 100}
    _write(hp(f"{HOME}/worker.py"), (HERE / "worker.py").read_text())
    _write(hp(f"{HOME}/worker.json"), json.dumps(config, indent=1), 0o640, NOGROUP)
    _write(hp("/etc/init.d/processing-worker"), (HERE / "init.d.sh").read_text(), 0o755)
    hp("/var/log/processing").mkdir(parents=True, exist_ok=True)
    os.chown(hp("/var/log/processing"), 65534, NOGROUP)


def reset_worker(name):
    """Lab plumbing: kill whatever state the worker is in, forget earlier
    restarts (the circuit breaker's memory) and overrides, start it again."""
    hosts.nsenter(name, ["sh", "-c", f"pkill -KILL -f {HOME}/[w]orker.py; rm -f /run/processing/*.pid "
                                     f"{HOME}/batch_size /var/lib/remedies/restarts/*; true"], check=True)
    start_worker(name)


def start_worker(name):
    hosts.nsenter(name, ["service", "processing-worker", "start"], check=True, capture_output=True)


def worker_hosts(topology=None):
    """The processing hosts of `topology` (default: the running lab's)."""
    if topology is None:
        import yaml
        running = hosts.load_state()
        topology = {n: s for n, s in yaml.safe_load((paths.REPO / "lab" / "topology.yml").read_text())["hosts"].items()
                    if n in running}
    return [n for n, s in topology.items() if s.get("lab_system") == "processing"]


def provision(topology, reset=False):
    create_database(reset=reset)
    for name in worker_hosts(topology):
        deploy(name, topology[name])
        if reset:
            reset_worker(name)
        else:
            start_worker(name)


def inventory_vars():
    return {"processing_db_host": "127.0.0.1", "processing_db_port": 5432, "processing_db_name": DATABASE,
            "processing_db_user": OPS_ROLE, "processing_db_password": secrets_file()[OPS_ROLE]}


# --- the generator: plants each symptom ------------------------------------

def _execute(sql, args=None):
    conn = connect()
    with conn.cursor() as cur:
        cur.execute(sql, args)
        result = cur.fetchall() if cur.description else cur.rowcount
    conn.close()
    return result


def add_pending(count, work_ms=None, fail=None, flow=None):
    """`count` pending records; `fail` is an error message or a list of them to cycle."""
    payloads = []
    for i in range(count):
        p = {"survey": f"S{random.randint(1, 99999):05d}"}
        if work_ms is not None:
            p["work_ms"] = work_ms
        if fail:
            p["fail"] = fail[i % len(fail)] if isinstance(fail, list) else fail
        payloads.append(json.dumps(p))
    rows = _execute("INSERT INTO processing_queue (flow_name, payload, created_at, updated_at) "
                    "SELECT %s, p::jsonb, clock_timestamp(), clock_timestamp() FROM unnest(%s::text[]) AS p "
                    "RETURNING id", (flow or FLOWS[0], payloads))
    return [r[0] for r in rows]


def backlog(count=2000, work_ms=150):
    """A backlog of pending records that the workers drain slowly."""
    ids = add_pending(count, work_ms=work_ms)
    return {"pending_added": len(ids), "first_id": min(ids), "last_id": max(ids)}


def slow(count=30, work_ms=2500):
    """Slow processing: records that take seconds each."""
    ids = add_pending(count, work_ms=work_ms)
    return {"slow_added": len(ids), "work_ms": work_ms}


def failure_wave(count=300, wait=True):
    """A failure wave: most failures share a few error messages."""
    rnd = random.Random()
    messages = []
    for _ in range(count):
        x, acc, chosen = rnd.random(), 0.0, None
        for message, share in DOMINANT_ERRORS:
            acc += share
            if x < acc:
                chosen = message
                break
        messages.append(chosen or f"RuntimeError: unexpected answer format in question {rnd.randint(1, 400)}")
    ids = add_pending(count, work_ms=1, fail=messages)
    if wait:
        _wait_until(lambda: _execute("SELECT count(*) FROM processing_queue WHERE id = ANY(%s) AND status = 'failed'",
                                     (ids,))[0][0] == len(ids), 120, "the workers to fail the wave")
    top = {}
    for m in messages:
        top[m] = top.get(m, 0) + 1
    return {"failed_added": len(ids), "top_errors": sorted(top.items(), key=lambda kv: -kv[1])[:3]}


def _wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.2)


def orphans(killed_batch=True, synthetic=40, max_retries=3, hours_ago=3):
    """Orphaned records: a worker SIGKILLed mid-batch (its claimed records stay
    in processing), plus older orphans, some already past max_retries. Both
    are backdated `hours_ago` hours: the cleanup timeout is hours, the lab
    cannot wait that long."""
    out = {"killed_worker": None, "killed_batch": 0}
    if killed_batch:
        ids = add_pending(60, work_ms=3000)
        found = []

        def claimed():
            found[:] = _execute("SELECT flow_instance_id, count(*) FROM processing_queue WHERE id = ANY(%s) "
                                "AND status = 'processing' GROUP BY 1 ORDER BY 2 DESC", (ids,))
            return found
        _wait_until(claimed, 60, "a worker to claim a slow batch")
        instance = found[0][0]
        name = instance.rsplit("-", 1)[0]
        hosts.nsenter(name, ["sh", "-c", f"pkill -KILL -f {HOME}/[w]orker.py; true"], check=True)
        out.update(killed_worker=instance,
                   killed_batch=_execute("UPDATE processing_queue SET claimed_at = claimed_at - make_interval(hours => %s), "
                                         "updated_at = updated_at - make_interval(hours => %s), "
                                         "created_at = created_at - make_interval(hours => %s) "
                                         "WHERE status = 'processing' AND flow_instance_id = %s",
                                         (hours_ago, hours_ago, hours_ago, instance)))
        # The slow records would slow the workers down for minutes once re-queued.
        _execute("UPDATE processing_queue SET payload = payload - 'work_ms' WHERE id = ANY(%s) "
                 "AND (status = 'pending' OR flow_instance_id = %s)", (ids, instance))
        start_worker(name)
    if synthetic:
        rows = _execute(
            "INSERT INTO processing_queue (flow_name, payload, status, flow_instance_id, claimed_at, created_at, "
            "updated_at, retry_count) "
            "SELECT %s, '{}'::jsonb, 'processing', 'processing-worker9-' || (1000 + g %% 3), "
            "now() - make_interval(hours => %s + g %% 3, mins => g), now() - make_interval(hours => %s + 4), "
            "now() - make_interval(hours => %s + g %% 3, mins => g), CASE WHEN g %% 5 = 0 THEN %s ELSE g %% 2 END "
            "FROM generate_series(1, %s) AS g RETURNING retry_count", (FLOWS[1], hours_ago, hours_ago, hours_ago,
                                                                    max_retries, synthetic))
        out["synthetic"] = len(rows)
        out["past_max_retries"] = sum(1 for r in rows if r[0] >= max_retries)
    return out


HISTORY_SQL = """
INSERT INTO processing_queue (flow_name, payload, status, flow_instance_id, claimed_at, completed_at,
                              created_at, updated_at, retry_count, error_message)
SELECT CASE WHEN g %% 3 = 0 THEN 'survey_scoring' ELSE 'survey_intake' END,
       jsonb_build_object('survey', 'H' || g),
       k.status, 'processing-worker' || (1 + g %% 3) || '-' || (100 + g %% 7),
       k.at - interval '2 minutes', CASE WHEN k.status = 'completed' THEN k.at END,
       k.at - interval '3 minutes', k.at, k.retries,
       CASE WHEN k.status = 'failed' THEN 'ValidationError: survey response has no respondent_id' END
FROM generate_series(1, %(n)s) AS g
CROSS JOIN LATERAL (
  SELECT CASE
      WHEN g %% 100 < %(old_completed)s THEN 'completed'   -- past the 30 days
      WHEN g %% 100 < %(old_completed)s + %(old_failed)s THEN 'failed'  -- 7 days, retry_count >= 5
      WHEN g %% 100 < %(old_completed)s + %(old_failed)s + 3 THEN 'failed'  -- old, but retry_count < 5: kept
      ELSE 'completed' END AS status,
    CASE
      WHEN g %% 100 < %(old_completed)s THEN now() - make_interval(days => 31 + g %% 60, secs => g %% 86400)
      WHEN g %% 100 < %(old_completed)s + %(old_failed)s + 3 THEN now() - make_interval(days => 8 + g %% 20, secs => g %% 86400)
      ELSE now() - make_interval(days => g %% 29, secs => g %% 86400) END AS at,
    CASE
      WHEN g %% 100 < %(old_completed)s THEN 0
      WHEN g %% 100 < %(old_completed)s + %(old_failed)s THEN 5 + g %% 3
      WHEN g %% 100 < %(old_completed)s + %(old_failed)s + 3 THEN g %% 5
      ELSE 0 END AS retries
) AS k
"""


def history(rows=5000, old_completed=40, old_failed=5):
    """Old history: per 100 rows, `old_completed` completed more than 30 days
    ago and `old_failed` failed more than 7 days ago with retry_count >= 5
    (both for the monthly cleanup); 3 old failures with fewer retries and the
    rest recent (both kept)."""
    _execute(HISTORY_SQL, {"n": rows, "old_completed": old_completed, "old_failed": old_failed})
    eligible = _execute("SELECT count(*) FROM processing_queue WHERE (status = 'completed' AND completed_at < "
                        "now() - interval '30 days') OR (status = 'failed' AND updated_at < now() - interval "
                        "'7 days' AND retry_count >= 5)")[0][0]
    return {"history_added": rows, "cleanup_eligible": eligible}


def quiet():
    """Lab plumbing: an empty queue with fresh workers (tests start from here)."""
    psql("TRUNCATE processing_queue, processed_surveys, flow_execution_logs", DATABASE)
    for name in worker_hosts():
        reset_worker(name)
    return {"workers": worker_hosts()}


INCIDENTS = {"processing-quiet": quiet, "processing-backlog": backlog, "processing-slow": slow,
             "processing-failure-wave": failure_wave, "processing-orphans": orphans,
             "processing-history": history}
