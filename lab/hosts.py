"""Isolated lab hosts: one PID, mount and UTS namespace each, with its own sshd.

A host is `unshare --mount --pid --uts --fork --mount-proc` running a boot
script that bind-mounts the host's private directories and execs sshd as the
namespace's PID 1. Killing that PID 1 takes every process of the host with it,
and the mounts vanish with the namespace, so `down` leaves nothing behind.
"""
import json
import os
import signal
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

from lab import paths

BOOT = """#!/bin/sh
set -eu
mount --make-rprivate /
hostname {name}
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/sshd /run/lock
{binds}
exec /usr/sbin/sshd -D -e -f {hostdir}/sshd_config
"""

SSHD_CONFIG = """Port {port}
ListenAddress 127.0.0.1
HostKey {hostdir}/ssh_host_ed25519_key
PidFile none
StrictModes no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
AuthorizedKeysFile {key}.pub
Subsystem sftp internal-sftp
MaxStartups 100:30:200
MaxSessions 50
"""


def _ensure_client_key():
    paths.STATE.mkdir(parents=True, exist_ok=True)
    if not paths.SSH_KEY.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "remedies-lab",
                        "-f", str(paths.SSH_KEY)], check=True)


def _prepare(name, port):
    hdir = paths.host_dir(name)
    hdir.mkdir(parents=True, exist_ok=True)
    binds = []
    for sub, mount in paths.PRIVATE_DIRS:
        (hdir / sub).mkdir(exist_ok=True)
        os.makedirs(mount, exist_ok=True)  # mount point on the real root
        binds.append(f"mount --bind {hdir / sub} {mount}")
    key = hdir / "ssh_host_ed25519_key"
    if not key.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    (hdir / "sshd_config").write_text(SSHD_CONFIG.format(port=port, hostdir=hdir, key=paths.SSH_KEY))
    (hdir / "boot.sh").write_text(BOOT.format(name=name, hostdir=hdir, binds="\n".join(binds)))
    (hdir / "var-log" / "lab").mkdir(exist_ok=True)


def _ns_init_pid(unshare_pid, timeout=5.0):
    """PID (as the controller sees it) of the namespace's PID 1, i.e. sshd."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            children = open(f"/proc/{unshare_pid}/task/{unshare_pid}/children").read().split()
        except FileNotFoundError:
            return None
        if children:
            return int(children[0])
        time.sleep(0.01)
    return None


def _port_open(port):
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _boot(name, port):
    hdir = paths.host_dir(name)
    log = open(hdir / "boot.log", "ab")
    proc = subprocess.Popen(
        ["unshare", "--mount", "--pid", "--uts", "--fork", "--mount-proc", "sh", str(hdir / "boot.sh")],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    init = _ns_init_pid(proc.pid)
    return {"name": name, "port": port, "unshare_pid": proc.pid, "init_pid": init}


def _wait_ssh(hosts, timeout=20.0):
    deadline = time.monotonic() + timeout
    pending = {h["name"]: h for h in hosts}
    while pending and time.monotonic() < deadline:
        for name in [n for n, h in pending.items() if _port_open(h["port"])]:
            del pending[name]
        if pending:
            time.sleep(0.05)
    if pending:
        raise RuntimeError(f"sshd did not come up on: {', '.join(sorted(pending))}; see var/lab/hosts/<host>/boot.log")


def load_state():
    f = paths.STATE / "hosts.json"
    return json.loads(f.read_text()) if f.exists() else {}


def save_state(state):
    paths.STATE.mkdir(parents=True, exist_ok=True)
    tmp = paths.STATE / "hosts.json.tmp"
    tmp.write_text(json.dumps(state, indent=1))
    tmp.replace(paths.STATE / "hosts.json")


def alive(entry):
    pid = entry.get("init_pid")
    if not pid:
        return False
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"sshd" in f.read()
    except FileNotFoundError:
        return False


def up(names):
    """Boot every named host that is not already running; return the state."""
    state_dir = str(paths.STATE.resolve())
    for _, mount in paths.PRIVATE_DIRS:
        if state_dir == mount or state_dir.startswith(mount + "/"):
            raise RuntimeError(f"the lab's state ({state_dir}) cannot live under {mount}: every lab host "
                               f"mounts its own {mount} over it; set REMEDIES_LAB_DIR elsewhere")
    _ensure_client_key()
    state = {n: e for n, e in load_state().items() if alive(e)}
    used = {e["port"] for e in state.values()}
    todo = []
    port = paths.SSH_PORT_BASE
    for name in names:
        if name in state:
            continue
        while port in used or _port_open(port):
            port += 1
        used.add(port)
        todo.append((name, port))
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(lambda t: _prepare(*t), todo))
    booted = [_boot(n, p) for n, p in todo]
    _wait_ssh(booted)
    for b in booted:
        state[b["name"]] = b
    save_state(state)
    return state


def down():
    """Kill every host's namespace init; the kernel reaps the rest."""
    state = load_state()
    for entry in state.values():
        for pid in (entry.get("init_pid"), entry.get("unshare_pid")):
            if pid:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(os.path.exists(f"/proc/{e['unshare_pid']}") and
                                              _is_unshare(e["unshare_pid"]) for e in state.values()):
        time.sleep(0.05)
    save_state({})
    return list(state)


def _is_unshare(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().startswith(b"unshare")
    except FileNotFoundError:
        return False


def nsenter(name, argv, **kwargs):
    """Run argv inside lab host `name` (lab plumbing only; tests go through SSH)."""
    entry = load_state()[name]
    return subprocess.run(["nsenter", "-t", str(entry["init_pid"]), "-m", "-p", "-u", "--"] + list(argv),
                          **kwargs)
