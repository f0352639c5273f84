#!/usr/bin/python
# -*- coding: utf-8 -*-
# Stuck uWSGI worker threads, found without stopping the world.
from __future__ import annotations

DOCUMENTATION = r"""
module: uwsgi_workers
short_description: Find uWSGI worker threads stuck in read(), from the stats socket and /proc
description:
  - Reads the uWSGI stats socket (workers, their cores, requests in flight and since when) and,
    for every thread of every worker, C(/proc/<pid>/task/<tid>/syscall) and C(wchan). It samples
    them over I(sample_seconds), the way the runbook watches C(strace) for a few seconds.
  - A thread is stuck when it sits in the same blocking C(read()) in every sample and its worker
    has a request in flight for longer than I(stuck_seconds). Nothing is attached to or signalled.
  - With I(strace_seconds) it also runs C(strace -f -p <worker>) for that long on each worker that
    has a stuck thread, as the runbook does, and returns the lines it printed.
version_added: "0.1.0"
options:
  stats_socket:
    description: The uWSGI stats socket (a unix socket path, or C(host:port)).
    type: str
    required: true
  sample_seconds:
    description: How long to watch the threads.
    type: float
    default: 3
  sample_interval:
    description: Seconds between two samples.
    type: float
    default: 0.5
  stuck_seconds:
    description: A request in flight for longer than this, on a thread blocked in read(), is stuck.
    type: int
    default: 5
  strace_seconds:
    description: Run strace on workers with stuck threads for this many seconds; 0 to skip.
    type: int
    default: 0
attributes:
  check_mode:
    support: full
    description: Read-only; it runs the same in check mode.
  diff_mode:
    support: none
author: remedies
"""

EXAMPLES = r"""
- name: Look for stuck husky-musher threads
  uwsgi_workers:
    stats_socket: /run/uwsgi/app/husky-musher/stats.sock
    sample_seconds: 3
"""

RETURN = r"""
master_pid:
  description: The uWSGI master's pid.
  type: int
  returned: always
workers:
  description: Per worker, its pid, status, requests, cores busy, and each thread (tid, syscall, wchan, stuck).
  type: list
  elements: dict
  returned: always
stuck_threads:
  description: How many threads are stuck.
  type: int
  returned: always
available_workers:
  description: Workers with at least one idle core (the alert's "uWSGI workers available").
  type: int
  returned: always
attention:
  description: True when a thread is stuck or no worker is available.
  type: bool
  returned: always
report:
  description: One line per worker and per stuck thread.
  type: list
  elements: str
  returned: always
strace:
  description: Per worker pid, the strace lines (when I(strace_seconds) > 0).
  type: dict
  returned: when strace ran
"""

import json
import os
import platform
import socket
import subprocess
import time

from ansible.module_utils.basic import AnsibleModule

# read(2) by architecture: /proc/<pid>/syscall gives the number.
READ_SYSCALL = {"x86_64": 0, "aarch64": 63, "armv7l": 3, "i686": 3}


def read_stats(where, timeout=5.0):
    if ":" in where and not where.startswith("/"):
        host, port = where.rsplit(":", 1)
        s = socket.create_connection((host, int(port)), timeout=timeout)
    else:
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(timeout)
        s.connect(where)
    chunks = []
    with s:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return json.loads(b"".join(chunks).decode("utf-8", "replace"))


def thread_state(pid, tid):
    base = f"/proc/{pid}/task/{tid}"
    try:
        with open(f"{base}/syscall") as f:
            syscall = f.read().split()
        with open(f"{base}/wchan") as f:
            wchan = f.read().strip()
    except OSError:
        return None
    if not syscall or syscall[0] in ("running", "-1"):
        return {"nr": None, "args": "", "wchan": wchan}
    return {"nr": int(syscall[0]), "args": " ".join(syscall[1:4]), "wchan": wchan}


