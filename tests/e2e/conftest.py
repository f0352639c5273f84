"""End-to-end fixtures: the real lab (namespaced hosts over SSH, MariaDB, SQS),
driven the way a person does: `inv ...` and ansible-playbook."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VENV = REPO / ".venv" / "bin"
BIN = VENV if (VENV / "inv").exists() else Path(sys.executable).parent


def lab(*args):
    res = subprocess.run([str(BIN / "python"), "-m", "lab", *args], cwd=REPO, capture_output=True, text=True)
    assert res.returncode == 0, f"lab {args}: {res.stderr}"
    return json.loads(res.stdout)


def inv(*args, state_dir=None, timeout=600):
    """Run `inv` with --json; returns (exit code, parsed JSON or None, stderr)."""
    env = dict(os.environ)
    if state_dir:
        env["REMEDIES_STATE_DIR"] = str(state_dir)
    res = subprocess.run([str(BIN / "inv"), *args], cwd=REPO, capture_output=True, text=True, env=env,
                         stdin=subprocess.DEVNULL, timeout=timeout)
    try:
        doc = json.loads(res.stdout) if res.stdout.strip() else None
    except ValueError:
        doc = None
    return res.returncode, doc, res.stderr


def on_host(host, command):
    """Run a shell command on a lab host over its real SSH."""
    state = json.loads((REPO / "var" / "lab" / "hosts.json").read_text())
    res = subprocess.run(["ssh", "-i", str(REPO / "var" / "lab" / "id_ed25519"), "-p", str(state[host]["port"]),
                          "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                          "-o", "LogLevel=ERROR", "-o", "BatchMode=yes", "root@127.0.0.1", command],
                         capture_output=True, text=True, timeout=60)
    return res


def wait_until(predicate, timeout=30, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture(scope="session")
def lab_up():
    return lab("up")


@pytest.fixture
def state_dir(tmp_path):
    """A private archive/audit/snapshot folder per test."""
    d = tmp_path / "state"
    d.mkdir()
    return d


@pytest.fixture
def perm_db(lab_up):
    sys.path.insert(0, str(REPO))
    from lab import permanent
    conn = permanent.connect()
    yield conn
    conn.close()


def query(conn, sql, args=()):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


def daemon_pid(host, name):
    res = on_host(host, f"cat /run/permanent/{name}-daemon.pid")
    return int(res.stdout.strip()) if res.returncode == 0 and res.stdout.strip() else None


@pytest.fixture
def healthy_taskrunner(lab_up):
    """Every daemon on taskrunner1 running and progressing, breaker history cleared."""
    res = on_host("taskrunner1", "rm -f /var/lib/remedies/restarts/*.json /data/www/daemon/faults/*; "
                                 "pkill -KILL -u www-data -f daemon/index.py; rm -f /run/permanent/*.pid; "
                                 "for d in queue process sqs video; do service $d-daemon start; done")
    assert res.returncode == 0, res.stderr
    wait_until(lambda: all(daemon_pid("taskrunner1", d) for d in ("queue", "process", "sqs", "video")),
               what="daemons up")
    return "taskrunner1"
