#!/usr/bin/python
# -*- coding: utf-8 -*-
# remedies: the distributed processing queue's verdicts: health and alert level
# (Q1/Q8), database health (Q7) and capacity (Q10), from figures already read.
from __future__ import annotations

DOCUMENTATION = r"""
module: processing_assess
short_description: Turn live processing-queue figures into the runbook's verdicts and alert levels
description:
  - Pure computation on the controller; reads and changes nothing.
  - C(health) (Q1, Q8) compares the queue figures with the runbook's thresholds and maps them
    to the alert levels C(ok), C(warning), C(critical) and C(emergency) (database
    unreachable, no worker running, data corruption).
  - C(diagnostics) (Q2, Q11) lists the issues found (orphaned records, suspicious claim
    patterns per flow_instance_id, rows that contradict their status, records processed
    twice, and recommended indexes that are missing).
  - C(performance) (Q3) summarises success rate, processing rate, processing time, top errors
    and per-flow figures, with recommendations.
  - C(database) (Q7) reports response time and connection pool utilisation from the
    connections seen in pg_stat_activity.
  - C(capacity) (Q10) applies the runbook's formula
    C(containers = ceil(pending_records / (batch_size * target_processing_rate))), capped by
    what the connection pool allows.
version_added: "0.1.0"
options:
  assess:
    description: Which verdict to compute.
    type: str
    required: true
    choices: [health, diagnostics, performance, database, capacity]
  figures:
    description:
      - The live figures. C(health) reads C(pending_records), C(processing_records),
        C(failed_records), C(orphaned_records), C(window_completed), C(window_failed),
        C(window_hours), C(response_time_ms), and optionally C(db_reachable),
        C(workers_running), C(workers_total), C(integrity_problems) and C(pool_utilization_percent).
      - C(diagnostics) reads C(orphaned) and C(claim_patterns) (rows), C(integrity) (one row of
        counts), C(indexes) and C(recommended_indexes) (names), C(batch_size).
      - C(performance) reads C(overall) (one row), C(top_errors), C(flows) and C(hours) (rows).
      - C(database) reads C(response_time_ms), C(app_connections), C(server_connections),
        C(max_connections), C(pool_size), C(max_overflow), C(containers).
      - C(capacity) reads C(pending_records), C(processing_records), C(batch_size),
        C(target_processing_rate), C(containers), C(pool_size), C(max_overflow),
        C(connections_per_container), and optionally C(oldest_pending_minutes).
    type: dict
    required: true
  thresholds:
    description: The runbook's ALERT_THRESHOLDS (success_rate_warning, ..., pool_utilization_critical).
    type: dict
    default: {}
attributes:
  check_mode:
    support: full
    description: Nothing is changed in any mode.
author: remedies
"""

EXAMPLES = r"""
- name: Q1 health and alert level
  processing_assess:
    assess: health
    figures: "{{ queue_health.rows[0] | combine({'window_hours': 1, 'response_time_ms': 12}) }}"
    thresholds: "{{ processing_alert_thresholds }}"
"""

RETURN = r"""
level:
  description: C(ok), C(warning), C(critical) or C(emergency) (health); the worst of the checks otherwise.
  type: str
  returned: always
alerts:
  description: One entry per threshold crossed, with C(metric), C(value), C(level) and C(action).
  type: list
  elements: dict
  returned: always
report:
  description: Lines for the person on call.
  type: list
  elements: str
  returned: always
attention:
  description: True when the level is not C(ok) (the Invoke layer exits 4).
  type: bool
  returned: always
issues_found:
  description: C(diagnostics) only. One line per issue.
  type: list
  elements: str
  returned: diagnostics
recommendations:
  description: C(performance) only. What to do about the figures.
  type: list
  elements: str
  returned: performance
data:
  description: C(level), C(alerts) and C(metrics) (and C(issues_found) or C(recommendations)), for C(inv --json).
  type: dict
  returned: always
metrics:
  description: The computed figures (success rate, processing rate, utilisation, containers ...).
  type: dict
  returned: always
"""

import math

from ansible.module_utils.basic import AnsibleModule

