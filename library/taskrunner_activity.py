#!/usr/bin/python
# -*- coding: utf-8 -*-
from __future__ import annotations

DOCUMENTATION = r"""
module: taskrunner_activity
short_description: Long-running tasks, load and daemon progress on a task runner (read-only)
description:
  - The runbook's "htop on TR", without a terminal. Finds task processes older than
    I(long_running_seconds), samples their CPU time and I/O over I(sample_seconds), and calls a
    long-running task that did neither "stuck".
  - Reports the load average and, per daemon, how long ago its log last changed.
version_added: "0.1.0"
options:
  task_pattern:
    description: Regular expression matched against a process's command line to find tasks.
    type: str
    required: true
  long_running_seconds:
    description: Tasks running longer than this are long-running (the runbook says one to two minutes).
    type: int
    default: 90
  sample_seconds:
    description: How long to watch long-running tasks for progress.
    type: float
    default: 3
  daemon_logs:
    description: Map of daemon name to the log it keeps writing.
    type: dict
    default: {}
  progress_max_age:
    description: A daemon log unchanged for longer than this means the daemon makes no progress.
    type: int
    default: 15
attributes:
  check_mode:
    support: full
    description: Read-only; it runs the same in check mode.
author: remedies
"""

EXAMPLES = r"""
- name: What is the task runner doing
  taskrunner_activity:
    task_pattern: 'index\.(php|py) task'
    daemon_logs:
      queue-daemon: /var/log/permanent/queue-daemon.out.log
"""

RETURN = r"""
tasks:
  description: Every task process with pid, age_seconds, cpu_delta, io_delta and stuck.
  type: list
  elements: dict
  returned: always
stuck_tasks:
  description: Number of long-running tasks that made no progress while sampled.
  type: int
  returned: always
daemons:
  description: Per daemon, the age of its log in seconds and whether it is making progress.
  type: dict
  returned: always
load:
  description: 1, 5 and 15 minute load averages.
  type: list
  elements: float
  returned: always
attention:
  description: True when a task is stuck or a daemon makes no progress.
  type: bool
  returned: always
"""

import os
import re
import time

from ansible.module_utils.basic import AnsibleModule

CLK = os.sysconf("SC_CLK_TCK")


def proc_sample(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        io = 0
        try:
            with open(f"/proc/{pid}/io") as f:
                io = sum(int(line.split()[1]) for line in f if line.startswith(("rchar", "wchar")))
        except OSError:
            pass
        return {"cpu": int(fields[11]) + int(fields[12]), "start": int(fields[19]) / CLK, "io": io}
    except (OSError, IndexError, ValueError):
        return None


def find_tasks(pattern):
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        if cmd and pattern.search(cmd):
            found[int(entry)] = cmd
    return found


def main():
    module = AnsibleModule(
        argument_spec=dict(
            task_pattern=dict(type="str", required=True),
            long_running_seconds=dict(type="int", default=90),
            sample_seconds=dict(type="float", default=3),
            daemon_logs=dict(type="dict", default={}),
            progress_max_age=dict(type="int", default=15),
        ),
        supports_check_mode=True,
    )
    p = module.params
    try:
        pattern = re.compile(p["task_pattern"])
    except re.error as exc:
        module.fail_json(msg=f"task_pattern is not a valid regular expression: {exc}")
    with open("/proc/uptime") as f:
        uptime = float(f.read().split()[0])
    tasks = find_tasks(pattern)
    first = {pid: proc_sample(pid) for pid in tasks}
    long_running = [pid for pid, s in first.items() if s and uptime - s["start"] >= p["long_running_seconds"]]
    if long_running:
        time.sleep(p["sample_seconds"])
    report, rows = [], []
    for pid, cmd in sorted(tasks.items()):
        s0 = first.get(pid)
        if not s0:
            continue
        age = round(uptime - s0["start"])
        row = {"pid": pid, "age_seconds": age, "command": cmd[:160], "long_running": pid in long_running}
        if pid in long_running:
            s1 = proc_sample(pid)
            if s1:
                row["cpu_delta"] = s1["cpu"] - s0["cpu"]
                row["io_delta"] = s1["io"] - s0["io"]
                row["stuck"] = row["cpu_delta"] == 0 and row["io_delta"] == 0
        rows.append(row)
    stuck = [r for r in rows if r.get("stuck")]
    daemons = {}
    for name, path in p["daemon_logs"].items():
        try:
            age = round(time.time() - os.stat(path).st_mtime, 1)
        except OSError:
            age = None
        daemons[name] = {"log": path, "log_age_seconds": age,
                         "progressing": age is not None and age <= p["progress_max_age"]}
    load = [float(x) for x in open("/proc/loadavg").read().split()[:3]]
    report.append(f"load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {len(rows)} task(s), "
                  f"{len(long_running)} over {p['long_running_seconds']}s, {len(stuck)} stuck (no CPU or I/O "
                  f"in {p['sample_seconds']}s)")
    for r in stuck[:10]:
        report.append(f"  stuck pid {r['pid']} for {r['age_seconds']}s: {r['command'][:70]}")
    for name, d in daemons.items():
        state = "progressing" if d["progressing"] else "NO PROGRESS"
        report.append(f"  {name:<16} log last written {d['log_age_seconds']}s ago: {state}")
    module.exit_json(changed=False, tasks=rows, stuck_tasks=len(stuck), long_running=len(long_running),
                     daemons=daemons, load=load, report=report,
                     attention=bool(stuck) or not all(d["progressing"] for d in daemons.values()))


if __name__ == "__main__":
    main()
