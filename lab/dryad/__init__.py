"""Dryad in the lab: two UI hosts (dryad2a, dryad2c) with the releases layout,
the `dryad` MariaDB database, delayed_job on 2c (init script `delayed_job`
and `bin/delayed_job -n 3` from `current`), the web processes' Merritt queue
and a steady stream of new datasets on both hosts."""
import json
import os
import pwd
import random
import secrets
import subprocess
from pathlib import Path

from lab import backends, hosts, paths

HERE = Path(__file__).resolve().parent
DATABASE = "dryad"
APP_USER = "dryad"
RELEASE = "20261201090000"
# Seconds between new datasets per host while the lab runs (the web side's steady load).
DEFAULT_LOAD = 2.0
LOAD_FILE = "/home/dryad/lab-load"
# The lab's clock runs fast: production values are in inventories/production/group_vars/all/dryad.yml.
TIMINGS = {"max_run_time_s": 120, "max_attempts": 5, "retry_scale": 0.2, "poll_s": 0.2, "stop_wait_s": 3,
           "job_s": [0.1, 0.5], "merritt_s": [0.1, 0.5], "merritt_threads": 3, "pick_up_s": 0.5}


def secrets_file():
    f = paths.SECRETS / "dryad.json"
    if not f.exists():
        paths.SECRETS.mkdir(parents=True, exist_ok=True, mode=0o700)
        f.write_text(json.dumps({"dryad_app": secrets.token_urlsafe(16), "dryad_ops": secrets.token_urlsafe(16)}))
        f.chmod(0o600)
    return json.loads(f.read_text())


def connect(user="dryad_ops"):
    import pymysql
    return pymysql.connect(host="127.0.0.1", port=3306, user=user, password=secrets_file()[user],
                           database=DATABASE, autocommit=True)


def create_database(reset=False):
    pw = secrets_file()
    drop = f"DROP DATABASE IF EXISTS {DATABASE};" if reset else ""
    backends.mysql_root(f"""{drop}
CREATE DATABASE IF NOT EXISTS {DATABASE} CHARACTER SET utf8mb4;
CREATE USER IF NOT EXISTS 'dryad_app'@'127.0.0.1' IDENTIFIED BY '{pw["dryad_app"]}';
ALTER USER 'dryad_app'@'127.0.0.1' IDENTIFIED BY '{pw["dryad_app"]}';
CREATE USER IF NOT EXISTS 'dryad_ops'@'127.0.0.1' IDENTIFIED BY '{pw["dryad_ops"]}';
ALTER USER 'dryad_ops'@'127.0.0.1' IDENTIFIED BY '{pw["dryad_ops"]}';
GRANT SELECT, INSERT, UPDATE, DELETE ON {DATABASE}.* TO 'dryad_app'@'127.0.0.1';
GRANT SELECT, INSERT, UPDATE, DELETE ON {DATABASE}.* TO 'dryad_ops'@'127.0.0.1';
""")
    backends.mysql_root((HERE / "schema.sql").read_text(), DATABASE)


def ensure_user():
    """The app's role account (the lab's /etc/passwd is the machine's)."""
    try:
        return pwd.getpwnam(APP_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--home-dir", f"/home/{APP_USER}", "--no-create-home",
                        "--shell", "/bin/sh", APP_USER], check=True)
        return pwd.getpwnam(APP_USER)