LEVELS = ("ok", "warning", "critical", "emergency")
DEFAULTS = {
    "success_rate_warning": 90, "success_rate_critical": 80,
    "processing_rate_warning": 50, "processing_rate_critical": 10,
    "failed_records_warning": 50, "failed_records_critical": 100,
    "response_time_warning": 1000, "response_time_critical": 5000,
    "orphaned_records_warning": 10, "orphaned_records_critical": 50,
    "pool_utilization_warning": 80, "pool_utilization_critical": 95,
}
ACTIONS = {
    "success_rate": "investigate failures (inv processing.performance)",
    "processing_rate": "scale up capacity (inv processing.capacity)",
    "failed_records": "emergency investigation of the errors (inv processing.performance)",
    "orphaned_records": "run the orphaned record cleanup (inv processing.cleanup-orphaned)",
    "response_time": "check database performance (inv processing.database-health)",
    "pool_utilization": "increase the pool size",
}


class Assessment:
    def __init__(self, thresholds):
        self.t = dict(DEFAULTS, **{k: v for k, v in (thresholds or {}).items() if v is not None})
        self.alerts = []
        self.report = []

    def number(self, figures, name, default=None):
        value = figures.get(name, default)
        if value is None:
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ValueError("figure %s must be a number, got %r" % (name, value))

    def above(self, metric, value, unit=""):
        """Higher is worse."""
        if value is None:
            return
        value = int(value) if float(value).is_integer() else value
        for level in ("critical", "warning"):
            limit = float(self.t["%s_%s" % (metric, level)])
            if value > limit:
                self.alerts.append({"metric": metric, "value": value, "level": level,
                                    "threshold": "> %s%s" % (limit, unit), "action": ACTIONS[metric]})
                return

    def below(self, metric, value, unit=""):
        """Lower is worse."""
        if value is None:
            return
        value = int(value) if float(value).is_integer() else value
        for level in ("critical", "warning"):
            limit = float(self.t["%s_%s" % (metric, level)])
            if value < limit:
                self.alerts.append({"metric": metric, "value": value, "level": level,
                                    "threshold": "< %s%s" % (limit, unit), "action": ACTIONS[metric]})
                return

    def emergency(self, metric, why):
        self.alerts.append({"metric": metric, "value": why, "level": "emergency", "threshold": "-",
                            "action": "immediate escalation, emergency procedures (inv processing.emergency-stop)"})

    @property
    def level(self):
        return max((a["level"] for a in self.alerts), key=LEVELS.index, default="ok")

    def result(self, metrics):
        lines = list(self.report)
        for a in self.alerts:
            lines.append("%-9s %s = %s (%s): %s" % (a["level"].upper(), a["metric"], a["value"], a["threshold"],
                                                    a["action"]))
        lines.append("level: %s" % self.level.upper())
        data = {"level": self.level, "alerts": self.alerts, "metrics": metrics}
        return {"changed": False, "level": self.level, "alerts": self.alerts, "report": lines,
                "attention": self.level != "ok", "metrics": metrics, "data": data}


def health(figures, thresholds):
    a = Assessment(thresholds)
    if figures.get("db_reachable") is False:
        a.emergency("database", "unreachable")
        a.report.append("database: UNREACHABLE")
        return a.result({"db_reachable": False})
    n = lambda k, d=None: a.number(figures, k, d)  # noqa: E731
    pending, processing, failed = n("pending_records", 0), n("processing_records", 0), n("failed_records", 0)
    orphaned = n("orphaned_records", 0)
    window = n("window_hours", 1) or 1
    done, bad = n("window_completed", 0), n("window_failed", 0)
    finished = done + bad
    success = round(done * 100.0 / finished, 2) if finished else None
    rate = round(finished / window, 2)
    response = n("response_time_ms")
    metrics = {"total_records": int(n("total_records", 0)), "pending_records": int(pending),
               "processing_records": int(processing), "completed_records": int(n("completed_records", 0)),
               "failed_records": int(failed), "orphaned_records": int(orphaned),
               "success_rate_percent": success, "processing_rate_per_hour": rate,
               "window_hours": window, "response_time_ms": response,
               "oldest_pending_minutes": figures.get("oldest_pending_minutes")}
    a.report.append("records: %d total, %d pending, %d processing, %d completed, %d failed, %d orphaned"
                    % (metrics["total_records"], pending, processing, metrics["completed_records"], failed, orphaned))
    a.report.append("last %gh: %d finished, success rate %s, %s records/hour%s"
                    % (window, finished, "%s%%" % success if success is not None else "n/a (nothing finished)",
                       rate, "" if pending else " (no backlog: rate not judged)"))
    a.below("success_rate", success, "%")
    if pending:  # a low rate with nothing waiting is an idle queue, not a slow one
        a.below("processing_rate", rate, "/hour")
    a.above("failed_records", failed)
    a.above("orphaned_records", orphaned)
    a.above("response_time", response, " ms")
    pool = n("pool_utilization_percent")
    if pool is not None:
        metrics["pool_utilization_percent"] = round(pool, 1)
        a.report.append("connection pools: %.1f%% used" % pool)
    a.above("pool_utilization", pool, "%")
    total, running = figures.get("workers_total"), figures.get("workers_running")
    if total:
        metrics.update(workers_running=int(running or 0), workers_total=int(total))
        a.report.append("workers: %d of %d running" % (running or 0, total))
        if not running:
            a.emergency("workers", "all %d containers failed" % total)
    if n("integrity_problems", 0):
        metrics["integrity_problems"] = int(n("integrity_problems"))
        a.emergency("data_integrity", "%d rows contradict their status or were processed twice"
                    % metrics["integrity_problems"])
    metrics["queue_health"] = {"ok": "healthy", "warning": "degraded"}.get(a.level, a.level)
    return a.result(metrics)


