"""Backbeat (runbooks/backbeat.md): B1 JBoss, B2 severity, B3 Sidekiq latency.

Every report and --json carries the runbook's severity legend (B2)."""
import json as jsonlib
import re

from invoke import task

from remedies import runner
from remedies.catalog import REPO, load_catalog
from remedies.cli.common import helps, inventory as inventory_of

QUEUE = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")


def severity(catalog_id):
    """The catalog's severity for an entry, with the legend (B2)."""
    entry = next(e for e in load_catalog(REPO / "catalog" / "backbeat.yml") if e["id"] == catalog_id)
    legend = {int(k): v for k, v in entry["severity_legend"].items()}
    return {"catalog_id": catalog_id, "level": entry["severity"], "meaning": legend[entry["severity"]],
            "legend": legend}


def _finish(run, json, catalog_id, message=None):
    sev = severity(catalog_id)
    text = f"{catalog_id} severity {sev['level']}: {sev['meaning']}"
    runner.finish(run, as_json=json, message=f"{message}\n{text}" if message else text, extra={"severity": sev})


def _run(c, playbook, extra, json, limit, inventory, check=False):
    return runner.run_playbook(c, playbook, extra, limit=limit, check=check, as_json=json,
                               inventory=inventory_of(c, inventory))


@task(help=helps("json", "limit", "inventory"))
def jboss_status(c, json=False, limit=None, inventory=None):
    """B1: JBoss down or hung? Heartbeat, /health, init script status and server.log on every worker."""
    _finish(_run(c, "backbeat_jboss_status.yml", {}, json, limit, inventory), json, "B1")


@task(help=helps("check", "json", "limit", "inventory", "yes",
                 force="restart every worker, healthy or not (a rolling restart)",
                 stop_timeout="seconds for the init script's stop before the hornetq-hang check (default 60)"))
def restart_jboss(c, force=False, stop_timeout=60, check=False, json=False, limit=None, inventory=None, yes=False):
    """B1: JBoss down, or hung stopping hornetq? Rolling restart, one worker at a time, kill -9 on the hang."""
    extra = {"backbeat_jboss_force": bool(force), "backbeat_jboss_stop_timeout": int(stop_timeout),
             "backbeat_jboss_reason": "inv backbeat.restart-jboss" + (" --force" if force else "")}
    if check:
        _finish(_run(c, "backbeat_jboss_restart.yml", extra, json, limit, inventory, check=True), json, "B1")
    plan = _run(c, "backbeat_jboss_restart.yml", extra, json, limit, inventory, check=True)
    if plan.code != runner.CHANGED:
        _finish(plan, json, "B1", message="plan: nothing to restart" if plan.code == runner.OK else None)
    if not runner.confirm("Restart JBoss on these workers, one at a time?", yes):
        _finish(runner.REFUSED, json, "B1", message="not restarted: confirm at the prompt, or pass --yes")
    _finish(_run(c, "backbeat_jboss_restart.yml", extra, json, limit, inventory), json, "B1")


@task(iterable=["queue"], help=helps("json", "inventory", queue="only this queue; repeat for several (default all)",
                                     threshold="latency limit in seconds for every queue (default: inventory's)"))
def queue_latency(c, queue=None, threshold=None, json=False, inventory=None):
    """B3: Sidekiq latency climbing? Per-queue latency (oldest job) against thresholds."""
    bad = [q for q in queue or [] if not QUEUE.match(q)]
    if bad:
        runner.finish(runner.FAILED, as_json=json, message=f"not a queue name: {', '.join(map(repr, bad))}")
    extra = {"backbeat_sidekiq_queues": list(queue or [])}
    if threshold is not None:
        extra.update(backbeat_sidekiq_latency_threshold=int(threshold), backbeat_sidekiq_latency_thresholds={})
    _finish(_run(c, "backbeat_sidekiq_latency.yml", extra, json, None, inventory), json, "B3")


@task(help={"json": "print as JSON"})
def severity_legend(c, json=False):
    """B2: the Backbeat severity legend (1 bleeding money .. 5), and each Backbeat entry's severity."""
    entries = [e for e in load_catalog(REPO / "catalog" / "backbeat.yml")]
    legend = {int(k): v for k, v in entries[0]["severity_legend"].items()}
    if json:
        print(jsonlib.dumps({"legend": legend, "entries": {e["id"]: {"severity": e["severity"],
                                                                      "meaning": legend[e["severity"]],
                                                                      "symptom": e["symptom"]} for e in entries}},
                            indent=1))
        return
    for level, meaning in sorted(legend.items()):
        print(f"{level}  {meaning}")
    print()
    for e in entries:
        print(f"{e['id']:<4} severity {e['severity']} ({legend[e['severity']]}): {e['symptom']}")
