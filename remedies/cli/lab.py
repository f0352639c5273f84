"""The lab: isolated hosts with sshd, MariaDB, PostgreSQL, Redis and SQS on this machine."""
import shlex
import sys

from invoke import task

from remedies.runner import REPO, python

INCIDENTS = "stuck-uploads (see `python -m lab incident --help` for all)"


def _lab(c, *args, hide=False):
    argv = [str(python() / "python"), "-m", "lab", *map(str, args)]
    with c.cd(str(REPO)):
        res = c.run(shlex.join(argv), warn=True, pty=False, hide=hide)
    if res.exited:
        sys.exit(res.exited)
    return res


@task(help={"size": "pad the lab with filler hosts up to this many (fan-out benchmarks)",
            "reset": "drop and recreate the lab databases first"})
def up(c, size=0, reset=False):
    """Boot the lab: hosts in namespaces with sshd, databases, SQS, daemons; writes inventories/lab/."""
    _lab(c, "up", "--size", size, *(["--reset"] if reset else []))


@task(help={"all": "also stop the lab's SQS server"})
def down(c, all=False):
    """Stop every lab host (no process or mount is left behind)."""
    _lab(c, "down", *(["--all"] if all else []))


@task
def status(c):
    """Which lab hosts and servers are running."""
    _lab(c, "status")


@task(help={"name": f"one of: {INCIDENTS}"})
def incident(c, name):
    """Break the lab the way a runbook describes, e.g. `inv lab.incident stuck-uploads`."""
    _lab(c, "incident", name)


@task(help={"host": "lab host", "daemon": "queue, process, sqs or video", "mode": "hang, die or ignore-term"})
def fault(c, host, daemon, mode):
    """Make one Permanent daemon on one lab host hang, die or ignore SIGTERM."""
    _lab(c, "fault", host, daemon, mode)
