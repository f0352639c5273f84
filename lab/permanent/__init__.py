"""Permanent's upload pipeline in the lab: the `perm` database, SQS queues,
the task-runner daemons under init scripts, and incidents that break them."""
import json
import os
import random
import secrets
import shutil
import time
from datetime import datetime, timedelta
from pathlib import Path

from lab import backends, hosts, paths

HERE = Path(__file__).resolve().parent
DATABASE = "perm"
QUEUES = {"high_priority_url": "permanent-process-high-priority", "normal_url": "permanent-process"}
QUEUE_DIR = "/data/sqs-queue"
DAEMON_HOME = "/data/www/daemon"
WWW_DATA = 33
STATUSES_DONE = ["status.generic.ok"] * 90 + ["status.record.only_meta"] * 4 + ["status.generic.deleted"] * 4 + \
    ["status.generic.error", "status.generic.manual_review"]
TYPES = ["type.record.image"] * 6 + ["type.record.document"] * 2 + ["type.record.video", "type.record.audio"]


def secrets_file():
    f = paths.SECRETS / "permanent.json"
    if not f.exists():
        paths.SECRETS.mkdir(parents=True, exist_ok=True, mode=0o700)
        f.write_text(json.dumps({"perm_app": secrets.token_urlsafe(16), "remedies_ops": secrets.token_urlsafe(16)}))
        f.chmod(0o600)
    return json.loads(f.read_text())


def connect(user="remedies_ops"):
    import pymysql
    return pymysql.connect(host="127.0.0.1", port=3306, user=user, password=secrets_file()[user],
                           database=DATABASE, autocommit=True)


def sqs_client():
    import boto3
    return boto3.client("sqs", endpoint_url=backends.sqs_endpoint(), region_name="us-west-2",
                        aws_access_key_id="lab", aws_secret_access_key="lab")


def queue_urls():
    client = sqs_client()
    return {k: client.create_queue(QueueName=v)["QueueUrl"] for k, v in QUEUES.items()}


def create_database(reset=False):
    pw = secrets_file()
    drop = f"DROP DATABASE IF EXISTS {DATABASE};" if reset else ""
    backends.mysql_root(f"""{drop}
CREATE DATABASE IF NOT EXISTS {DATABASE} CHARACTER SET utf8mb4;
CREATE USER IF NOT EXISTS 'perm_app'@'127.0.0.1' IDENTIFIED BY '{pw["perm_app"]}';
ALTER USER 'perm_app'@'127.0.0.1' IDENTIFIED BY '{pw["perm_app"]}';
CREATE USER IF NOT EXISTS 'remedies_ops'@'127.0.0.1' IDENTIFIED BY '{pw["remedies_ops"]}';
ALTER USER 'remedies_ops'@'127.0.0.1' IDENTIFIED BY '{pw["remedies_ops"]}';
GRANT SELECT, INSERT, UPDATE ON {DATABASE}.* TO 'perm_app'@'127.0.0.1';
GRANT SELECT, INSERT, UPDATE, DELETE ON {DATABASE}.* TO 'remedies_ops'@'127.0.0.1';
""")
    backends.mysql_root((HERE / "schema.sql").read_text(), DATABASE)


def seed(history=20000, seed_value=7):
    """A month of finished uploads, so reports run against realistic volume."""
    rnd = random.Random(seed_value)
    now = datetime.now().replace(microsecond=0)
    rows = []
    for i in range(history):
        created = now - timedelta(minutes=rnd.randint(16, 30 * 24 * 60))
        rtype = rnd.choice(TYPES)
        ext = {"type.record.image": "jpg", "type.record.document": "pdf", "type.record.video": "mp4",
               "type.record.audio": "mp3"}[rtype]
        rows.append((rnd.randint(1, 900), f"Family photo {i}", f"IMG_{i:05d}.{ext}", rnd.randint(20_000, 90_000_000),
                     rnd.choice(STATUSES_DONE), rtype, created + timedelta(seconds=40), created,
                     created + timedelta(seconds=40)))
    conn = connect()
    with conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM record")
        if cur.fetchone()[0] == 0:
            cur.executemany("INSERT INTO record (archiveId, displayName, uploadFileName, size, status, type, "
                            "processedDT, createdDT, updatedDT) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s)", rows)
    conn.close()


