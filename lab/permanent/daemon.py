"""Lab stand-in for Permanent's `php /data/www/daemon/index.php <name>`.

Deployed as /data/www/daemon/index.py on lab hosts and run by the init
scripts as www-data. It does the pipeline's real work against the lab's
MariaDB `perm.record` table and SQS (moto):

  process  uploaded -> needs_processing, writes a queue file; re-submits
           needs_processing records nobody picked up (the hourly cron's job)
  sqs      queue folder -> SQS (high-priority or normal queue)
  queue    SQS (high priority first) -> task child: processing -> ok, or
           needs_converting for videos
  video    needs_converting -> converting -> ok

Every loop writes a heartbeat line to stdout (the .out.log), so a log that
stops growing means no progress. A fault file /data/www/daemon/faults/<name>
makes the daemon misbehave once read: `hang` (stop making progress; queue's
tasks block too), `die` (exit, leaving the pid file), `ignore-term`.
"""
import json
import os
import random
import signal
import subprocess
import sys
import time

HOME = os.path.dirname(os.path.abspath(__file__))
CONFIG = json.load(open(os.path.join(HOME, "config.json")))
FAULTS = os.path.join(HOME, "faults")
PROC = "status.record.processing"
NEEDS_PROC = "status.record.needs_processing"


def log(*parts):
    print(time.strftime("%Y-%m-%dT%H:%M:%S"), *parts, flush=True)


def err(*parts):
    print(time.strftime("%Y-%m-%dT%H:%M:%S"), *parts, file=sys.stderr, flush=True)


def db():
    import pymysql
    c = CONFIG["db"]
    return pymysql.connect(host=c["host"], port=c["port"], user=c["user"], password=c["password"],
                           database=c["database"], autocommit=False, connect_timeout=5)


def sqs():
    import boto3
    return boto3.client("sqs", endpoint_url=CONFIG["sqs"]["endpoint"], region_name="us-west-2",
                        aws_access_key_id="lab", aws_secret_access_key="lab")


def hang_forever():
    while True:
        signal.pause()


class Daemon:
    name = "?"

    def __init__(self):
        self.started = time.time()
        self.ticks = 0
        self.done = 0
        self.ignore_term = False
        self.last_beat = 0.0
        signal.signal(signal.SIGTERM, self.on_term)

    def on_term(self, *_):
        if self.ignore_term:
            err("SIGTERM ignored")
            return
        self.shutdown()
        log("stopped on SIGTERM")
        sys.exit(0)

    def shutdown(self):
        pass

    def read_fault(self):
        path = os.path.join(FAULTS, self.name)
        try:
            stale = os.stat(path).st_mtime < self.started  # meant for an earlier process
            fault = open(path).read().strip()
            os.unlink(path)
        except FileNotFoundError:
            return
        if stale:
            err(f"ignored fault {fault!r} left for an earlier process")
            return
        err(f"fault injected: {fault}")
        if fault == "die":
            os._exit(3)
        if fault == "ignore-term":
            self.ignore_term = True
        if fault == "hang":
            self.hang()

    def hang(self):
        hang_forever()

    def run(self):
        log(f"{self.name}-daemon started pid={os.getpid()}")
        while True:
            self.read_fault()
            try:
                self.done += self.tick()
            except Exception as exc:  # a lost DB or SQS connection must not kill the daemon
                err(f"tick failed: {type(exc).__name__}: {exc}")
                time.sleep(1)
            self.ticks += 1
            now = time.monotonic()
            if now - self.last_beat >= CONFIG.get("heartbeat_s", 2):
                log(f"heartbeat ticks={self.ticks} done={self.done}")
                self.last_beat = now
            time.sleep(CONFIG.get("tick_s", 0.5))


class ProcessDaemon(Daemon):
    name = "process"

    def tick(self):
        conn = db()
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT recordId, size FROM record WHERE status = 'status.record.uploaded' "
                            "ORDER BY recordId LIMIT 50 FOR UPDATE SKIP LOCKED")
                fresh = cur.fetchall()
                cur.execute("SELECT recordId, size FROM record WHERE status = %s AND updatedDT < NOW() - "
                            "INTERVAL %s SECOND ORDER BY recordId LIMIT 20 FOR UPDATE SKIP LOCKED",
                            (NEEDS_PROC, CONFIG["resubmit_after_s"]))
                stale = cur.fetchall()
                for record_id, size in fresh + stale:
                    self.enqueue(record_id, size)
                ids = [r[0] for r in fresh + stale]
                if ids:
                    cur.execute("UPDATE record SET status = %s, updatedDT = NOW() WHERE recordId IN %s",
                                (NEEDS_PROC, ids))
            conn.commit()
        finally:
            conn.close()
        if stale:
            log(f"re-submitted {len(stale)} unprocessed records")
        return len(fresh) + len(stale)

    def enqueue(self, record_id, size):
        priority = "high" if (size or 0) < CONFIG["high_priority_below_bytes"] else "normal"
        body = json.dumps({"task": "process", "recordId": record_id, "priority": priority})
        tmp = os.path.join(CONFIG["queue_dir"], f".{record_id}.{time.time_ns()}.tmp")
        with open(tmp, "w") as f:
            f.write(body)
        os.rename(tmp, tmp.replace("/.", "/", 1).replace(".tmp", ".json"))


