"""Permanent.org upload pipeline (runbooks/permanent-backend.md): P1 to P6."""
import time

from invoke import task

from remedies import runner
from remedies.cli.common import helps, play, plan_then_apply

@task(help=helps("json", "inventory", start="window start, minutes ago (default 300)",
                 end="window end, minutes ago (default 15)"))
def upload_status(c, start=300, end=15, json=False, inventory=None):
    """P1: uploads stuck? Records in flight by status, and whether the counts are coming down."""
    play(c, "permanent_upload_status.yml", {"permanent_status_window_start_minutes": int(start),
                                            "permanent_status_window_end_minutes": int(end)},
         json=json, inventory_path=inventory)


@task(help=helps("json", "inventory"))
def queue_depth(c, json=False, inventory=None):
    """P2: SQS backlog? Visible and in-flight messages, high-priority queues first."""
    play(c, "permanent_queue_depth.yml", json=json, inventory_path=inventory)


@task(help=helps("json", "limit", "inventory", long_running="seconds after which a task counts as long-running (default 90)"))
def taskrunner_activity(c, long_running=90, json=False, limit=None, inventory=None):
    """P3: tasks stuck on the task runner? Long-running tasks, load, daemon progress."""
    play(c, "permanent_taskrunner_activity.yml", {"permanent_long_running_seconds": int(long_running)},
         json=json, limit=limit, inventory_path=inventory)


@task(help=helps("json", "limit", "inventory"))
def queue_folder(c, json=False, limit=None, inventory=None):
    """P5: sqs-daemon not draining? Count and age of its on-disk queue files."""
    play(c, "permanent_queue_folder.yml", json=json, limit=limit, inventory_path=inventory)


@task(help=helps("json", "inventory"))
def diagnose(c, json=False, inventory=None):
    """P1-P3, P5: everything the stuck-uploads runbook looks at, read-only."""
    play(c, "permanent_diagnose.yml", json=json, inventory_path=inventory)


@task(iterable=["daemon"], help=helps("check", "json", "limit", "inventory", "yes", daemon="queue, process, sqs or video; repeat for several (default queue)",
                                     force="restart even when the health check passes"))
def restart_daemon(c, daemon=None, force=False, check=False, json=False, limit=None, inventory=None, yes=False):
    """P4: daemon hung or dead? Restart it safely (health first, bounded stop, circuit breaker)."""
    daemons = daemon or ["queue"]
    unknown = sorted(set(daemons) - {"queue", "process", "sqs", "video"})
    if unknown:
        runner.finish(runner.FAILED, as_json=json, message=f"unknown daemon {', '.join(unknown)}: "
                                                           "use queue, process, sqs or video")
    extra = {"permanent_restart_daemons": daemons, "permanent_restart_state": "restarted" if force else "healthy",
             "permanent_restart_reason": "inv permanent.restart-daemon" + (" --force" if force else "")}
    if check:
        play(c, "permanent_restart_daemons.yml", extra, check=True, json=json, limit=limit, inventory_path=inventory)
    _, run = plan_then_apply(c, "permanent_restart_daemons.yml", extra, json, limit, inventory, yes)
    runner.finish(run, as_json=json)


def _expected_rows(plan):
    """The row counts a person saw in the plan; the apply must find the same."""
    counts = {r["task"].split(" : ")[-1]: r["plan"].get("count", 0) for r in plan.results if "plan" in r}
    return {"permanent_requeue_expected_rows": counts.get("P6 re-queue records stuck in processing", 0),
            "permanent_reprocess_expected_rows": counts.get("P6 mark records that failed too often as reprocessing", 0)}


@task(help=helps("json", "inventory", "yes", minutes="stuck means in processing for longer than this (default 30)",
                max_rows="refuse to change more rows than this (default 500)",
                apply="change the rows after showing the plan (default: plan only)"))
def requeue_stuck(c, minutes=30, max_rows=500, apply=False, yes=False, json=False, inventory=None):
    """P6: records stuck in processing? Re-queue them (5th failure -> reprocessing). Plan by default."""
    extra = {"permanent_stuck_minutes": int(minutes), "permanent_requeue_max_rows": int(max_rows)}
    if not apply:
        play(c, "permanent_requeue_stuck.yml", extra, check=True, json=json, inventory_path=inventory)
    _, run = plan_then_apply(c, "permanent_requeue_stuck.yml", extra, json, None, inventory, yes,
                             expect=_expected_rows)
    runner.finish(run, as_json=json)


@task(help=helps("check", "json", "inventory", "yes", settle="seconds to let the pipeline drain before the re-check (default 20)"))
def stuck_uploads(c, check=False, yes=False, settle=20, json=False, inventory=None):
    """P1-P6: "uploads are stuck" runbook: diagnose, decide, plan, fix (confirmed), re-check."""
    if check:
        play(c, "permanent_stuck_uploads.yml", check=True, json=json, inventory_path=inventory)
    plan, run = plan_then_apply(c, "permanent_stuck_uploads.yml", {}, json, None, inventory, yes)
    if run.code not in (runner.OK, runner.CHANGED):
        runner.finish(run, as_json=json, message="the fix did not complete; see above")
    _progress_wait(int(settle), json)
    recheck = runner.run_playbook(c, "permanent_diagnose.yml", check=False, as_json=json,
                                  inventory=c.config.get("remedies", {}).get("inventory") if not inventory else inventory)
    # A backlog that is draining is expected right after the fix (P2); what
    # counts is that tasks progress (P3) and the counts come down (P1).
    still = [f"{r['host']}: {r['task']}" for r in recheck.results
             if r.get("attention") and not r["task"].split(" : ")[-1].startswith("P2")]
    if still:
        runner.finish(runner.ATTENTION, as_json=json, message="still wrong after the fix: " + "; ".join(still)
                      + ". Escalate if the counts are not coming down.", extra={"recheck": recheck.results})
    runner.finish(run, as_json=json, message="fixed: the re-check finds nothing wrong",
                  extra={"recheck": recheck.results})


def _progress_wait(seconds, quiet):
    """A visible countdown: a person (or a CI log) sees the run is alive."""
    import sys
    for left in range(seconds, 0, -1):
        if not quiet and (left % 5 == 0 or sys.stderr.isatty()):
            end = "\r" if sys.stderr.isatty() else "\n"
            print(f"letting the pipeline drain before the re-check: {left:3d}s", end=end, file=sys.stderr, flush=True)
        time.sleep(1)