def diagnostics(figures, thresholds):
    a = Assessment(thresholds)
    issues = []
    orphaned = figures.get("orphaned") or []
    total = sum(int(r.get("orphaned_records") or 0) for r in orphaned)
    if total:
        oldest = max(float(r.get("oldest_hours") or 0) for r in orphaned)
        issues.append("%d orphaned records held by %d worker(s), oldest claimed %.1f h ago: run the cleanup "
                      "(inv processing.cleanup-orphaned)" % (total, len(orphaned), oldest))
    a.above("orphaned_records", total)
    batch = int(figures.get("batch_size") or 100)
    for r in figures.get("claim_patterns") or []:
        held = int(r.get("records_claimed") or 0)
        if held > 2 * batch:
            issues.append("%s holds %d records in processing, more than two batches of %d"
                          % (r.get("flow_instance_id"), held, batch))
            a.alerts.append({"metric": "claim_pattern", "value": held, "level": "warning",
                             "threshold": "> 2 batches", "action": "check that worker; two claims overlap?"})
    integrity = figures.get("integrity") or {}
    broken = {k: int(v) for k, v in integrity.items() if v}
    for check, count in sorted(broken.items()):
        issues.append("integrity: %d rows %s" % (count, check.replace("_", " ")))
    if broken:
        a.emergency("data_integrity", ", ".join("%s=%d" % kv for kv in sorted(broken.items())))
    missing = sorted(set(figures.get("recommended_indexes") or []) - set(figures.get("indexes") or []))
    for name in missing:
        issues.append("recommended index %s is missing (see lab/processing/schema.sql)" % name)
    if missing:
        a.alerts.append({"metric": "indexes", "value": len(missing), "level": "warning", "threshold": "all present",
                         "action": "create the missing indexes (CREATE INDEX CONCURRENTLY)"})
    a.report.append("issues found: %d" % len(issues))
    a.report.extend("  - " + i for i in issues)
    out = a.result({"orphaned_records": total, "integrity": integrity, "missing_indexes": missing})
    out["issues_found"] = out["data"]["issues_found"] = issues
    return out


def performance(figures, thresholds):
    a = Assessment(thresholds)
    o = figures.get("overall") or {}
    n = lambda k: a.number(o, k)  # noqa: E731
    success, rate, minutes = n("success_rate_percent"), n("avg_processing_rate_per_hour"), \
        n("avg_processing_time_minutes")
    a.report.append("claimed %d: %d completed, %d failed; success rate %s%%; %s records/hour; "
                    "average processing %s min" % (n("claimed") or 0, n("completed") or 0, n("failed") or 0,
                                                   success, rate, minutes))
    a.below("success_rate", success, "%")
    recommendations = []
    errors = figures.get("top_errors") or []
    failed_total = sum(int(e.get("error_count") or 0) for e in errors)
    for e in errors[:5]:
        a.report.append("error x%-6s %s (%s flows)" % (e.get("error_count"), e.get("error_message"),
                                                        e.get("affected_flows")))
    top = errors[:3]
    share = sum(int(e.get("error_count") or 0) for e in top) * 100 // failed_total if failed_total else 0
    if top and share >= 60:
        recommendations.append("%d error message(s) cause %d%% of the failures: fix their cause first (%s)"
                               % (len(top), share, "; ".join(str(e["error_message"]) for e in top)))
    for f in figures.get("flows") or []:
        a.report.append("flow %-16s %s processed, %s completed, success %s%%, avg %s min"
                        % (f.get("flow_name"), f.get("total_processed"), f.get("completed"), f.get("success_rate"),
                           f.get("avg_processing_minutes")))
    if success is not None and success < float(a.t["success_rate_warning"]):
        recommendations.append("success rate below %s%%: review the top errors; reset failed records only after "
                               "the cause is fixed (inv processing.reset-failed)" % a.t["success_rate_warning"])
    if rate is not None and rate < float(a.t["processing_rate_warning"]) and n("claimed"):
        recommendations.append("processing rate below %s/hour: scale up, or increase batch_size "
                               "(inv processing.capacity)" % a.t["processing_rate_warning"])
    a.report.extend("RECOMMENDATION: " + r for r in recommendations)
    out = a.result({"overall": o, "hours": figures.get("hours") or [], "top_errors": errors,
                    "flows": figures.get("flows") or []})
    out["recommendations"] = out["data"]["recommendations"] = recommendations
    return out


