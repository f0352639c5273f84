"""Dryad: Zenodo copies, Merritt submissions and delayed_job
(runbooks/dryad-zenodo-delayed-job.md): D1 to D7.

The headline pair is top-level: `inv drain-jobs` before a maintenance,
`inv resume-jobs` after it."""
import re

from invoke import task

from remedies import runner
from remedies.cli.common import helps, inventory, play

HOST_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$")


def _hosts(hosts, as_json):
    """--host values, checked for shape here and against the inventory by the playbook."""
    hosts = list(hosts or [])
    bad = [h for h in hosts if not HOST_RE.match(h)]
    if bad:
        runner.finish(runner.FAILED, as_json=as_json, message=f"not a host name: {', '.join(map(repr, bad))}; "
                                                               "nothing was changed")
    return {"dryad_only_hosts": hosts} if hosts else {}


def _positive(value, name, as_json):
    """A number of seconds given on the command line, or None when not given (the inventory decides)."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = None
    if number is None or not number > 0:
        runner.finish(runner.FAILED, as_json=as_json,
                      message=f"--{name} must be a positive number of seconds, not {value!r}; nothing was changed")
    return number


def _messages(run, task_suffix):
    out = []
    for r in run.results:
        if r["task"].split(" : ")[-1].startswith(task_suffix) and "msg" in r:
            out.extend(r["msg"] if isinstance(r["msg"], list) else [r["msg"]])
    return out


def _failure(run):
    msgs = [r.get("msg") for r in run.results if r.get("status") in ("failed", "unreachable") and r.get("msg")]
    return "; ".join(dict.fromkeys(str(m) for m in msgs))


def _plan_apply(c, playbook, extra, json, inventory_path, yes, expect=None):
    """plan (check mode) -> confirm -> apply, saying why when it stops at the plan."""
    inv = _inv(c, inventory_path)
    plan = runner.run_playbook(c, playbook, extra, check=True, as_json=json, inventory=inv)
    if plan.code != runner.CHANGED:
        runner.finish(plan, as_json=json, message="plan: nothing to change" if plan.code == runner.OK
                      else "stopped at the plan, nothing was changed: " + (_failure(plan) or "see above"))
    if not runner.confirm("Apply this plan?", yes):
        runner.finish(runner.REFUSED, as_json=json,
                      message="not applied: confirm at the prompt, or pass --yes (nothing was changed)")
    run = runner.run_playbook(c, playbook, dict(extra, **(expect(plan) if expect else {})), as_json=json,
                              inventory=inv)
    return plan, run


@task(iterable=["host"], help=helps("check", "json", "inventory",
                                    timeout="seconds to wait for running work to finish (default: inventory "
                                            "dryad_drain_timeout, 1800 in production)",
                                    poll="seconds between polls (default: inventory dryad_drain_poll)",
                                    stop="stop delayed_job once nothing runs",
                                    host="only this UI host (repeat for several; default: every UI host)"))
def drain_jobs(c, timeout=None, poll=None, stop=False, host=None, check=False, json=False, inventory=None):
    """D5: maintenance ahead? Hold new Zenodo/Merritt work on every UI host and wait until nothing runs."""
    extra = _hosts(host, json)
    if _positive(timeout, "timeout", json) is not None:
        extra["dryad_drain_timeout"] = float(timeout)
    if _positive(poll, "poll", json) is not None:
        extra["dryad_drain_poll"] = float(poll)
    if stop:
        extra["dryad_drain_stop_delayed_job"] = True
    run = runner.run_playbook(c, "dryad_drain_jobs.yml", extra, check=check, as_json=json,
                              inventory=_inv(c, inventory))
    holds = [" ".join(r.get("report", [])) for r in run.results if r["task"].endswith("Hold files present")]
    waited = [r for r in run.results if r["task"].endswith("D5 wait until nothing runs") and "report" in r]
    data = [r["data"] for r in waited if r.get("data")]
    extra_doc = {"drain": {"hosts": holds, "idle_at": next((d["idle_at"] for d in data if d.get("idle_at")), None),
                           "deadline": next((d["deadline"] for d in data if d.get("deadline")), None)}}
    if run.code == runner.FAILED:
        runner.finish(run, as_json=json, message="drain failed: " + (_failure(run) or "see above"), extra=extra_doc)
    if check:
        runner.finish(run, as_json=json, message="plan only: " + ("; ".join(holds) or "nothing to touch"),
                      extra=extra_doc)
    already = holds and all("already in place" in h for h in holds)
    message = ("drain already in place on every host; " if already else "drained: hold files in place; ") + \
        "nothing is running" + ("; delayed_job stopped" if stop else "")
    runner.finish(run, as_json=json, message=message, extra=extra_doc)


@task(iterable=["host"], help=helps("check", "json", "inventory", "yes",
                                    host="only lift the hold on this UI host (repeat for several)",
                                    max_rows="refuse to change more rows than this in one step (default 500)",
                                    resubmit_host="the server that resubmits Merritt submissions "
                                                  "(default: the delayed_job host, 2c)"))
def resume_jobs(c, host=None, resubmit_host=None, max_rows=None, check=False, yes=False, json=False,
                inventory=None):
    """D6: maintenance over? Lift the hold, re-enqueue deferred copies, resubmit Merritt, start delayed_job."""
    extra = _hosts(host, json)
    if resubmit_host:
        _hosts([resubmit_host], json)
        extra["dryad_resubmit_host"] = resubmit_host
    if max_rows is not None:
        if not str(max_rows).isdigit() or int(max_rows) < 1:
            runner.finish(runner.FAILED, as_json=json, message=f"--max-rows must be a positive integer, not "
                                                               f"{max_rows!r}; nothing was changed")
        extra["dryad_max_rows"] = int(max_rows)
    if check:
        play(c, "dryad_resume_jobs.yml", extra, check=True, json=json, inventory_path=inventory)
    _, run = _plan_apply(c, "dryad_resume_jobs.yml", extra, json, inventory, yes)
    counts = _messages(run, "D5 show the counts")
    runner.finish(run, as_json=json, message=("resumed; " if run.code == runner.CHANGED else "") +
                  ("; ".join(counts) if run.code in (runner.OK, runner.CHANGED) else _failure(run)))


def _inv(c, given):
    return inventory(c, given)


@task(help=helps("json", "inventory"))
def status(c, json=False, inventory=None):
    """D3/D5: what is queued and running, the hold files, delayed_job's status (read-only)."""
    play(c, "dryad_status.yml", json=json, inventory_path=inventory)


