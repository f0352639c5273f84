"""Runs a playbook the way CI and AWX do, and turns its results into an exit code.

Exit codes (every `inv` task):
  0  nothing to do: healthy, or the plan is empty
  1  failed: an error, an unreachable host, or a timeout
  2  changed (or, with --check, would change)
  3  refused: a guard, the circuit breaker, or a missing confirmation
  4  attention: a diagnosis found a problem and changed nothing
"""
import json
import os
import shlex
import sys
import tempfile
from pathlib import Path

from invoke.exceptions import Exit

REPO = Path(__file__).resolve().parent.parent
OK, FAILED, CHANGED, REFUSED, ATTENTION = 0, 1, 2, 3, 4
NAMES = {OK: "nothing to do", FAILED: "failed", CHANGED: "changed", REFUSED: "refused", ATTENTION: "attention"}


class Run:
    """What one playbook run did, read from the remedies callback's summary."""

    def __init__(self, summary, rc):
        self.summary = summary
        self.rc = rc
        self.hosts = summary.get("hosts", {})
        self.results = summary.get("results", [])

    def total(self, key):
        return sum(h.get(key, 0) for h in self.hosts.values())

    @property
    def code(self):
        if self.total("refused"):
            return REFUSED
        if self.rc != 0 or self.total("failed") or self.total("unreachable") or not self.hosts:
            return FAILED
        if self.total("changed"):
            return CHANGED
        if self.total("attention"):
            return ATTENTION
        return OK

    def find(self, key, task=None):
        """Values of `key` in the results, optionally from one task name."""
        return [r[key] for r in self.results if key in r and (task is None or r["task"] == task)]


def python():
    venv = REPO / ".venv" / "bin"
    return venv if (venv / "ansible-playbook").exists() else Path(sys.executable).parent


def run_playbook(c, playbook, extra_vars=None, limit=None, check=False, as_json=False, inventory=None):
    """ansible-playbook with the repo's ansible.cfg; ansible's own output goes
    to stderr under --json so stdout stays machine-readable."""
    fd, result_file = tempfile.mkstemp(prefix="remedies-", suffix=".json")
    os.close(fd)
    vars_fd, vars_file = tempfile.mkstemp(prefix="remedies-vars-", suffix=".json")
    with os.fdopen(vars_fd, "w") as f:
        json.dump(extra_vars or {}, f)
    argv = [str(python() / "ansible-playbook"), str(REPO / "playbooks" / playbook), "-e", f"@{vars_file}"]
    if inventory:
        argv += ["-i", str(inventory)]
    if limit:
        argv += ["--limit", limit]
    if check:
        argv += ["--check", "--diff"]
    env = {"ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "REMEDIES_RESULT_FILE": result_file,
           "ANSIBLE_FORCE_COLOR": "0" if as_json or not sys.stdout.isatty() else "1"}
    try:
        with c.cd(str(REPO)):
            res = c.run(shlex.join(argv), warn=True, pty=False, env=env,
                        out_stream=sys.stderr if as_json else None, hide=False)
        try:
            summary = json.loads(Path(result_file).read_text() or "{}")
        except (OSError, ValueError):
            summary = {}
    finally:
        for f in (result_file, vars_file):
            try:
                os.unlink(f)
            except OSError:
                pass
    return Run(summary, res.exited if res is not None else 1)


def finish(run, as_json=False, message=None, extra=None):
    """Print the outcome (JSON on stdout with --json) and exit with its code."""
    code = run.code if isinstance(run, Run) else run
    if as_json:
        doc = {"outcome": NAMES[code], "exit_code": code}
        if isinstance(run, Run):
            doc.update(hosts=run.hosts, results=run.results)
        if message:
            doc["message"] = message
        doc.update(extra or {})
        print(json.dumps(doc, indent=1, default=str))
    elif message:
        print(message, file=sys.stderr)
    raise Exit(code=code)


def confirm(question, yes=False):
    """Destructive steps need --yes, or a person answering y at a terminal."""
    if yes:
        return True
    if not sys.stdin.isatty():
        return False
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")
