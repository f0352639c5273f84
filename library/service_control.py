#!/usr/bin/python
# -*- coding: utf-8 -*-
# Safe restarts of init-script services: health first, bounded stop, verified
# start, and a circuit breaker instead of restart loops.
from __future__ import annotations

DOCUMENTATION = r"""
module: service_control
short_description: Check, stop, start or restart an init-script service safely
description:
  - Checks health first (process alive and, optionally, a progress file that keeps changing),
    so a healthy service is left alone unless I(state=restarted).
  - Stops with C(service NAME stop) (or I(command) C(stop)) under a timeout, then TERM to the process group, a grace
    period and KILL, and confirms the old pid is gone before starting.
  - Starts with C(service NAME start) and waits until the new process is up and making progress.
  - A circuit breaker allows at most I(max_restarts) restarts per service in I(restart_window)
    seconds, and none within I(cooldown) seconds of the last; past that it refuses and says to escalate.
version_added: "0.1.0"
options:
  name:
    description: Service name, as given to C(service).
    type: str
    required: true
  state:
    description:
      - C(healthy) restarts only when the health check fails; C(restarted) always restarts;
        C(started) and C(stopped) make it so.
    type: str
    choices: [healthy, restarted, started, stopped]
    default: healthy
  pidfile:
    description: The pid file the init script writes.
    type: path
    required: true
  progress_file:
    description: A file the service keeps writing (its log); unchanged for I(progress_max_age) seconds means no progress.
    type: path
  progress_max_age:
    description: Seconds without a write to I(progress_file) before the service counts as hung.
    type: int
    default: 15
  stop_timeout:
    description: Seconds to let C(service NAME stop) work before signalling the process group.
    type: int
    default: 15
  kill_grace:
    description: Seconds between TERM and KILL.
    type: int
    default: 5
  start_timeout:
    description: Seconds to wait for the started service to be up and making progress.
    type: int
    default: 20
  max_restarts:
    description: Restarts allowed per I(restart_window); the next one is refused.
    type: int
    default: 3
  restart_window:
    description: Seconds the circuit breaker remembers restarts for.
    type: int
    default: 3600
  cooldown:
    description: Minimum seconds between two restarts of the service.
    type: int
    default: 30
  state_dir:
    description: Where the breaker keeps its restart history on the host.
    type: path
    default: /var/lib/remedies/restarts
  reason:
    description: Why the restart is asked for; recorded with it.
    type: str
    default: ""
  command:
    description:
      - Control the service with C(<command> start|stop) run by C(sh -c) instead of C(service NAME ...),
        for daemons started by hand (for example C(RAILS_ENV=production bundle exec bin/delayed_job -n 3)).
      - Comes from inventory, like a unit's ExecStart; I(name) then only labels the service.
    type: str
  chdir:
    description: Working directory for I(command) (for example the app's C(current) release).
    type: path
  run_as:
    description: Run I(command) as this user (C(runuser -u)), for example the app's role account.
    type: str
  hang_log:
    description:
      - A log whose last line tells a known stop hang. When the stop outlives I(stop_timeout) and the
        last line of this log matches I(hang_pattern), the hang is reported and the process group gets
        KILL at once (the runbook's C(kill -9)), without the TERM grace.
    type: path
  hang_pattern:
    description: Regular expression (case-insensitive) for the last line of I(hang_log) that marks the hang.
    type: str
    default: stopping hornetq
attributes:
  check_mode:
    support: full
    description: Check mode reports the health and what would be done, and sends no signal.
  diff_mode:
    support: none
author: remedies
"""

EXAMPLES = r"""
- name: Restart queue-daemon only if it is hung
  service_control:
    name: queue-daemon
    pidfile: /run/permanent/queue-daemon.pid
    progress_file: /var/log/permanent/queue-daemon.out.log
    state: healthy
"""

RETURN = r"""
before:
  description: Health before acting (running, pid, progress_age, healthy, problems).
  type: dict
  returned: always
after:
  description: Health after acting.
  type: dict
  returned: always
actions:
  description: What was done, in order (for example C(service stop timed out after 15s), C(KILL pgid 42)).
  type: list
  elements: str
  returned: always
outcome:
  description: nothing_to_do, planned, changed or refused.
  type: str
  returned: always
refused:
  description: True when the circuit breaker or cooldown refused the restart.
  type: bool
  returned: when refused
restarts:
  description: Restarts of this service in the current window, including this one.
  type: int
  returned: always
hang:
  description: The last log line that showed the known stop hang (I(hang_log)), or null.
  type: str
  returned: always
"""

import json
import os
import re
import signal
import subprocess
import time

from ansible.module_utils.basic import AnsibleModule