def threads_of(pid):
    try:
        return sorted(int(t) for t in os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return []


class Workers:
    def __init__(self, module):
        self.module = module
        self.p = module.params
        self.read_nr = READ_SYSCALL.get(platform.machine(), 0)

    def stats(self):
        try:
            return read_stats(self.p["stats_socket"])
        except (OSError, ValueError) as exc:
            self.module.fail_json(msg=f"cannot read the uWSGI stats socket {self.p['stats_socket']}: {exc}. "
                                      "Is the service running?", attention=True)

    def sample(self, pids):
        """{pid: {tid: [state, ...]}} over sample_seconds."""
        samples = {pid: {} for pid in pids}
        deadline = time.monotonic() + self.p["sample_seconds"]
        while True:
            for pid in pids:
                for tid in threads_of(pid):
                    state = thread_state(pid, tid)
                    if state is not None:
                        samples[pid].setdefault(tid, []).append(state)
            if time.monotonic() >= deadline:
                return samples
            time.sleep(self.p["sample_interval"])

    def run(self):
        first = self.stats()
        pids = [w["pid"] for w in first.get("workers", []) if w.get("pid")]
        samples = self.sample(pids)
        last = self.stats()
        now = time.time()
        workers, stuck_total, available, report = [], 0, 0, []
        by_pid = {w["pid"]: w for w in last.get("workers", [])}
        for pid in pids:
            w = by_pid.get(pid)
            if w is None:  # respawned while we watched: not stuck
                continue
            cores = w.get("cores", [])
            oldest = max((now - c["req_info"]["request_start"] for c in cores
                          if c.get("in_request") and c.get("req_info", {}).get("request_start")), default=0)
            busy = sum(1 for c in cores if c.get("in_request"))
            threads = []
            for index, (tid, states) in enumerate(sorted(samples[pid].items())):
                blocked = (len(states) >= 2 and all(s["nr"] == self.read_nr for s in states)
                           and len({s["args"] for s in states}) == 1)
                stuck = blocked and oldest > self.p["stuck_seconds"]
                threads.append({"tid": tid, "core": index, "syscall": "read" if states[-1]["nr"] == self.read_nr
                                else states[-1]["nr"], "fd": int(states[-1]["args"].split()[0], 16)
                                if blocked and states[-1]["args"] else None,
                                "wchan": states[-1]["wchan"], "stuck": stuck})
            stuck = [t for t in threads if t["stuck"]]
            stuck_total += len(stuck)
            if busy < len(cores) or not cores:
                available += 1
            workers.append({"id": w.get("id"), "pid": pid, "status": w.get("status"), "requests": w.get("requests"),
                            "cores": len(cores), "cores_busy": busy, "oldest_request_seconds": round(oldest, 1),
                            "respawn_count": w.get("respawn_count"), "threads": threads, "stuck_threads": len(stuck)})
            report.append(f"worker {w.get('id')} pid {pid}: {w.get('status')}, {busy}/{len(cores)} cores busy, "
                          f"{len(stuck)} thread(s) stuck" + (f", oldest request {oldest:.0f}s" if busy else ""))
            for t in stuck:
                report.append(f"  thread {t['tid']}: read({t['fd']}, <unfinished ...>) for "
                              f"{self.p['sample_seconds']:g}s+, wchan {t['wchan']}")
        result = {"changed": False, "master_pid": last.get("pid"), "workers": workers, "stuck_threads": stuck_total,
                  "available_workers": available, "attention": bool(stuck_total) or available == 0,
                  "report": report}
        if self.p["strace_seconds"] and stuck_total:
            result["strace"] = {str(w["pid"]): self.strace(w["pid"]) for w in workers if w["stuck_threads"]}
        return result

    def strace(self, pid):
        try:
            res = subprocess.run(["timeout", "--signal=INT", str(self.p["strace_seconds"]), "strace", "-f", "-p",
                                  str(pid)], capture_output=True, text=True, timeout=self.p["strace_seconds"] + 10)
        except FileNotFoundError:
            return ["strace is not installed on this host"]
        return res.stderr.splitlines()[-40:]


def main():
    module = AnsibleModule(
        argument_spec=dict(
            stats_socket=dict(type="str", required=True),
            sample_seconds=dict(type="float", default=3),
            sample_interval=dict(type="float", default=0.5),
            stuck_seconds=dict(type="int", default=5),
            strace_seconds=dict(type="int", default=0),
        ),
        supports_check_mode=True,
    )
    if module.params["sample_seconds"] < module.params["sample_interval"]:
        module.fail_json(msg="sample_seconds must be at least sample_interval (two samples are needed)")
    module.exit_json(**Workers(module).run())


if __name__ == "__main__":
    main()
