"""Benchmark S1: the closest real barcodes to an unknown one, over N barcodes.

    .venv/bin/python bench/id3c_closest_barcodes.py [N ...]   (default 10000 100000 1000000)

Methods:
  prefilter  sql/postgresql/id3c/closest_barcodes.sql: candidates from three btree
             expression indexes (first 3, middle 2, last 3 characters: two edits
             leave one intact), ranked by fuzzystrmatch levenshtein <= 2 and pg_trgm
             similarity
  knn        the 200 trigram-nearest barcodes by a pg_trgm GiST index
             (ORDER BY lower(barcode) <-> :barcode), ranked the same way
  full_scan  levenshtein for every barcode (exact: the baseline for recall) Typos: one and two substitutions, and a transposition, of real
barcodes. Runs in the scratch database id3c_bench; prints JSON lines.
"""
import json
import random
import sys

from id3c_common import fresh_schema, named_query, sizes, timed

KNN = """
WITH c AS (SELECT barcode FROM warehouse.identifier
           ORDER BY lower(barcode::text) <-> lower(%(barcode)s) LIMIT 200)
SELECT barcode::text, levenshtein(lower(barcode::text), lower(%(barcode)s)) AS distance FROM c
WHERE levenshtein(lower(barcode::text), lower(%(barcode)s)) <= %(max_distance)s
ORDER BY distance, barcode LIMIT %(max_results)s
"""
FULL_SCAN = """
SELECT barcode::text, levenshtein(lower(barcode::text), lower(%(barcode)s)) AS distance
FROM warehouse.identifier
WHERE levenshtein(lower(barcode::text), lower(%(barcode)s)) <= %(max_distance)s
ORDER BY distance, barcode LIMIT %(max_results)s
"""


def typo(real, rnd, kind):
    b = list(real)
    hexd = "0123456789abcdef"
    if kind == "transposition":
        i = rnd.randrange(7)
        b[i], b[i + 1] = b[i + 1], b[i]
    elif kind == "deletion":
        del b[rnd.randrange(8)]
    else:
        for i in rnd.sample(range(8), 1 if kind == "1 substitution" else 2):
            b[i] = rnd.choice([c for c in hexd if c != b[i]])
    return "".join(b)


def run(n, rnd):
    conn = fresh_schema()
    cur = conn.cursor()
    cur.execute("SET max_parallel_workers_per_gather = 0")  # a fair, single-core figure on a shared machine
    cur.execute("""INSERT INTO warehouse.identifier (uuid, barcode, identifier_set_id)
                   SELECT u, right(u::text, 8), 1 + (random() * 2)::int
                   FROM (SELECT gen_random_uuid() AS u FROM generate_series(1, %s)) AS g
                   ON CONFLICT (barcode) DO NOTHING""", (n,))
    cur.execute("""INSERT INTO warehouse.sample (identifier)
                   SELECT uuid::text FROM warehouse.identifier WHERE random() < 0.33""")
    cur.execute("CREATE INDEX identifier_barcode_gist ON warehouse.identifier "
                "USING gist (lower(barcode::text) gist_trgm_ops)")
    cur.execute("ANALYZE")
    cur.execute("SELECT count(*), pg_size_pretty(pg_relation_size('warehouse.identifier_barcode_head_idx') * 3), "
                "pg_size_pretty(pg_relation_size('warehouse.identifier_barcode_gist')) FROM warehouse.identifier")
    count, index_size, gist_size = cur.fetchone()
    cur.execute("SELECT barcode::text FROM warehouse.identifier ORDER BY random() LIMIT 30")
    reals = [r[0] for r in cur.fetchall()]
    params = {"max_distance": 2, "max_results": 10}
    out = {"barcodes": count, "prefilter_indexes": index_size, "gist_index": gist_size, "methods": {}}
    query = named_query("closest_barcodes")
    for kind in ("1 substitution", "2 substitutions", "transposition", "deletion"):
        found = {"prefilter": 0, "knn": 0, "full_scan": 0}
        times = {"prefilter": [], "knn": [], "full_scan": []}
        for real in reals[:10]:
            t = typo(real, rnd, kind)
            p = dict(params, barcode=t)
            for method, sql, rounds in (("prefilter", query, 3), ("knn", KNN, 1), ("full_scan", FULL_SCAN, 1)):
                tm, rows = timed(cur, sql, p, rounds=rounds)
                found[method] += real in [r[0] for r in rows]
                times[method].append(tm["median_ms"])
        out["methods"][kind] = {m: {"median_ms": sorted(times[m])[len(times[m]) // 2],
                                    "found_real_barcode": f"{found[m]}/10"} for m in times}
    cur.execute("EXPLAIN " + query, dict(params, barcode="abcdefgh"))
    out["scans"] = sorted({line[0].strip().lstrip("-> ").split("  ")[0] for line in cur.fetchall()
                           if "Scan" in line[0]})
    conn.close()
    return out


def main():
    rnd = random.Random(4)
    for n in sizes(sys.argv[1:]):
        print(json.dumps(run(n, rnd)), flush=True)


if __name__ == "__main__":
    main()
