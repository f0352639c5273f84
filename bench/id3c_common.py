"""Shared by bench/id3c_*.py: a scratch database `id3c_bench` with ID3C's schema
(lab/id3c/schema.sql), on the lab's PostgreSQL, as the lab's admin login.
The lab's own `id3c` database is never touched."""
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
BENCH_DB = "id3c_bench"


def connect(database=BENCH_DB):
    import psycopg2
    from lab import backends
    backends.ensure_postgresql()
    backends.ensure_admin_accounts()
    admin = backends.admin_secrets()
    conn = psycopg2.connect(host="127.0.0.1", port=5432, user=admin["user"], password=admin["password"],
                            dbname=database, application_name="remedies-bench")
    conn.autocommit = True
    return conn


def fresh_schema():
    """Create id3c_bench if needed and (re)create the receiving and warehouse schemas."""
    conn = connect("postgres")
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (BENCH_DB,))
        if not cur.fetchone():
            cur.execute(f"CREATE DATABASE {BENCH_DB}")
    conn.close()
    conn = connect()
    with conn.cursor() as cur:
        cur.execute("DROP SCHEMA IF EXISTS receiving CASCADE; DROP SCHEMA IF EXISTS warehouse CASCADE")
        cur.execute((REPO / "lab" / "id3c" / "schema.sql").read_text())
        cur.execute("INSERT INTO warehouse.identifier_set (name, use) VALUES ('samples', 'sample'), "
                    "('collections-scan', 'collection'), ('collections-kiosks', 'collection')")
    return conn


def named_query(name):
    """The reviewed .sql file, in psycopg2's paramstyle (:name -> %(name)s)."""
    import re
    sql = (REPO / "sql" / "postgresql" / "id3c" / f"{name}.sql").read_text().rstrip().rstrip(";")
    sql = sql.replace("%", "%%")
    return re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", sql)


def timed(cur, sql, params, rounds=5):
    """Median and min wall time (ms) of `rounds` runs after one warm-up; returns (ms, rows)."""
    cur.execute(sql, params)
    rows = cur.fetchall()
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        cur.execute(sql, params)
        cur.fetchall()
        times.append((time.perf_counter() - t) * 1000)
    return {"median_ms": round(statistics.median(times), 1), "min_ms": round(min(times), 1)}, rows


def sizes(argv, default=(10_000, 100_000, 1_000_000)):
    return [int(a) for a in argv] or list(default)
