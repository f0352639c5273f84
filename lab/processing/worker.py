"""Lab worker ("container") of the distributed processing queue.

Deployed as /opt/processing/worker.py on the processing-worker hosts and run
by /etc/init.d/processing-worker as nobody. Each loop it:

  claim    one transaction: the oldest `batch_size` pending records, locked
           with FOR UPDATE SKIP LOCKED, set to processing and stamped with
           this worker's flow_name and flow_instance_id (host-pid). The claim
           runs under lock_timeout = claim_lock_timeout_ms; a claim that waits
           longer on someone else's lock fails and is counted.
  process  each record: sleep payload.work_ms (default work_ms); a payload
           with "fail" fails with that error message.
  finish   completed records get completed_at and a processed_surveys row in
           the same transaction; failed ones retry_count + 1 and error_message.
           Both only touch rows still processing under this flow_instance_id.
  log      one flow_execution_logs row per batch (claim_ms, lock timeouts)
           and a heartbeat line on stdout (the .out.log), so a log that stops
           growing means no progress.

SIGTERM: finish the record in hand, hand the rest of the batch back to
pending, exit 0. SIGKILL leaves the batch orphaned in processing, which is
what the runbook's orphaned-record cleanup is for.

/opt/processing/batch_size, when present, overrides batch_size (the reduced
capacity of a gradual restart).
"""
import json
import os
import signal
import socket
import sys
import time

import psycopg2
import psycopg2.errors

CONFIG = json.load(open(sys.argv[1] if len(sys.argv) > 1 else "/opt/processing/worker.json"))
HOME = os.path.dirname(os.path.abspath(__file__))
INSTANCE = f"{socket.gethostname()}-{os.getpid()}"
STOP = False


def log(*parts):
    print(time.strftime("%Y-%m-%dT%H:%M:%S"), INSTANCE, *parts, flush=True)


def err(*parts):
    print(time.strftime("%Y-%m-%dT%H:%M:%S"), INSTANCE, *parts, file=sys.stderr, flush=True)


def on_term(*_):
    global STOP
    STOP = True


def connect():
    c = CONFIG["db"]
    conn = psycopg2.connect(host=c["host"], port=c["port"], user=c["user"], password=c["password"],
                            dbname=c["database"], connect_timeout=5,
                            application_name=f"processing-worker {INSTANCE}")
    conn.autocommit = False
    return conn


def batch_size():
    try:
        with open(os.path.join(HOME, "batch_size")) as f:
            return max(1, int(f.read().strip()))
    except (OSError, ValueError):
        return int(CONFIG["batch_size"])


CLAIM = """
UPDATE processing_queue q
SET status = 'processing', flow_name = %(flow)s, flow_instance_id = %(me)s,
    claimed_at = now(), updated_at = now(), completed_at = NULL
WHERE q.id IN (
    SELECT id FROM processing_queue
    WHERE status = 'pending'
    ORDER BY created_at, id
    LIMIT %(n)s
    FOR UPDATE SKIP LOCKED)
RETURNING q.id, q.payload
"""


def claim(conn, n):
    """Returns (rows, claim_ms, lock_timed_out)."""
    started = time.monotonic()
    with conn.cursor() as cur:
        try:
            cur.execute("SET LOCAL lock_timeout = %s", (f"{int(CONFIG['claim_lock_timeout_ms'])}ms",))
            cur.execute(CLAIM, {"flow": CONFIG["flow_name"], "me": INSTANCE, "n": n})
            rows = cur.fetchall()
            conn.commit()
            return sorted(rows), (time.monotonic() - started) * 1000.0, False
        except psycopg2.errors.LockNotAvailable:
            conn.rollback()
            return [], (time.monotonic() - started) * 1000.0, True


