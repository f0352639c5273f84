"""Distributed processing queue (runbooks/distributed-processing-queue.md): Q1 to Q12."""
from invoke import task

from remedies import runner
from remedies.catalog import load_catalog
from remedies.cli.common import helps, play, plan_then_apply

YEAR_HOURS = 24 * 365
STATUSES = ("completed", "failed")


def _bad(json, message):
    runner.finish(runner.FAILED, as_json=json, message=f"bad input, nothing was changed: {message}")


def _number(json, name, value, minimum, whole=False):
    try:
        number = float(value)
    except (TypeError, ValueError):
        _bad(json, f"{name} must be a number, not {value!r}")
    if whole and number != int(number):
        _bad(json, f"{name} must be a whole number, not {value!r}")
    if number < minimum:
        _bad(json, f"{name} must be {minimum} or more, not {value!r}")
    return int(number) if whole else number


def _hours(json, name, value):
    hours = _number(json, name, value, float("-inf"))
    if hours <= 0:
        _bad(json, f"{name} must be a positive number of hours, not {value!r}")
    return hours


def _window(json, yes, **windows):
    """Hours windows over a year scan the whole history: ask first."""
    long = {k: v for k, v in windows.items() if v > YEAR_HOURS}
    if not long:
        return {}
    what = ", ".join(f"{k.replace('_', ' ')} {v:g} h" for k, v in long.items())
    if not runner.confirm(f"{what} is more than a year ({YEAR_HOURS} h) and scans the whole history. Go on?", yes):
        runner.finish(runner.REFUSED, as_json=json,
                      message=f"not run: {what} is over a year; confirm at the prompt or pass --yes (nothing was read)")
    return {"processing_confirm_long_window": True}


def _maintenance_common(json, timeout_hours=None, max_retries=None, batch_size=1000, max_rows=None,
                        max_seconds=0):
    extra = {"processing_batch_size": _number(json, "batch size", batch_size, 1, whole=True),
             "processing_max_seconds": _number(json, "max seconds", max_seconds, 0, whole=True)}
    if extra["processing_batch_size"] > 10000:
        _bad(json, f"batch size must be at most 10000, not {batch_size}")
    if timeout_hours is not None:
        extra["processing_orphaned_timeout_hours"] = _hours(json, "timeout", timeout_hours)
    if max_retries is not None:
        extra["processing_max_retries"] = _number(json, "max retries", max_retries, 1, whole=True)
    if max_rows is not None:
        extra["processing_max_rows"] = _number(json, "max rows", max_rows, 1, whole=True)
    return extra


def _expected(names):
    """The row counts a person saw in the plan, by task; the apply refuses if they moved."""
    def expect(plan):
        counts = {r["task"].split(" : ")[-1]: r["plan"].get("count", 0) for r in plan.results if "plan" in r}
        return {var: counts[task_name] for task_name, var in names.items() if task_name in counts}
    return expect


def _maintain(c, playbook, extra, expect, apply, yes, json, inventory):
    """Plan, confirm, apply; a run stopped by max seconds is continued, with a
    progress line per chunk, until every batch is done."""
    import sys
    if not apply:
        play(c, playbook, extra, check=True, json=json, inventory_path=inventory)
    _, run = plan_then_apply(c, playbook, extra, json, None, inventory, yes, expect=expect)
    runs, code = [run], run.code
    while run.code == runner.CHANGED and any(r.get("finished") is False for r in run.results):
        done = sum(r.get("rows_changed", 0) for one in runs for r in one.results if r.get("run_id"))
        print(f"progress: {done} rows changed so far, in archived batches; continuing ...", file=sys.stderr, flush=True)
        # The confirmed plan is being worked through: the rows left are fewer than planned.
        run = runner.run_playbook(c, playbook, extra, check=False, as_json=json,
                                  inventory=inventory or c.config.get("remedies", {}).get("inventory"))
        runs.append(run)
        if run.code not in (runner.OK, runner.CHANGED):
            code = run.code
            break
    batched = [r for one in runs for r in one.results if r.get("run_id")]
    summary = {"runs": [{"task": r["task"], "run_id": r["run_id"], "rows_changed": r.get("rows_changed", 0),
                         "batches": r.get("batches"), "rows_per_second": r.get("rows_per_second")} for r in batched],
               "rows_changed": sum(r.get("rows_changed", 0) for r in batched)}
    if json:
        runner.finish(code, as_json=True, extra=dict(summary, hosts=run.hosts,
                                                     results=[r for one in runs for r in one.results]))
    runner.finish(code, message=f"{summary['rows_changed']} rows changed in {len(batched)} archived run(s); "
                                f"undo with: inv processing.undo-run <run_id>" if batched else None)