def database(figures, thresholds):
    a = Assessment(thresholds)
    n = lambda k, d=None: a.number(figures, k, d)  # noqa: E731
    response = n("response_time_ms")
    pool = n("pool_size", 10) + n("max_overflow", 20)
    containers = n("containers", 1) or 1
    app = n("app_connections", 0)
    capacity = pool * containers
    utilization = round(app * 100.0 / capacity, 1) if capacity else None
    server, max_conn = n("server_connections", 0), n("max_connections", 0)
    metrics = {"response_time_ms": response, "app_connections": int(app), "pool_capacity": int(capacity),
               "pool_utilization_percent": utilization, "server_connections": int(server),
               "max_connections": int(max_conn),
               "server_utilization_percent": round(server * 100.0 / max_conn, 1) if max_conn else None}
    a.report.append("response time: %s ms" % response)
    a.report.append("application connections: %d of %d pooled (%d containers x (pool %d + overflow %d)) = %s%%"
                    % (app, capacity, containers, n("pool_size", 10), n("max_overflow", 20), utilization))
    a.report.append("server: %d of max_connections %d" % (server, max_conn))
    a.above("response_time", response, " ms")
    a.above("pool_utilization", utilization, "%")
    return a.result(metrics)


def capacity(figures, thresholds):
    a = Assessment(thresholds)
    n = lambda k, d=None: a.number(figures, k, d)  # noqa: E731
    pending, processing = n("pending_records", 0), n("processing_records", 0)
    batch, rate = n("batch_size", 100), n("target_processing_rate", 12)
    containers = int(n("containers", 3))
    per_container = n("connections_per_container", 2) or 2
    if batch <= 0 or rate <= 0:
        raise ValueError("batch_size and target_processing_rate must be positive")
    needed = int(math.ceil(pending / (batch * rate))) if pending else 0
    pool = n("pool_size", 10) + n("max_overflow", 20)
    maximum = int(pool // per_container)
    recommended = max(1, min(max(needed, 1), maximum))
    theoretical = containers * batch * rate
    utilization = round((pending + processing) * 100.0 / theoretical, 1) if theoretical else None
    oldest = figures.get("oldest_pending_minutes")
    triggered = pending > 500 and (oldest is None or float(oldest) > 30)
    metrics = {"pending_records": int(pending), "processing_records": int(processing), "batch_size": batch,
               "target_processing_rate": rate, "containers_needed": needed, "containers_max": maximum,
               "containers_recommended": recommended, "containers_now": containers,
               "theoretical_capacity_per_hour": theoretical, "utilization_percent": utilization,
               "scale_trigger": triggered}
    a.report.append("containers = ceil(%d pending / (%g batch x %g batches/hour)) = %d; pool allows %d"
                    % (pending, batch, rate, needed, maximum))
    a.report.append("now %d containers: capacity %g records/hour, load %d, utilisation %s%%"
                    % (containers, theoretical, pending + processing, utilization))
    if triggered and recommended > containers:
        a.alerts.append({"metric": "containers", "value": containers, "level": "warning",
                         "threshold": "pending > 500 for > 30 min",
                         "action": "scale out to %d containers" % recommended})
    if needed > maximum:
        a.report.append("the pool caps scaling at %d containers: increase the pool before adding more" % maximum)
    return a.result(metrics)


def main():
    module = AnsibleModule(argument_spec=dict(
        assess=dict(type="str", required=True, choices=["health", "diagnostics", "performance", "database",
                                                        "capacity"]),
        figures=dict(type="dict", required=True),
        thresholds=dict(type="dict", default={}),
    ), supports_check_mode=True)
    p = module.params
    try:
        handler = {"health": health, "diagnostics": diagnostics, "performance": performance,
                   "database": database, "capacity": capacity}[p["assess"]]
        result = handler(p["figures"], p["thresholds"])
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
