# Compact per-host progress for on-call use, plus a machine-readable summary.
from __future__ import annotations

DOCUMENTATION = r"""
name: remedies
type: stdout
short_description: one line per host and task, and a JSON summary for inv
description:
  - Prints one line per host per task as results arrive, and the C(report) lines that
    remedies modules return.
  - When C(REMEDIES_RESULT_FILE) is set, writes a JSON summary there at the end of the run
    (per-host counts, refusals, attention flags and the structured results) for C(inv --json).
options: {}
"""

import json
import os
import time

from ansible.plugins.callback import CallbackBase

KEEP = ("report", "plan", "outcome", "change_id", "refused", "attention", "msg", "rows_changed", "data",
        "archive_path", "restarts", "actions", "before", "after",
        # batched changes (remedies_sql_change batch_size)
        "run_id", "change_ids", "batches", "finished", "rows_per_second", "statement_ms")


QUIET_ACTIONS = frozenset(("include_role", "ansible.builtin.include_role", "include_tasks",
                           "ansible.builtin.include_tasks", "set_fact", "ansible.builtin.set_fact",
                           "validate_argument_spec", "ansible.builtin.validate_argument_spec"))


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "remedies"

    def __init__(self):
        super().__init__()
        self.started = time.monotonic()
        self.task = None
        self.results = []
        self.hosts = {}
        self.check = False

    # -- helpers --------------------------------------------------------
    def _host(self, name):
        return self.hosts.setdefault(name, {"ok": 0, "changed": 0, "failed": 0, "unreachable": 0,
                                            "skipped": 0, "refused": 0, "attention": 0})

    def _line(self, status, host, text, color=None):
        elapsed = time.monotonic() - self.started
        self._display.display(f"{elapsed:6.1f}s  {status:<9} {host:<14} {text}", color=color)

    def _record(self, result, status):
        r = result._result
        if self.task and status in ("ok", "skipped") and (
                self.task.action in QUIET_ACTIONS or getattr(self.task._role, "_role_name", None) == "remedies"):
            return
        host = result._host.get_name()
        counts = self._host(host)
        counts[status] += 1
        if r.get("refused"):
            counts["refused"] += 1
        if r.get("attention"):
            counts["attention"] += 1
        kept = {k: r[k] for k in KEEP if k in r}
        if kept or status in ("failed", "unreachable"):
            self.results.append({"host": host, "task": self.task.get_name() if self.task else "",
                                 "status": status, **kept})
        color = {"ok": "green", "changed": "yellow", "failed": "red", "unreachable": "red",
                 "skipped": "cyan"}[status]
        label = "REFUSED" if r.get("refused") else status.upper() if status in ("failed", "unreachable") else status
        self._line(label, host, self.task.get_name() if self.task else "", color)
        report = r.get("report")
        if isinstance(report, str):
            report = report.splitlines()
        for line in report or []:
            self._display.display(f"{'':26}| {line}")
        plan = r.get("plan")
        if isinstance(plan, dict) and "count" in plan:
            keys = ", ".join(str(k) for k in (plan.get("keys") or [])[:12])
            more = " ..." if plan.get("count", 0) > 12 else ""
            self._display.display(f"{'':26}| plan: {plan['count']} row(s), max {plan.get('max_rows', '?')}, "
                                  f"hash {str(plan.get('plan_hash', ''))[:12]}" + (f"; keys {keys}{more}" if keys else ""))
        if r.get("change_id"):
            self._display.display(f"{'':26}| change {r['change_id']}: {r.get('rows_changed', '?')} row(s) changed, "
                                  f"archived; undo with: inv undo {r['change_id']}")
        if r.get("run_id") and r.get("batches") is not None:
            self._display.display(f"{'':26}| run {r['run_id']}: {r.get('rows_changed', 0)} row(s) in {r['batches']} "
                                  f"archived batch(es), {r.get('rows_per_second') or 0} rows/s"
                                  + ("" if r.get("finished", True) else "; stopped early, run again to finish"))
        if status in ("failed", "unreachable") and r.get("msg"):
            self._display.display(f"{'':26}! {r['msg']}", color="red")
        elif self.task and self.task.action in ("debug", "ansible.builtin.debug") and "msg" in r:
            msg = r["msg"]
            for line in (msg if isinstance(msg, list) else str(msg).splitlines()):
                self._display.display(f"{'':26}| {line}")

    # -- events ---------------------------------------------------------
    def v2_playbook_on_play_start(self, play):
        self.check = bool(play.check_mode) or self.check
        name = play.get_name().strip()
        self._display.display(f"\n== {name}{'  (check mode: plan only)' if play.check_mode else ''}", color="bright blue")

    def v2_playbook_on_task_start(self, task, is_conditional):
        self.task = task

    def v2_playbook_on_handler_task_start(self, task):
        self.task = task

    def v2_runner_on_ok(self, result):
        self._record(result, "changed" if result._result.get("changed") else "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "ok" if ignore_errors else "failed")

    def v2_runner_retry(self, result):
        """A task polling under `until`: one progress line, with its report."""
        r = result._result
        left = r.get("retries", 0) - r.get("attempts", 0)
        self._line("waiting", result._host.get_name(),
                   f"{self.task.get_name() if self.task else ''} (up to {left} more polls)", "cyan")
        for line in r.get("report") or []:
            self._display.display(f"{'':26}| {line}")

    def v2_runner_on_unreachable(self, result):
        self._record(result, "unreachable")

    def v2_runner_on_skipped(self, result):
        self._host(result._host.get_name())["skipped"] += 1

    def v2_runner_item_on_ok(self, result):
        self._record(result, "changed" if result._result.get("changed") else "ok")

    def v2_runner_item_on_failed(self, result):
        self._record(result, "failed")

    def v2_playbook_on_stats(self, stats):
        total = {k: sum(h[k] for h in self.hosts.values()) for k in
                 ("ok", "changed", "failed", "unreachable", "refused", "attention")}
        self._display.display(
            f"\n{len(self.hosts)} host(s): {total['changed']} changed, {total['failed']} failed "
            f"({total['refused']} refused), {total['unreachable']} unreachable, "
            f"{total['attention']} need attention, in {time.monotonic() - self.started:.1f}s")
        path = os.environ.get("REMEDIES_RESULT_FILE")
        if path:
            with open(path, "w") as f:
                json.dump({"check_mode": self.check, "hosts": self.hosts, "results": self.results},
                          f, default=str)
