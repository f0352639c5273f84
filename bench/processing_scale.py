"""Benchmark: the processing queue's health and diagnostics queries and the
batched history cleanup at production scale, with the 3 lab workers live.

    export REMEDIES_LAB_SYSTEMS=processing; .venv/bin/python -m lab up
    .venv/bin/python bench/processing_scale.py 100000 1000000 5000000

For each size it truncates the lab's `processing` database (never run it
beside the e2e tests), fills processing_queue with that many rows (about 10 %
cleanup-eligible history, 3 % failed, some orphans, a pending backlog the
workers keep claiming), ANALYZEs, then measures:

  - each Q1/Q2/Q3/Q10/Q11 query: median of 3 runs, and the plan's scan nodes
    (EXPLAIN ANALYZE), so index use shows;
  - Q6 through remedies_sql_change in batched mode (1,000 rows per archived
    batch): rows/s, p99 and max statement time;
  - the workers' own claim times while the cleanup ran (flow_execution_logs):
    max and p99, and claims that hit the 100 ms lock timeout.

Prints one JSON document per size, then a summary table. Not run in CI.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
import ansible.module_utils  # noqa: E402

ansible.module_utils.__path__.append(str(REPO / "module_utils"))
from ansible.module_utils.remedies_db import load_query  # noqa: E402

from lab import processing  # noqa: E402

SQL_ROOT = REPO / "sql"
QUERIES = {
    "queue_health": {"orphaned_timeout_hours": 2, "window_hours": 1},
    "orphaned_records": {"orphaned_timeout_hours": 2},
    "claim_patterns": {},
    "status_integrity": {},
    "integrity_checks": {},
    "performance_overall": {"window_hours": 24},
    "processing_rate_by_hour": {"window_hours": 24},
    "top_errors": {"window_hours": 24 * 7, "top_errors": 10},
    "flow_performance": {"window_hours": 24},
    "capacity_figures": {"window_minutes": 15},
    "database_health": {},
}

FILL = """
INSERT INTO processing_queue (flow_name, payload, status, flow_instance_id, claimed_at, completed_at,
                              created_at, updated_at, retry_count, error_message)
SELECT CASE WHEN g % 3 = 0 THEN 'survey_scoring' ELSE 'survey_intake' END,
       jsonb_build_object('survey', 'B' || g),
       k.status, CASE WHEN k.status <> 'pending' THEN 'processing-worker' || (1 + g % 3) || '-' || (100 + g % 50) END,
       CASE WHEN k.status <> 'pending' THEN k.at - interval '2 minutes' END,
       CASE WHEN k.status = 'completed' THEN k.at END,
       k.at - interval '3 minutes', k.at, k.retries,
       CASE WHEN k.status = 'failed' THEN (ARRAY['ValidationError: survey response has no respondent_id',
            'TimeoutError: scoring service did not answer within 30s', 'KeyError: ''survey_version'''])[1 + g % 3] END