ACTIONS = {"status": "status", "start": "started", "stop": "stopped", "restart": "restarted"}


@task(iterable=["host"], help=helps("check", "json", "inventory", "yes",
                                    action="status, start, stop or restart",
                                    mode="start mode: service (new servers) or command (bin/delayed_job from "
                                         "current, old servers); default: the inventory's per host",
                                    host="only this delayed_job host"))
def delayed_job(c, action="status", mode=None, host=None, check=False, yes=False, json=False, inventory=None):
    """D3: delayed_job status/start/stop/restart on the designated host (service or bin/delayed_job)."""
    if action not in ACTIONS:
        runner.finish(runner.FAILED, as_json=json, message=f"unknown action {action!r}: use status, start, stop "
                                                           "or restart; nothing was changed")
    if mode not in (None, "service", "command"):
        runner.finish(runner.FAILED, as_json=json, message=f"unknown mode {mode!r}: use service or command")
    extra = dict(_hosts(host, json), dryad_delayed_job_state=ACTIONS[action],
                 dryad_reason=f"inv dryad.delayed-job {action}")
    if mode:
        extra["dryad_delayed_job_mode"] = mode
    if action == "status":
        run = runner.run_playbook(c, "dryad_delayed_job.yml", extra, check=check, as_json=json,
                                  inventory=_inv(c, inventory))
        down = [m for m in _messages(run, "D3 show delayed_job status") if "NOT RUNNING" in m]
        if run.code == runner.OK and down:
            runner.finish(runner.ATTENTION, as_json=json, message="; ".join(down) + " (inv dryad.delayed-job "
                          "--action start)", extra={"hosts": run.hosts, "results": run.results})
        runner.finish(run, as_json=json)
    if check:
        play(c, "dryad_delayed_job.yml", extra, check=check, json=json, inventory_path=inventory)
    _, run = _plan_apply(c, "dryad_delayed_job.yml", extra, json, inventory, yes)
    runner.finish(run, as_json=json)


@task(help=helps("json", "inventory", seconds="running longer than this counts as long-running "
                                              "(default: inventory dryad_long_running_seconds)"))
def stuck_jobs(c, seconds=None, json=False, inventory=None):
    """D4: jobs stuck? Long-running jobs, SIGTERM'd / "execution expired" rows, dead-worker locks."""
    extra = {}
    if _positive(seconds, "seconds", json) is not None:
        extra["dryad_long_running_seconds"] = int(float(seconds))
    run = runner.run_playbook(c, "dryad_stuck_jobs.yml", extra, as_json=json, inventory=_inv(c, inventory))
    lines = _messages(run, "D4 report")
    found = [ln for ln in lines if re.match(r"^(running longer|cut off|locks held).*: [1-9]", ln)]
    if run.code == runner.OK and found:
        runner.finish(runner.ATTENTION, as_json=json, message="needs attention: " + "; ".join(found),
                      extra={"hosts": run.hosts, "results": run.results})
    runner.finish(run, as_json=json)


def _expected(task_suffix):
    def expect(plan):
        counts = [r["plan"].get("count", 0) for r in plan.results
                  if "plan" in r and r["task"].endswith(task_suffix)]
        return {"dryad_expected_rows": sum(counts)} if counts else {}
    return expect


def _guarded(c, playbook, extra, apply, yes, json, inventory, expect=None):
    if not apply:
        play(c, playbook, extra, check=True, json=json, inventory_path=inventory)
    _, run = _plan_apply(c, playbook, extra, json, inventory, yes, expect=expect)
    runner.finish(run, as_json=json)