def _write(path, text, mode=0o644, uid=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    if uid is not None:
        os.chown(path, uid, uid if uid == 0 else pwd.getpwuid(uid).pw_gid)


def _chown_tree(path, user):
    for root, dirs, files in os.walk(path):
        for n in [root] + [os.path.join(root, d) for d in dirs] + [os.path.join(root, f) for f in files]:
            os.lchown(n, user.pw_uid, user.pw_gid)


def deploy(name, spec):
    """The app on lab host `name`: <deploy>/releases/<release>, <deploy>/current, init scripts, long_jobs.dryad."""
    user = ensure_user()
    hp = lambda inside: paths.host_path(name, inside)  # noqa: E731
    deploy_dir = spec["dryad_deploy_dir"]
    release = f"{deploy_dir}/releases/{RELEASE}"
    pw = secrets_file()
    config = {"db": {"host": "127.0.0.1", "port": 3306, "user": "dryad_app", "password": pw["dryad_app"],
                     "database": DATABASE}, "load_file": LOAD_FILE, **TIMINGS}
    _write(hp(f"{release}/lib/dryad_app.py"), (HERE / "app.py").read_text())
    _write(hp(f"{release}/config/lab.json"), json.dumps(config, indent=1), 0o640, user.pw_uid)
    _write(hp(f"{release}/bin/delayed_job"), "#!/bin/sh\n# Lab stand-in for the Rails app's bin/delayed_job "
           "(daemons gem): -n N start|stop|status|restart\nexec /usr/bin/python3 \"$(dirname \"$(readlink -f "
           "\"$0\")\")/../lib/dryad_app.py\" delayed_job \"$@\"\n", 0o755)
    _write(hp(f"{release}/bin/dryad-admin"), "#!/bin/sh\n# Lab stand-in for the admin page's buttons: "
           "restart-submissions\nexec /usr/bin/python3 \"$(dirname \"$(readlink -f \"$0\")\")/../lib/dryad_app.py\" "
           "admin \"$@\"\n", 0o755)
    _write(hp("/home/dryad/bin/long_jobs.dryad"), f"#!/bin/sh\n# status | drain | restart\nexec /usr/bin/python3 "
           f"{deploy_dir}/current/lib/dryad_app.py long_jobs \"$@\"\n", 0o755)
    for d in ("tmp/pids", "log"):
        hp(f"{release}/{d}").mkdir(parents=True, exist_ok=True)
    current = hp(f"{deploy_dir}/current")
    if current.is_symlink() or current.exists():
        current.unlink()
    current.symlink_to(release)  # the path as the host sees it
    _chown_tree(hp("/home/dryad"), user)
    if not hp(LOAD_FILE).exists():
        _write(hp(LOAD_FILE), f"{DEFAULT_LOAD}\n", 0o644, user.pw_uid)
    subst = {"@DEPLOY@": deploy_dir, "@USER@": APP_USER, "@WORKERS@": "3", "@RAILS_ENV@": "lab"}
    scripts = {"dryad-ui": "init.d.dryad-ui.sh"}
    if spec.get("dryad_runs_delayed_job"):
        scripts["delayed_job"] = "init.d.delayed_job.sh"
    for service, source in scripts.items():
        text = (HERE / source).read_text()
        for k, v in subst.items():
            text = text.replace(k, v)
        _write(hp(f"/etc/init.d/{service}"), text, 0o755)


def stop_all(name):
    """Lab plumbing: kill the app's processes on host `name` (its own PID namespace only)."""
    hosts.nsenter(name, ["sh", "-c", f"pkill -KILL -u {APP_USER}; rm -f /run/dryad/*.pid "
                                     f"/home/dryad/*/releases/*/tmp/pids/*.pid /home/dryad/*/*/releases/*/tmp/pids/*.pid "
                                     "/var/lib/remedies/restarts/delayed_job.json; true"], check=True)


def clear_holds(name, spec):
    for f in ("defer_jobs.txt", "hold-submissions.txt"):
        paths.host_path(name, f"{spec['dryad_deploy_dir']}/releases/{f}").unlink(missing_ok=True)


def start_all(name, spec):
    services = ["dryad-ui"] + (["delayed_job"] if spec.get("dryad_runs_delayed_job") else [])
    for s in services:
        hosts.nsenter(name, ["service", s, "start"], check=True, capture_output=True)


def set_load(name, gap):
    """Seconds between new datasets on host `name` (0 stops the stream)."""
    user = ensure_user()
    _write(paths.host_path(name, LOAD_FILE), f"{gap}\n", 0o644, user.pw_uid)


def dryad_hosts(topology):
    return {n: s for n, s in topology.items() if s.get("lab_system") == "dryad"}


def provision(topology, reset=False):
    mine = dryad_hosts(topology)
    if not mine:
        return
    ensure_user()
    if reset:
        for name in mine:
            stop_all(name)
    create_database(reset=reset)
    for name, spec in mine.items():
        deploy(name, spec)
        if reset:
            clear_holds(name, spec)
            set_load(name, DEFAULT_LOAD)
        start_all(name, spec)


def inventory_vars():
    return {"dryad_db_host": "127.0.0.1", "dryad_db_port": 3306, "dryad_db_name": DATABASE,
            "dryad_db_user": "dryad_ops", "dryad_db_password": secrets_file()["dryad_ops"],
            "dryad_app_user": APP_USER,
            # The lab's clock runs fast (production: group_vars/all/dryad.yml).
            "dryad_max_run_time": TIMINGS["max_run_time_s"], "dryad_long_running_seconds": 5,
            "dryad_drain_timeout": 60, "dryad_drain_poll": 0.25,
            "dryad_delayed_job_command": "RAILS_ENV=lab bin/delayed_job -n 3",
            "dryad_delayed_job_stop_timeout": TIMINGS["stop_wait_s"] + 5,
            "dryad_delayed_job_progress_max_age": 10, "dryad_delayed_job_cooldown": 0,
            "dryad_worker_pattern": "dryad_app.py worker",
            "dryad_resubmit_command": "bin/dryad-admin restart-submissions"}


# --- incidents -------------------------------------------------------------

def _copy(cur, state, identifier, copy_type="data", note=None, minutes_ago=60):
    cur.execute("INSERT INTO stash_engine_zenodo_copies (state, identifier_id, resource_id, copy_type, note, "
                "retries, error_info, created_at, updated_at) VALUES (%s, %s, NULL, %s, %s, 1, %s, "
                "NOW() - INTERVAL %s MINUTE, NOW() - INTERVAL %s MINUTE)",
                (state, identifier, copy_type, note, "Zenodo answered 504 (lab)" if state == "error" else None,
                 minutes_ago, minutes_ago))
    return cur.lastrowid


def app():
    """The lab app's own code (handler YAML, job classes), loaded from lab/dryad/app.py."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("dryad_lab_app", HERE / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _job(cur, copy_id, copy_type="data", attempts=0, last_error=None, run_in="0 SECOND", failed=False):
    _, queue, priority = app().JOBS[copy_type]
    cur.execute("INSERT INTO delayed_jobs (priority, attempts, handler, last_error, run_at, failed_at, queue, "
                f"created_at, updated_at) VALUES (%s, %s, %s, %s, NOW() + INTERVAL {run_in}, "
                f"{'NOW()' if failed else 'NULL'}, %s, NOW(), NOW())",
                (priority, attempts, app().handler(copy_id, copy_type), last_error, queue))
    return cur.lastrowid


def zenodo_errors():
    """The runbook's "some things errored": errored copies, two of the same
    identifier and copy_type (the later one needs the earlier first), one
    with a job still queued, and delayed_jobs rows cut off by SIGTERM or
    "execution expired"."""
    rnd = random.Random()
    conn = connect()
    with conn.cursor() as cur:
        base = 900000 + rnd.randint(0, 90000)
        first = _copy(cur, "error", base, minutes_ago=90)
        second = _copy(cur, "error", base, minutes_ago=80)
        other_type = _copy(cur, "error", base, copy_type="software", minutes_ago=70)
        lone = _copy(cur, "error", base + 1, minutes_ago=60)
        queued = _copy(cur, "error", base + 2, minutes_ago=50)
        # "already queued": its job waits to run (not yet due)
        queued_job = _job(cur, queued, run_in="1 DAY")
        # cut off by a stop during the job, and one that ran past max_run_time, both given up
        sigterm = _copy(cur, "replicating", base + 3, minutes_ago=40)
        sigterm_job = _job(cur, sigterm, attempts=1, failed=True,
                           last_error="SIGTERM\n/app/lib/stash/zenodo_replicate/copier.rb:42:in `sleep'")
        expired = _copy(cur, "replicating", base + 4, minutes_ago=30)
        expired_job = _job(cur, expired, attempts=5, failed=True,
                           last_error="execution expired\n/usr/lib/ruby/3.3.0/timeout.rb:43")
    conn.close()
    return {"identifier": base, "first": first, "second": second, "other_type": other_type, "lone": lone,
            "queued": queued, "queued_job": queued_job, "sigterm_copy": sigterm, "sigterm_job": sigterm_job,
            "expired_copy": expired, "expired_job": expired_job}


INCIDENTS = {"zenodo-errors": zenodo_errors}