def read_pid(pidfile):
    try:
        with open(pidfile) as f:
            return int(f.read().strip() or 0) or None
    except (OSError, ValueError):
        return None


def pid_alive(pid):
    if not pid:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


class Service:
    def __init__(self, module):
        self.module = module
        self.p = module.params
        self.actions = []
        self.hang = None

    def service(self, action, timeout):
        argv, cwd = ["service", self.p["name"], action], None
        if self.p.get("command"):
            argv, cwd = ["sh", "-c", self.p["command"] + ' "$1"', "service_control", action], self.p.get("chdir")
            if self.p.get("run_as"):
                argv = ["runuser", "-u", self.p["run_as"], "--"] + argv
        # Own session, so a timeout kills the whole control command: a hung stop script left
        # behind by `sh -c` or `service` would hold the output pipes open and block us with it.
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=cwd,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            out, _ = proc.communicate(timeout=timeout)
            return proc.returncode, (out or "").strip()
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.communicate()
            return None, f"timed out after {timeout}s"

    def health(self):
        pid = read_pid(self.p["pidfile"])
        running = pid_alive(pid)
        problems = []
        if not running:
            problems.append("not running" + (" (stale pid file)" if pid else ""))
        age = None
        if self.p["progress_file"]:
            try:
                age = round(time.time() - os.stat(self.p["progress_file"]).st_mtime, 1)
            except OSError:
                age = None
            if running and (age is None or age > self.p["progress_max_age"]):
                problems.append(f"no progress: {self.p['progress_file']} unchanged for "
                                f"{'ever' if age is None else f'{age:.0f}s'}")
        return {"running": running, "pid": pid if running else None, "progress_age": age,
                "healthy": not problems, "problems": problems}

    # -- circuit breaker -------------------------------------------------
    def history_file(self):
        return os.path.join(self.p["state_dir"], f"{self.p['name']}.json")

    def history(self):
        try:
            with open(self.history_file()) as f:
                stamps = json.load(f)
        except (OSError, ValueError):
            stamps = []
        horizon = time.time() - self.p["restart_window"]
        return [s for s in stamps if s["ts"] >= horizon]

    def breaker_refusal(self, history):
        if len(history) >= self.p["max_restarts"]:
            return (f"circuit breaker open: {len(history)} restarts of {self.p['name']} in the last "
                    f"{self.p['restart_window']}s (max {self.p['max_restarts']}); not restarting again. "
                    f"Escalate: the service keeps failing after restarts.")
        if history and time.time() - history[-1]["ts"] < self.p["cooldown"]:
            ago = time.time() - history[-1]["ts"]
            return (f"cooldown: {self.p['name']} was restarted {ago:.0f}s ago (cooldown {self.p['cooldown']}s); "
                    f"wait, or escalate if it is already failing again.")
        return None

    def remember(self, history, reason):
        os.makedirs(self.p["state_dir"], exist_ok=True)
        history.append({"ts": time.time(), "reason": reason})
        tmp = self.history_file() + ".tmp"
        with open(tmp, "w") as f:
            json.dump(history, f)
        os.replace(tmp, self.history_file())

    # -- actions ---------------------------------------------------------
    def wait_gone(self, pid, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if not pid_alive(pid):
                return True
            time.sleep(0.1)
        return not pid_alive(pid)

    def signal_group(self, pid, sig):
        try:
            os.killpg(os.getpgid(pid), sig)
            self.actions.append(f"{signal.Signals(sig).name} process group of pid {pid}")
        except ProcessLookupError:
            pass

    def hung_line(self):
        """The hang_log's last line, when it shows the known stop hang."""
        if not self.p["hang_log"]:
            return None
        try:
            with open(self.p["hang_log"], "rb") as f:
                f.seek(max(0, os.path.getsize(self.p["hang_log"]) - 4096))
                lines = [ln for ln in f.read().decode("utf-8", "replace").splitlines() if ln.strip()]
        except OSError:
            return None
        if lines and re.search(self.p["hang_pattern"], lines[-1], re.I):
            return lines[-1].strip()
        return None

    def stop(self):
        pid = read_pid(self.p["pidfile"])
        rc, out = self.service("stop", self.p["stop_timeout"])
        self.actions.append(f"service {self.p['name']} stop: " + (out.splitlines()[-1] if out else f"rc={rc}"))
        self.hang = self.hung_line() if pid_alive(pid) else None
        if self.hang:
            self.actions.append(f"stop hang detected ({self.p['hang_log']} ends with: {self.hang})")
            self.signal_group(pid, signal.SIGKILL)
            if not self.wait_gone(pid, 5):
                self.module.fail_json(msg=f"pid {pid} of {self.p['name']} survived KILL; not starting a second copy",
                                      actions=self.actions, outcome="failed", hang=self.hang)
        elif pid_alive(pid) and not self.wait_gone(pid, 1):
            self.signal_group(pid, signal.SIGTERM)
            if not self.wait_gone(pid, self.p["kill_grace"]):
                self.signal_group(pid, signal.SIGKILL)
                if not self.wait_gone(pid, 5):
                    self.module.fail_json(msg=f"pid {pid} of {self.p['name']} survived KILL; not starting a second copy",
                                          actions=self.actions, outcome="failed")
        elif pid:
            # The daemon is gone; its tasks in the same group must not linger.
            try:
                os.killpg(pid, signal.SIGKILL)
                self.actions.append(f"KILL leftover processes of group {pid}")
            except (ProcessLookupError, PermissionError):
                pass
        if os.path.exists(self.p["pidfile"]) and not pid_alive(read_pid(self.p["pidfile"])):
            os.unlink(self.p["pidfile"])

    def start(self):
        started = time.time()
        rc, out = self.service("start", self.p["start_timeout"])
        self.actions.append(f"service {self.p['name']} start: " + (out.splitlines()[-1] if out else f"rc={rc}"))
        deadline = time.monotonic() + self.p["start_timeout"]
        while time.monotonic() < deadline:
            h = self.health()
            progressed = not self.p["progress_file"] or (
                h["progress_age"] is not None and time.time() - h["progress_age"] >= started - 1)
            if h["running"] and progressed and h["healthy"]:
                return h
            time.sleep(0.2)
        h = self.health()
        self.module.fail_json(msg=f"{self.p['name']} did not come up healthy within {self.p['start_timeout']}s: "
                                  f"{'; '.join(h['problems']) or 'no fresh progress'}",
                              before=self.before, after=h, actions=self.actions, outcome="failed")

    def run(self):
        self.before = before = self.health()
        state = self.p["state"]
        history = self.history()
        result = {"before": before, "actions": self.actions, "restarts": len(history), "changed": False,
                  "hang": None}
        if state == "stopped":
            needed = before["running"]
        elif state == "started":
            needed = not before["running"]
        else:
            needed = state == "restarted" or not before["healthy"]
        if not needed:
            return dict(result, after=before, outcome="nothing_to_do",
                        msg=f"{self.p['name']} is {'healthy' if before['healthy'] else 'stopped'}; nothing to do")
        restarting = state in ("healthy", "restarted")
        if restarting:
            refusal = self.breaker_refusal(history)
            if refusal:
                self.module.fail_json(msg=refusal, refused=True, outcome="refused", before=before,
                                      after=before, actions=[], restarts=len(history))
        why = self.p["reason"] or ("; ".join(before["problems"]) if before["problems"] else f"state={state}")
        if self.module.check_mode:
            verb = {"stopped": "stop", "started": "start"}.get(state, "restart")
            return dict(result, changed=True, after=before, outcome="planned",
                        msg=f"would {verb} {self.p['name']}: {why}")
        if before["running"] or read_pid(self.p["pidfile"]):
            self.stop()
        if restarting:
            self.remember(history, why)
            result["restarts"] = len(history)
        after = self.start() if state != "stopped" else self.health()
        return dict(result, changed=True, after=after, outcome="changed", hang=self.hang,
                    msg=f"{self.p['name']}: {', '.join(self.actions)}")


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            state=dict(type="str", default="healthy", choices=["healthy", "restarted", "started", "stopped"]),
            pidfile=dict(type="path", required=True),
            progress_file=dict(type="path"),
            progress_max_age=dict(type="int", default=15),
            stop_timeout=dict(type="int", default=15),
            kill_grace=dict(type="int", default=5),
            start_timeout=dict(type="int", default=20),
            max_restarts=dict(type="int", default=3),
            restart_window=dict(type="int", default=3600),
            cooldown=dict(type="int", default=30),
            state_dir=dict(type="path", default="/var/lib/remedies/restarts"),
            reason=dict(type="str", default=""),
            command=dict(type="str"),
            chdir=dict(type="path"),
            run_as=dict(type="str"),
            hang_log=dict(type="path"),
            hang_pattern=dict(type="str", default="stopping hornetq"),
        ),
        supports_check_mode=True,
    )
    if any(c in module.params["name"] for c in "/ \t\n;&|`$"):
        module.fail_json(msg="name must be a plain service name")
    if module.params["chdir"] and not os.path.isdir(module.params["chdir"]):
        module.fail_json(msg=f"chdir {module.params['chdir']} is not a directory on this host", outcome="failed")
    module.exit_json(**Service(module).run())


if __name__ == "__main__":
    main()