FROM generate_series(1, %(n)s) AS g
CROSS JOIN LATERAL (
  SELECT CASE WHEN g % 100 < 8 THEN 'completed'           -- > 30 days: cleanup
              WHEN g % 100 < 10 THEN 'failed'             -- > 7 days, retry >= 5: cleanup
              WHEN g % 100 < 13 THEN 'failed'             -- recent failures: kept
              WHEN g % 1000 = 999 THEN 'processing'       -- orphans
              ELSE 'completed' END AS status,
         CASE WHEN g % 100 < 8 THEN now() - make_interval(days => 31 + g % 300, secs => g % 86400)
              WHEN g % 100 < 10 THEN now() - make_interval(days => 8 + g % 20, secs => g % 86400)
              WHEN g % 1000 = 999 THEN now() - make_interval(hours => 3 + g % 20)
              ELSE now() - make_interval(days => g % 29, secs => g % 86400) END AS at,
         CASE WHEN g % 100 BETWEEN 8 AND 9 THEN 5 + g % 3 WHEN g % 100 BETWEEN 10 AND 12 THEN g % 3 ELSE 0 END
           AS retries
) AS k
"""


def sql(statement, args=None, fetch=True):
    conn = processing.connect()
    try:
        with conn.cursor() as cur:
            cur.execute(statement, args)
            return cur.fetchall() if fetch and cur.description else None
    finally:
        conn.close()


def admin(statement):
    processing.psql(statement, processing.DATABASE)


def fill(n):
    admin("TRUNCATE processing_queue, processed_surveys, flow_execution_logs")
    t = time.monotonic()
    step = 500_000
    for start in range(0, n, step):
        sql(FILL.replace("generate_series(1, %(n)s)", f"generate_series({start + 1}, {min(n, start + step)})"),
            fetch=False)
    admin("VACUUM ANALYZE processing_queue")
    return round(time.monotonic() - t, 1)


def compiled(name, params):
    """The named query with its binds inlined as literals, as psycopg2 sends it."""
    query = load_query(str(SQL_ROOT), "postgresql", "processing", name)
    text = query.sql
    for key, value in params.items():
        text = re.sub(r"(?<![:\w]):%s\b" % key, repr(value) if not isinstance(value, str) else f"'{value}'", text)
    return text


SCAN = re.compile(r"(Index Only Scan|Index Scan|Bitmap Index Scan|Seq Scan|Bitmap Heap Scan)"
                  r"(?: using (\w+))?(?: on (\w+))?")


def measure(name, params):
    text = compiled(name, params)
    times = []
    for _ in range(3):
        t = time.monotonic()
        sql(text)
        times.append((time.monotonic() - t) * 1000)
    plan = [r[0] for r in sql("EXPLAIN (ANALYZE, BUFFERS) " + text)]
    scans = sorted({" ".join(x for x in m.groups() if x) for line in plan for m in [SCAN.search(line)] if m})
    return {"ms": round(sorted(times)[1], 1), "scans": scans}


def cleanup(archive_dir):
    """Q6 (completed part) through the real module in batched mode."""
    pw = processing.secrets_file()[processing.OPS_ROLE]
    args = {"ANSIBLE_MODULE_ARGS": {
        "dialect": "postgresql", "login_host": "127.0.0.1", "login_port": 5432, "login_user": processing.OPS_ROLE,
        "login_password": pw, "database": processing.DATABASE, "sql_root": str(SQL_ROOT), "system": "processing",
        "target": "old_completed", "change": "delete_records", "table": "processing_queue", "key_column": "id",
        "params": {"completed_days": 30}, "batch_size": 1000, "max_rows": 10_000_000, "skip_locked": True,
        "archive_dir": str(archive_dir), "lock_timeout_ms": 1000, "statement_timeout_ms": 30000,
        "catalog_id": "Q6"}}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(args, f)
    runner = ("import runpy, sys, ansible.module_utils; ansible.module_utils.__path__.append(sys.argv[1]); "
              "sys.argv = [sys.argv[2], sys.argv[3]]; runpy.run_path(sys.argv[0], run_name='__main__')")
    started = sql("SELECT now()")[0][0]
    t = time.monotonic()
    out = subprocess.run([sys.executable, "-c", runner, str(REPO / "module_utils"),
                          str(REPO / "library" / "remedies_sql_change.py"), f.name],
                         capture_output=True, text=True, timeout=3600)
    wall = time.monotonic() - t
    os.unlink(f.name)
    result = json.loads(out.stdout)
    claims = sql("SELECT count(*), coalesce(max(claim_ms), 0), "
                 "coalesce(percentile_cont(0.99) WITHIN GROUP (ORDER BY claim_ms), 0), "
                 "coalesce(sum(claim_lock_timeouts), 0) FROM flow_execution_logs WHERE started_at >= %s",
                 (started,))[0]
    return {"rows_deleted": result.get("rows_changed"), "batches": result.get("batches"),
            "seconds": result.get("seconds"), "wall_seconds": round(wall, 1),
            "rows_per_second": result.get("rows_per_second"), "statement_ms": result.get("statement_ms"),
            "worker_batches": claims[0], "worker_claim_max_ms": round(float(claims[1]), 1),
            "worker_claim_p99_ms": round(float(claims[2]), 1), "worker_claim_lock_timeouts": int(claims[3]),
            "msg": result.get("msg")}


def run(n):
    doc = {"rows": n, "fill_seconds": fill(n)}
    doc["table_mb"] = sql("SELECT round(pg_total_relation_size('processing_queue') / 1048576.0)")[0][0]
    doc["indexes"] = [r[0] for r in sql("SELECT indexname FROM pg_indexes WHERE tablename = 'processing_queue' "
                                        "ORDER BY 1")]
    doc["queries"] = {name: measure(name, params) for name, params in QUERIES.items()}
    # A backlog the 3 live workers keep claiming while the cleanup runs.
    for _ in range(max(1, n // 100_000)):
        processing.add_pending(20_000, work_ms=2)
    archive_dir = Path(tempfile.mkdtemp(prefix="bench-processing-archive-"))
    try:
        doc["cleanup"] = cleanup(archive_dir)
        doc["archive_mb"] = round(sum(p.stat().st_size for p in archive_dir.iterdir()) / 1048576, 1)
    finally:
        shutil.rmtree(archive_dir, ignore_errors=True)
    return doc


def main(argv):
    sizes = [int(a) for a in argv] or [100_000, 1_000_000]
    docs = []
    for n in sizes:
        doc = run(n)
        docs.append(doc)
        print(json.dumps(doc, indent=1, default=str), flush=True)
    names = list(QUERIES)
    print("\nquery (ms, median of 3)      " + "".join(f"{d['rows']:>12,}" for d in docs))
    for name in names:
        print(f"{name:<29}" + "".join(f"{d['queries'][name]['ms']:>12}" for d in docs))
    for key in ("rows_deleted", "rows_per_second", "worker_claim_max_ms", "worker_claim_p99_ms",
                "worker_claim_lock_timeouts"):
        print(f"cleanup {key:<21}" + "".join(f"{d['cleanup'][key]:>12}" for d in docs))
    print(f"{'cleanup statement p99 ms':<29}" + "".join(f"{d['cleanup']['statement_ms']['p99']:>12}" for d in docs))
    print(f"{'cleanup statement max ms':<29}" + "".join(f"{d['cleanup']['statement_ms']['max']:>12}" for d in docs))


if __name__ == "__main__":
    main(sys.argv[1:])
