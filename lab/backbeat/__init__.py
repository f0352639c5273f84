"""Backbeat in the lab (runbooks/backbeat.md): JBoss stand-ins on
accounting-worker1..3 under an LSB init script, and the Sidekiq queues in
Redis under the `backbeat:` namespace (Redis db REDIS_DB, lab only)."""
import json
import os
import subprocess
import time
import urllib.request
import uuid

from lab import hosts, paths
from lab.seattleflu import ensure_user, simple_init

HERE = os.path.dirname(os.path.abspath(__file__))
REDIS_DB = 5
NAMESPACE = "backbeat"
QUEUES = ("backbeat_server", "accounting_invoices")
HOME = "/var/groupon/jboss/accounting"
HEARTBEAT = "/var/groupon/backbeat/current/public/heartbeat.txt"
# The init script gives up on a stop after this many seconds (the runbook's
# hang makes it wait that long); service_control's stop_timeout is shorter.
JBOSS_STOP_TIMEOUT = 30


def workers(topology=None):
    if topology is None:
        return sorted(n for n in hosts.load_state() if n.startswith("accounting-worker"))
    return sorted(n for n, s in topology.items() if s.get("lab_system") == "backbeat")


def port(name):
    """accounting-workerN's JBoss HTTP port on the shared loopback."""
    return paths.SSH_PORT_BASE + 710 + int(name.rsplit("worker", 1)[-1])


def redis():
    import redis as redislib
    return redislib.Redis(host="127.0.0.1", port=6379, db=REDIS_DB, decode_responses=True)


def _write(path, text, mode=0o644, owner=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    if owner is not None:
        os.chown(path, owner, owner)


def deploy(name):
    hp = lambda inside: paths.host_path(name, inside)  # noqa: E731
    jboss = ensure_user("jboss", HOME)
    _write(hp(f"{HOME}/bin/jboss.py"), open(os.path.join(HERE, "jboss.py")).read(), 0o755)
    for d in (HOME, f"{HOME}/logs", f"{HOME}/faults", "/var/groupon/backbeat/current/public"):
        hp(d).mkdir(parents=True, exist_ok=True)
        os.chown(hp(d), jboss, jboss)
    _write(hp(HEARTBEAT), "OK\n", owner=jboss)
    _write(hp("/etc/init.d/jboss"), simple_init(
        "jboss", f"/usr/bin/python3 {HOME}/bin/jboss.py {port(name)}", "jboss", HOME,
        f"{HOME}/logs/console.log", "JBoss AS running Backbeat", stop_timeout=JBOSS_STOP_TIMEOUT), 0o755)


def _sh(name, script, check=True):
    return hosts.nsenter(name, ["sh", "-c", script], check=check, capture_output=True, text=True)


def reset_jboss(name):
    _sh(name, f"pkill -KILL -f '[/]var/groupon/jboss/accounting/bin/jboss.py'; rm -f /run/jboss.pid {HOME}/faults/* "
              "/var/lib/remedies/restarts/*; true", check=False)


def wait_heartbeat(name, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port(name)}/heartbeat.txt", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"JBoss on {name} did not answer /heartbeat.txt within {timeout}s")


def job(queue, enqueued_at, klass="Backbeat::Workers::AsyncWorker"):
    return json.dumps({"class": klass, "args": ["fire_event", str(uuid.uuid4())], "queue": queue, "retry": True,
                       "jid": uuid.uuid4().hex[:24], "created_at": enqueued_at, "enqueued_at": enqueued_at})


def seed_redis():
    """Healthy queues: a few jobs enqueued just now, in both Sidekiq formats."""
    r = redis()
    for key in r.scan_iter(f"{NAMESPACE}:*"):
        r.delete(key)
    now = time.time()
    r.sadd(f"{NAMESPACE}:queues", *QUEUES)
    r.lpush(f"{NAMESPACE}:queue:backbeat_server", *[job("backbeat_server", now - 0.5) for _ in range(3)])
    r.lpush(f"{NAMESPACE}:queue:accounting_invoices", *[job("accounting_invoices", int(now * 1000) - 500)])
    r.set(f"{NAMESPACE}:stat:processed", 184223)
    r.set(f"{NAMESPACE}:stat:failed", 112)


def provision(topology, reset=False):
    names = workers(topology)
    if not names:
        return
    for name in names:
        deploy(name)
        if reset:
            reset_jboss(name)
        _sh(name, "service jboss start")
    if reset or not redis().exists(f"{NAMESPACE}:queues"):
        seed_redis()
    for name in names:
        wait_heartbeat(name)


def inventory_vars():
    return {"backbeat_lab_http_ports": {f"accounting-worker{i}": port(f"accounting-worker{i}") for i in (1, 2, 3)},
            # Evaluated per host: each lab worker's JBoss has its own loopback port.
            "backbeat_jboss_http_port": "{{ backbeat_lab_http_ports[inventory_hostname] }}",
            "backbeat_redis_db": REDIS_DB, "backbeat_jboss_init_script": "/etc/init.d/jboss"}


# --- incidents -------------------------------------------------------------

def _fault(name, fault):
    path = paths.host_path(name, f"{HOME}/faults/{fault}")
    path.write_text(fault + "\n")
    os.chown(path, *[ensure_user("jboss", HOME)] * 2)


def _fresh(names):
    for name in names:
        reset_jboss(name)
        _sh(name, "service jboss start")
    for name in names:
        wait_heartbeat(name)


def hung_jboss_stop(host="accounting-worker2"):
    """JBoss on `host` will hang at "stopping hornetq" when it is next stopped."""
    _fresh(workers())
    _fault(host, "hang-on-stop")
    return {"host": host}


def jboss_down(host="accounting-worker3"):
    """JBoss died on `host` (kill -9), leaving its pid file behind."""
    _fresh(workers())
    _sh(host, f"pkill -KILL -f '[/]var/groupon/jboss/accounting/bin/jboss.py'")
    return {"host": host}


def slow_sidekiq(float_age=1200, ms_age=600):
    """The Sidekiq latency graph climbs: the oldest job of backbeat_server was
    enqueued 20 min ago (Sidekiq < 8: float seconds), that of
    accounting_invoices 10 min ago (Sidekiq 8: integer milliseconds)."""
    seed_redis()
    r = redis()
    now = time.time()
    # LPUSH adds at the head; the oldest job is the tail (LINDEX -1).
    r.rpush(f"{NAMESPACE}:queue:backbeat_server", job("backbeat_server", now - float_age))
    r.rpush(f"{NAMESPACE}:queue:accounting_invoices", job("accounting_invoices", int((now - ms_age) * 1000)))
    return {"queues": {"backbeat_server": float_age, "accounting_invoices": ms_age}}


INCIDENTS = {"hung-jboss-stop": hung_jboss_stop, "jboss-down": jboss_down, "slow-sidekiq": slow_sidekiq}