class SqsDaemon(Daemon):
    name = "sqs"

    def __init__(self):
        super().__init__()
        self.client = sqs()

    def tick(self):
        qdir = CONFIG["queue_dir"]
        names = sorted(n for n in os.listdir(qdir) if n.endswith(".json"))[:50]
        for n in names:
            path = os.path.join(qdir, n)
            body = open(path).read()
            url = CONFIG["sqs"]["high_priority_url" if json.loads(body)["priority"] == "high" else "normal_url"]
            self.client.send_message(QueueUrl=url, MessageBody=body)
            os.unlink(path)
        return len(names)


class QueueDaemon(Daemon):
    name = "queue"

    def __init__(self):
        super().__init__()
        self.client = sqs()
        self.tasks = {}  # pid -> (Popen, recordId, queue url, receipt handle)
        self.hang_tasks = False

    def hang(self):
        # Tasks that start now block without progress, and the loop stops
        # taking messages after handing out one more batch: "stuck".
        self.hang_tasks = True
        deadline = time.monotonic() + 30
        while not self.take_messages() and time.monotonic() < deadline:
            time.sleep(0.2)
        hang_forever()

    def shutdown(self):
        for proc, record_id, _, _ in self.tasks.values():
            if proc.poll() is None:
                proc.terminate()
                err(f"FAILED process recordId={record_id}: task aborted by SIGTERM")
        for proc, _, _, _ in self.tasks.values():
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()

    def reap(self):
        finished = 0
        for pid, (proc, record_id, url, receipt) in list(self.tasks.items()):
            rc = proc.poll()
            if rc is None:
                continue
            del self.tasks[pid]
            if rc >= 0:  # finished or failed cleanly: the message is done with
                self.client.delete_message(QueueUrl=url, ReceiptHandle=receipt)
            if rc == 0:
                finished += 1
            else:
                err(f"FAILED process recordId={record_id}: task exited {rc}")
        return finished

    def take_messages(self):
        free = CONFIG["max_tasks"] - (0 if self.hang_tasks else len(self.tasks))
        taken = 0
        for url in (CONFIG["sqs"]["high_priority_url"], CONFIG["sqs"]["normal_url"]):
            if free <= 0:
                break
            resp = self.client.receive_message(QueueUrl=url, MaxNumberOfMessages=min(free, 10),
                                               WaitTimeSeconds=0, VisibilityTimeout=120)
            for msg in resp.get("Messages", []):
                record_id = json.loads(msg["Body"])["recordId"]
                argv = [sys.executable, os.path.abspath(__file__), "task", str(record_id)] + \
                    (["--hang"] if self.hang_tasks else [])
                proc = subprocess.Popen(argv)
                self.tasks[proc.pid] = (proc, record_id, url, msg["ReceiptHandle"])
                free -= 1
                taken += 1
        return taken

    def tick(self):
        finished = self.reap()
        self.take_messages()
        return finished


class VideoDaemon(Daemon):
    name = "video"

    def tick(self):
        conn = db()
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT recordId FROM record WHERE status = 'status.record.needs_converting' "
                            "ORDER BY recordId LIMIT 1 FOR UPDATE SKIP LOCKED")
                row = cur.fetchone()
                if not row:
                    conn.rollback()
                    return 0
                cur.execute("UPDATE record SET status = 'status.record.converting', updatedDT = NOW() "
                            "WHERE recordId = %s", row)
                conn.commit()
                time.sleep(CONFIG["convert_s"])
                cur.execute("UPDATE record SET status = 'status.generic.ok', processedDT = NOW(), "
                            "updatedDT = NOW() WHERE recordId = %s", row)
                conn.commit()
                return 1
        finally:
            conn.close()


def run_task(record_id, hang):
    """One task-runner task: process one record. The parent deletes the
    message when the task exits; a killed task leaves it to reappear."""
    conn = db()
    with conn.cursor() as cur:
        cur.execute("UPDATE record SET status = %s, updatedDT = NOW() WHERE recordId = %s AND status = %s",
                    (PROC, record_id, NEEDS_PROC))
        claimed = cur.rowcount == 1
        conn.commit()
        if claimed and hang:
            conn.close()
            sys.stdin.close()
            hang_forever()  # stuck: holds the record in processing, makes no progress
        if claimed:
            cur.execute("SELECT type, uploadFileName FROM record WHERE recordId = %s", (record_id,))
            rtype, filename = cur.fetchone()
            low, high = CONFIG["task_s"]
            time.sleep(random.uniform(low, high))
            if (filename or "").endswith(".corrupt"):
                cur.execute("UPDATE record SET status = %s, updatedDT = NOW() WHERE recordId = %s",
                            (NEEDS_PROC, record_id))
                conn.commit()
                err(f"FAILED process recordId={record_id}: cannot read {filename}")
                return 1
            done = "status.record.needs_converting" if rtype == "type.record.video" else "status.generic.ok"
            cur.execute("UPDATE record SET status = %s, processedDT = NOW(), updatedDT = NOW() "
                        "WHERE recordId = %s", (done, record_id))
            conn.commit()
    conn.close()
    return 0  # also for a duplicate message: the record was handled already


DAEMONS = {d.name: d for d in (ProcessDaemon, SqsDaemon, QueueDaemon, VideoDaemon)}

if __name__ == "__main__":
    if sys.argv[1] == "task":
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        sys.exit(run_task(int(sys.argv[2]), "--hang" in sys.argv))
    DAEMONS[sys.argv[1]]().run()
