"""End-to-end helpers: the real lab (namespaced hosts over SSH, MariaDB, SQS),
driven the way a person does: `inv ...` and ansible-playbook."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path


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




def query(conn, sql, args=()):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


def daemon_pid(host, name):
    res = on_host(host, f"cat /run/permanent/{name}-daemon.pid")
    return int(res.stdout.strip()) if res.returncode == 0 and res.stdout.strip() else None