@task(help=helps("json", "inventory", "yes", window_hours="success and processing rates over this many hours (default 1)",
                 timeout_hours="processing for longer than this is orphaned (default 2)"))
def health(c, window_hours=1, timeout_hours=2, json=False, inventory=None, yes=False):
    """Q1/Q8: is the queue healthy? Counts by status, orphans, rates, workers; alert level warning/critical/emergency."""
    extra = {"processing_health_window_hours": _hours(json, "window", window_hours),
             "processing_orphaned_timeout_hours": _hours(json, "timeout", timeout_hours)}
    extra.update(_window(json, yes, window=extra["processing_health_window_hours"],
                         timeout=extra["processing_orphaned_timeout_hours"]))
    play(c, "processing_queue_health.yml", extra, json=json, inventory_path=inventory)


@task(help=helps("json", "inventory", "yes", timeout_hours="processing for longer than this is orphaned (default 2)"))
def diagnose(c, timeout_hours=2, json=False, inventory=None, yes=False):
    """Q2: issues found: orphaned records, suspicious claims per worker, integrity, missing indexes."""
    hours = _hours(json, "timeout", timeout_hours)
    extra = {"processing_orphaned_timeout_hours": hours, **_window(json, yes, timeout=hours)}
    play(c, "processing_diagnostics.yml", extra, json=json, inventory_path=inventory)


@task(help=helps("json", "inventory"))
def integrity(c, json=False, inventory=None):
    """Q11: data corruption? Status ranges, claims per worker, contradicting rows, records processed twice."""
    play(c, "processing_integrity.yml", {}, json=json, inventory_path=inventory)


@task(help=helps("json", "inventory", "yes", window_hours="the window, in hours (default 24; over a year asks first)",
                 top="how many top errors (default 10)"))
def performance(c, window_hours=24, top=10, json=False, inventory=None, yes=False):
    """Q3: failing or slow? Success rate, rate per hour, processing time, top errors, per flow."""
    hours = _hours(json, "window", window_hours)
    extra = {"processing_performance_window_hours": hours, "processing_top_errors": _number(json, "top", top, 1, True)}
    extra.update(_window(json, yes, window=hours))
    play(c, "processing_performance.yml", extra, json=json, inventory_path=inventory)


@task(help=helps("json", "inventory", "yes", timeout_hours="processing for longer than this is orphaned (default 2)",
                 max_retries="an orphan on its last attempt goes to failed (default 3)",
                 batch_size="rows per archived batch (default 1000)", max_rows="refuse more rows than this (default 100000)",
                 max_seconds="work in chunks of this many seconds, with progress between them (default 30; 0: one go)",
                 apply="change the rows after showing the plan (default: plan only)"))
def cleanup_orphaned(c, timeout_hours=2, max_retries=3, batch_size=1000, max_rows=100000, max_seconds=30,
                     apply=False, yes=False, json=False, inventory=None):
    """Q4: records stuck in processing? Orphans back to pending, or failed past max retries. Plan by default."""
    extra = _maintenance_common(json, timeout_hours, max_retries, batch_size, max_rows, max_seconds)
    extra.update(_window(json, yes, timeout=extra["processing_orphaned_timeout_hours"]))
    _maintain(c, "processing_cleanup_orphaned.yml", extra, _expected({
        "Q4 re-queue orphaned records with retries left": "processing_requeue_expected_rows",
        "Q4 fail orphaned records past max retries": "processing_fail_expected_rows"}), apply, yes, json, inventory)