def finish(conn, done, failed):
    with conn.cursor() as cur:
        cur.execute("SET LOCAL lock_timeout = '5s'")
        if done:
            cur.execute("UPDATE processing_queue SET status = 'completed', completed_at = now(), updated_at = now(), "
                        "error_message = NULL WHERE id = ANY(%s) AND status = 'processing' "
                        "AND flow_instance_id = %s RETURNING id", (done, INSTANCE))
            mine = [r[0] for r in cur.fetchall()]
            if mine:
                cur.execute("INSERT INTO processed_surveys (queue_id, flow_name, flow_instance_id) "
                            "SELECT unnest(%s::bigint[]), %s, %s", (mine, CONFIG["flow_name"], INSTANCE))
        for record_id, message in failed:
            cur.execute("UPDATE processing_queue SET status = 'failed', retry_count = retry_count + 1, "
                        "error_message = %s, updated_at = now() WHERE id = %s AND status = 'processing' "
                        "AND flow_instance_id = %s", (message, record_id, INSTANCE))
    conn.commit()


def release(conn, ids):
    """Hand claimed-but-unprocessed records back (graceful stop)."""
    if not ids:
        return
    with conn.cursor() as cur:
        cur.execute("UPDATE processing_queue SET status = 'pending', flow_instance_id = NULL, claimed_at = NULL, "
                    "updated_at = now() WHERE id = ANY(%s) AND status = 'processing' AND flow_instance_id = %s",
                    (ids, INSTANCE))
    conn.commit()


def record_batch(conn, started, claimed, completed, failed, claim_ms, timeouts):
    with conn.cursor() as cur:
        cur.execute("INSERT INTO flow_execution_logs (flow_name, flow_instance_id, started_at, finished_at, claimed, "
                    "completed, failed, claim_ms, claim_lock_timeouts) "
                    "VALUES (%s, %s, to_timestamp(%s), now(), %s, %s, %s, %s, %s)",
                    (CONFIG["flow_name"], INSTANCE, started, claimed, completed, failed, claim_ms, timeouts))
    conn.commit()


def run():
    signal.signal(signal.SIGTERM, on_term)
    log("started", f"flow={CONFIG['flow_name']}", f"batch_size={batch_size()}")
    conn, last_beat, totals = None, 0.0, {"claimed": 0, "completed": 0, "failed": 0, "lock_timeouts": 0}
    while not STOP:
        try:
            if conn is None or conn.closed:
                conn = connect()
            started = time.time()
            rows, claim_ms, timed_out = claim(conn, batch_size())
            done, failed, left = [], [], [r[0] for r in rows]
            for record_id, payload in rows:
                if STOP:
                    break
                payload = payload or {}
                time.sleep(float(payload.get("work_ms", CONFIG["work_ms"])) / 1000.0)
                left.remove(record_id)
                if payload.get("fail"):
                    failed.append((record_id, str(payload["fail"])))
                else:
                    done.append(record_id)
            finish(conn, done, failed)
            release(conn, left)
            if rows or timed_out:
                record_batch(conn, started, len(rows), len(done), len(failed), claim_ms, int(timed_out))
            totals["claimed"] += len(rows)
            totals["completed"] += len(done)
            totals["failed"] += len(failed)
            totals["lock_timeouts"] += int(timed_out)
            if timed_out:
                err(f"claim waited more than {CONFIG['claim_lock_timeout_ms']} ms on a lock")
            if time.monotonic() - last_beat >= CONFIG["heartbeat_s"] or rows:
                log("heartbeat", json.dumps(totals, sort_keys=True))
                last_beat = time.monotonic()
            if not rows:
                time.sleep(CONFIG["idle_s"])
        except psycopg2.Error as exc:
            err("database error:", type(exc).__name__, str(exc).strip().splitlines()[0] if str(exc).strip() else "")
            try:
                if conn is not None:
                    conn.close()
            except psycopg2.Error:
                pass
            conn = None
            time.sleep(1)
    log("stopped on SIGTERM", json.dumps(totals, sort_keys=True))


if __name__ == "__main__":
    run()