APPLY = "change the rows after showing the plan (default: plan only)"


@task(help=helps("json", "inventory", "yes", apply=APPLY))
def release_dead_locks(c, apply=False, yes=False, json=False, inventory=None):
    """D4: jobs locked by dead workers? Release the locks now (not after max_run_time). Plan by default."""
    _guarded(c, "dryad_release_dead_locks.yml", {}, apply, yes, json, inventory)


@task(help=helps("json", "inventory", "yes", apply=APPLY,
                 max_rows="refuse to change more rows than this (default 500)"))
def delete_cut_off_jobs(c, apply=False, max_rows=500, yes=False, json=False, inventory=None):
    """D4: jobs with SIGTERM / "execution expired" in last_error? Delete them so they can be resent."""
    _guarded(c, "dryad_delete_cut_off_jobs.yml", {"dryad_max_rows": int(max_rows)}, apply, yes, json, inventory,
             expect=_expected("D4 delete jobs cut off by SIGTERM or execution expired"))


@task(help=helps("json", "inventory", "yes", apply=APPLY,
                 max_rows="refuse to change more rows than this (default 500)"))
def reset_stalled(c, apply=False, max_rows=500, yes=False, json=False, inventory=None):
    """D2: copies showing running that nothing runs? Reset them to error (then resend). Plan by default."""
    _guarded(c, "dryad_reset_stalled.yml", {"dryad_max_rows": int(max_rows)}, apply, yes, json, inventory,
             expect=_expected("D2 reset stalled Zenodo copies to error"))


@task(iterable=["copy_id"], help=helps("json", "inventory", "yes", apply=APPLY,
                                       copy_id="a copy to resend (repeat for several)",
                                       all_errored="every errored copy (one per identifier and copy type, in id order)",
                                       identifier="with --all-errored: only this identifier's copies",
                                       max_rows="refuse to resend more copies than this (default 500)"))
def resend_copies(c, copy_id=None, all_errored=False, identifier=0, apply=False, max_rows=500, yes=False,
                  json=False, inventory=None):
    """D1: Zenodo copies errored? Resend them in order (prerequisite / already-queued refused). Plan by default."""
    ids = []
    for value in copy_id or []:
        if not str(value).isdigit() or int(value) < 1:
            runner.finish(runner.FAILED, as_json=json, message=f"--copy-id must be a copy id (a positive integer), "
                                                               f"not {value!r}; nothing was changed")
        ids.append(int(value))
    if not ids and not all_errored:
        runner.finish(runner.FAILED, as_json=json, message="say which copies: --copy-id N (repeatable) or "
                                                           "--all-errored; nothing was changed")
    extra = {"dryad_resend_copy_ids": ids, "dryad_resend_all_errored": bool(all_errored),
             "dryad_resend_identifier_id": int(identifier), "dryad_max_rows": int(max_rows)}
    inv_path = _inv(c, inventory)
    plan = runner.run_playbook(c, "dryad_resend_copies.yml", extra, check=True, as_json=json, inventory=inv_path)
    refusals = _messages(plan, "D1 refusals")
    if plan.code == runner.OK and refusals:
        runner.finish(runner.REFUSED, as_json=json, message="nothing resent: " + "; ".join(refusals),
                      extra={"refusals": refusals, "hosts": plan.hosts, "results": plan.results})
    if not apply or plan.code != runner.CHANGED:
        runner.finish(plan, as_json=json, message="; ".join(refusals) or (_failure(plan) if plan.code == runner.FAILED
                                                                            else None),
                      extra={"refusals": refusals})
    if not runner.confirm("Resend these copies?", yes):
        runner.finish(runner.REFUSED, as_json=json,
                      message="not applied: confirm at the prompt, or pass --yes (nothing was changed)")
    run = runner.run_playbook(c, "dryad_resend_copies.yml", extra, as_json=json, inventory=inv_path)
    runner.finish(run, as_json=json, message="; ".join(_messages(run, "D1 refusals")) or None,
                  extra={"refusals": _messages(run, "D1 refusals")})


@task(help=helps("check", "json", "inventory", "yes"))
def deploy_before(c, check=False, yes=False, json=False, inventory=None):
    """D7: deploy hook: stop delayed_job before a deploy (drain-jobs first to spare running jobs)."""
    if check:
        play(c, "dryad_deploy_before.yml", check=True, json=json, inventory_path=inventory)
    _, run = _plan_apply(c, "dryad_deploy_before.yml", {}, json, inventory, yes)
    runner.finish(run, as_json=json)


@task(help=helps("check", "json", "inventory", "yes"))
def deploy_after(c, check=False, yes=False, json=False, inventory=None):
    """D7: deploy hook: start delayed_job after a deploy and check it makes progress."""
    if check:
        play(c, "dryad_deploy_after.yml", check=True, json=json, inventory_path=inventory)
    _, run = _plan_apply(c, "dryad_deploy_after.yml", {}, json, inventory, yes)
    runner.finish(run, as_json=json)