@task(help=helps("json", "inventory", "yes", max_retries="reset failed records with retry_count below this (default 3)",
                 batch_size="rows per archived batch (default 1000)", max_rows="refuse more rows than this (default 100000)",
                 max_seconds="work in chunks of this many seconds, with progress between them (default 30; 0: one go)",
                 apply="change the rows after showing the plan (default: plan only)"))
def reset_failed(c, max_retries=3, batch_size=1000, max_rows=100000, max_seconds=30, apply=False, yes=False,
                 json=False, inventory=None):
    """Q5: failed records worth another try? Back to pending when retry_count < max. Plan by default."""
    extra = _maintenance_common(json, None, max_retries, batch_size, max_rows, max_seconds)
    _maintain(c, "processing_reset_failed.yml", extra, _expected({
        "Q5 reset failed records with retry_count below the maximum": "processing_reset_expected_rows"}),
        apply, yes, json, inventory)


@task(iterable=["status"], help=helps(
    "json", "inventory", "yes", status="completed or failed; repeat for both (default both)",
    completed_days="delete completed records older than this (default 30)",
    failed_days="delete failed records older than this (default 7) ...", min_retries="... with retry_count at least this (default 5)",
    batch_size="rows per archived batch (default 1000)", max_rows="refuse more rows than this (default 10000000)",
    max_seconds="work in chunks of this many seconds, with progress between them (default 30; 0: one go)",
    apply="delete after showing the plan (default: plan only)"))
def cleanup_history(c, status=None, completed_days=30, failed_days=7, min_retries=5, batch_size=1000,
                    max_rows=10000000, max_seconds=30, apply=False, yes=False, json=False, inventory=None):
    """Q6: queue table growing? Delete old history in archived, resumable batches. Plan by default."""
    statuses = status or list(STATUSES)
    unknown = sorted(set(statuses) - set(STATUSES))
    if unknown:
        _bad(json, f"unknown status {', '.join(unknown)}: history cleanup deletes completed and/or failed records")
    extra = _maintenance_common(json, None, None, batch_size, None, max_seconds)
    extra.update({"processing_history_statuses": statuses,
                  "processing_history_completed_days": _number(json, "completed days", completed_days, 1, True),
                  "processing_history_failed_days": _number(json, "failed days", failed_days, 1, True),
                  "processing_history_failed_min_retries": _number(json, "min retries", min_retries, 1, True),
                  "processing_history_max_rows": _number(json, "max rows", max_rows, 1, True)})
    _maintain(c, "processing_cleanup_history.yml", extra, _expected({
        "Q6 delete completed records past the retention": "processing_completed_expected_rows",
        "Q6 delete failed records past the retention with retries exhausted": "processing_failed_expected_rows"}),
        apply, yes, json, inventory)


@task(help=helps("json", "inventory"))
def database_health(c, json=False, inventory=None):
    """Q7: database slow or pool exhausted? Response time, connections from pg_stat_activity, pool utilisation."""
    play(c, "processing_database_health.yml", {}, json=json, inventory_path=inventory)


@task(help=helps("check", "json", "inventory", "yes", reason="why (goes to the audit log)"))
def emergency_stop(c, reason="", check=False, yes=False, json=False, inventory=None):
    """Q9: stop every worker on every host at once (bounded stop, TERM then KILL). Asks first."""
    extra = {"processing_restart_reason": reason or "inv processing.emergency-stop"}
    if check:
        play(c, "processing_emergency_stop.yml", extra, check=True, json=json, inventory_path=inventory)
    _, run = plan_then_apply(c, "processing_emergency_stop.yml", extra, json, None, inventory, yes)
    runner.finish(run, as_json=json)


