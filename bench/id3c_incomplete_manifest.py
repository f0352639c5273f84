"""Benchmark S6: the runbook's incomplete-records query over a receiving.manifest
of N rows (sql/postgresql/id3c/incomplete_manifest_samples.sql, as the plan and
the apply's locked recount run it).

    .venv/bin/python bench/id3c_incomplete_manifest.py [N ...]   (default 10000 100000 1000000)

Rows arrive over a year, each processed by the manifest ETL (processing_log with
its sample_id); 20 incomplete rows plus their complete rows are planted on two
days. Runs in the scratch database id3c_bench; prints JSON lines.
"""
import json
import sys

from id3c_common import fresh_schema, named_query, sizes, timed


def run(n):
    conn = fresh_schema()
    cur = conn.cursor()
    cur.execute("SET max_parallel_workers_per_gather = 0")
    cur.execute("""INSERT INTO warehouse.sample (identifier) SELECT 's' || g FROM generate_series(1, %s) AS g""",
                (min(n, 100_000),))
    cur.execute("""INSERT INTO receiving.manifest (document, received, processing_log)
                   SELECT json_build_object('sample', lpad(to_hex(g), 8, '0'), 'collection', lpad(to_hex(g + 1), 8, 'c'),
                                            'date', (now() - (g %% 365) * interval '1 day')::date),
                          timestamptz '2025-01-01' + (g %% 365) * interval '1 day' + (g %% 86400) * interval '1 second',
                          jsonb_build_array(jsonb_build_object('etl', 'manifest', 'revision', 14, 'status', 'created',
                                                               'sample_id', 1 + g %% %s))
                   FROM generate_series(1, %s) AS g""", (min(n, 100_000), n))
    # the planted error: 20 incomplete rows on 2026-02-01, their complete rows on 2026-02-02
    cur.execute("""INSERT INTO warehouse.sample (identifier) SELECT 'planted' || g FROM generate_series(1, 20) AS g
                   RETURNING sample_id""")
    planted = [r[0] for r in cur.fetchall()]
    for i, sid in enumerate(planted):
        cur.execute("""INSERT INTO receiving.manifest (document, received, processing_log) VALUES
                       (json_build_object('sample', %s), '2026-02-01 10:00+00',
                        jsonb_build_array(jsonb_build_object('etl', 'manifest', 'sample_id', %s))),
                       (json_build_object('sample', %s, 'collection', %s), '2026-02-02 10:00+00', '[]')""",
                    (f"p{i:07d}", sid, f"p{i:07d}", f"c{i:07d}"))
    cur.execute("ANALYZE")
    cur.execute("SELECT count(*), pg_size_pretty(pg_total_relation_size('receiving.manifest')) FROM receiving.manifest")
    rows, size = cur.fetchone()
    query = named_query("incomplete_manifest_samples")
    params = {"date_before": "2026-02-01", "date_of_error": "2026-02-02"}
    t, found = timed(cur, query, params, rounds=3)
    t_lock, _ = timed(cur, "BEGIN; " + query + " FOR UPDATE", params, rounds=1)
    cur.execute("ROLLBACK")
    cur.execute("EXPLAIN " + query, params)
    scans = sorted({line[0].strip().lstrip("-> ").split("  ")[0] for line in cur.fetchall() if "Scan" in line[0]})
    conn.close()
    return {"manifest_rows": rows, "manifest_size": size, "plan": t, "locked_recount": t_lock,
            "found": len(found), "planted": len(planted), "scans": scans}


def main():
    for n in sizes(sys.argv[1:]):
        print(json.dumps(run(n)), flush=True)


if __name__ == "__main__":
    main()