def _write(path, text, mode=0o644, owner=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    if owner is not None:
        os.chown(path, 0, owner)


def deploy(name, daemons, urls):
    """Install the daemon program, its config and init scripts on lab host `name`."""
    hp = lambda inside: paths.host_path(name, inside)  # noqa: E731
    pw = secrets_file()
    config = {"db": {"host": "127.0.0.1", "port": 3306, "user": "perm_app", "password": pw["perm_app"],
                     "database": DATABASE},
              "sqs": {"endpoint": backends.sqs_endpoint(), **urls},
              "queue_dir": QUEUE_DIR, "tick_s": 0.2, "heartbeat_s": 2, "max_tasks": 12, "task_s": [0.1, 0.5],
              # The hourly re-submit cron, scaled to the lab's pace.
              "convert_s": 0.5, "resubmit_after_s": 600, "high_priority_below_bytes": 5_000_000}
    _write(hp(f"{DAEMON_HOME}/index.py"), (HERE / "daemon.py").read_text())
    _write(hp(f"{DAEMON_HOME}/config.json"), json.dumps(config, indent=1), 0o640, WWW_DATA)
    for d in (f"{DAEMON_HOME}/faults", QUEUE_DIR, "/var/log/permanent"):
        hp(d).mkdir(parents=True, exist_ok=True)
        os.chown(hp(d), WWW_DATA, WWW_DATA)
    template = (HERE / "init.d.sh").read_text()
    for d in daemons:
        _write(hp(f"/etc/init.d/{d}-daemon"), template.replace("@NAME@", d), 0o755)


def start_daemons(name, daemons):
    for d in daemons:
        hosts.nsenter(name, ["service", f"{d}-daemon", "start"], check=True, capture_output=True)


def reset_daemons(name, daemons=("queue", "process", "sqs", "video"), clear_queue=False):
    """Lab plumbing: a fresh host. Kill whatever state the daemons are in, forget
    earlier restarts (the circuit breaker's memory), and start them again."""
    hosts.nsenter(name, ["sh", "-c", "pkill -KILL -u www-data -f daemon/index.py; rm -f /run/permanent/*.pid "
                                     f"{DAEMON_HOME}/faults/* /var/lib/remedies/restarts/*; true"], check=True)
    if clear_queue:  # queue files about records a reset database no longer has
        for stale in paths.host_path(name, QUEUE_DIR).glob("*.json"):
            stale.unlink(missing_ok=True)
    start_daemons(name, daemons)


def provision(topology, reset=False):
    create_database(reset=reset)
    seed()
    urls = queue_urls()
    if reset:  # messages about records that no longer exist
        client = sqs_client()
        for url in urls.values():
            client.purge_queue(QueueUrl=url)
    for name, spec in topology.items():
        daemons = spec.get("permanent_daemons") or []
        if daemons:
            deploy(name, daemons, urls)
            if reset:
                reset_daemons(name, daemons, clear_queue=True)
            else:
                start_daemons(name, daemons)


def inventory_vars():
    return {"permanent_db_host": "127.0.0.1", "permanent_db_port": 3306, "permanent_db_name": DATABASE,
            "permanent_db_user": "remedies_ops", "permanent_db_password": secrets_file()["remedies_ops"],
            "permanent_sqs_endpoint": backends.sqs_endpoint(), "permanent_sqs_region": "us-west-2",
            "permanent_sqs_queue_prefix": "permanent-process",
            # moto accepts any key; production uses the host's IAM role or Vault.
            "permanent_sqs_environment": {"AWS_ACCESS_KEY_ID": "lab", "AWS_SECRET_ACCESS_KEY": "lab"},
            # Lab tasks take under a second, production ones seconds to a minute:
            # a lab task alive for 5 s is as suspicious as a production one at 90 s.
            "permanent_long_running_seconds": 5}


# --- incidents -------------------------------------------------------------

def fault(host, daemon, mode):
    """Make `daemon` on `host` misbehave: hang, die or ignore-term."""
    if mode not in ("hang", "die", "ignore-term"):
        raise ValueError(f"unknown fault {mode!r}; use hang, die or ignore-term")
    path = paths.host_path(host, f"{DAEMON_HOME}/faults/{daemon}")
    path.write_text(mode)
    os.chown(path, WWW_DATA, WWW_DATA)


def add_uploads(count, minutes_ago=(20, 120), corrupt=0, rnd=None):
    rnd = rnd or random.Random()
    now = datetime.now().replace(microsecond=0)
    rows = []
    for i in range(count):
        created = now - timedelta(minutes=rnd.randint(*minutes_ago))
        small = rnd.random() < 0.6
        name = f"upload_{int(time.time())}_{i}.{'corrupt' if i < corrupt else 'jpg'}"
        rows.append((rnd.randint(1, 900), name, name, rnd.randint(50_000, 4_000_000) if small else
                     rnd.randint(6_000_000, 400_000_000), "status.record.uploaded",
                     rnd.choice(TYPES), created, created))
    conn = connect()
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO record (archiveId, displayName, uploadFileName, size, status, type, "
                        "createdDT, updatedDT) VALUES (%s,%s,%s,%s,%s,%s,%s,%s)", rows)
    conn.close()


def _count(sql, args=()):
    conn = connect()
    with conn.cursor() as cur:
        cur.execute(sql, args)
        value = cur.fetchone()[0]
    conn.close()
    return value


def stuck_uploads(host="taskrunner1", uploads=400, orphans=25, repeat_failures=3):
    """The runbook's "uploads are stuck": queue-daemon's tasks hang with
    records in processing, SQS fills up, and older records sit in processing
    from an earlier crash (a few of them have already failed four times)."""
    rnd = random.Random()
    reset_daemons(host)
    time.sleep(0.5)
    add_uploads(uploads, rnd=rnd)
    deadline = time.monotonic() + 30
    client, urls = sqs_client(), queue_urls()
    while sum(int(client.get_queue_attributes(QueueUrl=u, AttributeNames=["ApproximateNumberOfMessages"])
                  ["Attributes"]["ApproximateNumberOfMessages"]) for u in urls.values()) < 20:
        if time.monotonic() > deadline:
            raise RuntimeError("uploads did not reach SQS: are process-daemon and sqs-daemon running?")
        time.sleep(0.2)
    fault(host, "queue", "hang")
    while _count("SELECT COUNT(*) FROM record WHERE status = 'status.record.processing'") == 0:
        if time.monotonic() > deadline:
            raise RuntimeError("queue-daemon took no work before hanging")
        time.sleep(0.2)
    time.sleep(1.5)  # let tasks that were already running finish
    now = datetime.now().replace(microsecond=0)
    conn = connect()
    with conn.cursor() as cur:
        # The hang has lasted a while: backdate what it holds.
        cur.execute("UPDATE record SET updatedDT = %s WHERE status = 'status.record.processing'",
                    (now - timedelta(minutes=45),))
        rows = []
        for i in range(orphans):
            created = now - timedelta(minutes=rnd.randint(100, 280))
            rows.append((rnd.randint(1, 900), f"orphan_{i}.jpg", f"orphan_{i}.jpg", rnd.randint(50_000, 4_000_000),
                         "status.record.processing", "type.record.image", created, created + timedelta(minutes=1)))
        cur.executemany("INSERT INTO record (archiveId, displayName, uploadFileName, size, status, type, "
                        "createdDT, updatedDT) VALUES (%s,%s,%s,%s,%s,%s,%s,%s)", rows)
        cur.execute("SELECT recordId FROM record WHERE displayName LIKE 'orphan\\_%%' AND status = "
                    "'status.record.processing' ORDER BY recordId DESC LIMIT %s", (repeat_failures,))
        failing = [r[0] for r in cur.fetchall()]
    conn.close()
    err_log = paths.host_path(host, "/var/log/permanent/queue-daemon.err.log")
    with open(err_log, "a") as f:
        for record_id in failing:
            for attempt in range(4):
                f.write(f"2026-01-01T00:0{attempt}:00 FAILED process recordId={record_id}: cannot read file\n")
    time.sleep(5)  # the hung tasks are now long-running by the lab's measure
    return {"uploads": uploads, "orphans": orphans, "failed_four_times": failing}


INCIDENTS = {"stuck-uploads": stuck_uploads}