@task(help=helps("check", "json", "inventory", "yes", first_hosts="hosts started first, with reduced capacity (default 1)",
                 reduced_batch="their batch size until every worker is back (default 10)",
                 observe="seconds the first workers run before the health gate (default 5)",
                 reason="why (goes to the audit log)"))
def gradual_restart(c, first_hosts=1, reduced_batch=10, observe=5, reason="", check=False, yes=False, json=False,
                    inventory=None):
    """Q9: after an emergency stop: first workers with reduced capacity, a health gate, then the rest."""
    extra = {"processing_restart_first_hosts": _number(json, "first hosts", first_hosts, 1, True),
             "processing_reduced_batch_size": _number(json, "reduced batch", reduced_batch, 1, True),
             "processing_restart_observe_seconds": _number(json, "observe", observe, 0, True),
             "processing_restart_reason": reason or "inv processing.gradual-restart"}
    if check:
        play(c, "processing_gradual_restart.yml", extra, check=True, json=json, inventory_path=inventory)
    _, run = plan_then_apply(c, "processing_gradual_restart.yml", extra, json, None, inventory, yes)
    runner.finish(run, as_json=json)


@task(help=helps("json", "inventory", window_minutes="measure the workers' batch rate over this window (default 15)"))
def capacity(c, window_minutes=15, json=False, inventory=None):
    """Q10: enough containers? The runbook's formula from live figures, capped by the pool."""
    play(c, "processing_capacity.yml",
         {"processing_capacity_window_minutes": _number(json, "window", window_minutes, 1, True)},
         json=json, inventory_path=inventory)


@task(help=helps("json", "inventory", "yes", run_id="the run_id a cleanup printed (see `inv audit`)",
                 force="restore even rows edited since the run"))
def undo_run(c, run_id, force=False, yes=False, json=False, inventory=None):
    """X3 for Q4-Q6: undo every archived batch of a maintenance run, newest first."""
    import re
    if not re.fullmatch(r"[0-9A-Za-z-]{1,64}", run_id):
        _bad(json, f"not a run id: {run_id!r}")
    _, run = plan_then_apply(c, "processing_undo_run.yml", {"processing_undo_run_id": run_id,
                                                            "processing_undo_force": bool(force)},
                             json, None, inventory, yes)
    runner.finish(run, as_json=json)


@task(help={"json": "print the schedule as JSON", "format": "cron (default) or systemd"})
def schedule(c, format="cron", json=False):
    """Q12: the runbook's maintenance schedule, as cron lines (or systemd OnCalendar) to install."""
    entries = [e for e in load_catalog() if e["system"] == "processing" and e.get("schedule")]

    def scheduled(e):  # maintenance runs its fix; a read-only check its diagnosis
        return e["fix"] if e.get("fix") and e["fix_kind"] != "read-only" else e["diagnose"]
    if json:
        import json as jsonlib
        print(jsonlib.dumps([{"id": e["id"], **e["schedule"], "task": scheduled(e)["task"],
                              "playbook": scheduled(e).get("playbook")} for e in entries], indent=1))
        return
    if format not in ("cron", "systemd"):
        runner.finish(runner.FAILED, message=f"unknown format {format!r}: use cron or systemd")
    for e in entries:
        s, point = e["schedule"], scheduled(e)
        print(f"# {e['id']} {s['every']}: {e['symptom']}")
        if format == "systemd":
            print(f"OnCalendar={s['systemd']}  ansible-playbook playbooks/{point['playbook']}")
        else:
            guard = f"[ \"$(date +\\%u)\" = {s['cron_only_weekday']} ] && " if s.get("cron_only_weekday") else ""
            print(f"{s['cron']}  remedies  {guard}ansible-playbook playbooks/{point['playbook']}")
