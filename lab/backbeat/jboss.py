#!/usr/bin/env python3
"""Lab stand-in for JBoss running Backbeat (jruby/grape) on accounting-worker*.

Writes /var/groupon/jboss/accounting/logs/server.log the way JBoss does, and
serves Backbeat's /health and /heartbeat.txt (200 while
public/heartbeat.txt exists, else 503). On SIGTERM it stops HornetQ and then
JBoss, logging each. Fault files in /var/groupon/jboss/accounting/faults/:
  hang-on-stop  after logging "stopping hornetq" it hangs and ignores TERM
  fail-start    it dies during start, before "started"
  wedge         the next request takes the file away, and from then on this
                process never answers (a wedged JVM); a restart clears it
"""
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOME = "/var/groupon/jboss/accounting"
LOG = f"{HOME}/logs/server.log"
FAULTS = f"{HOME}/faults"
HEARTBEAT = "/var/groupon/backbeat/current/public/heartbeat.txt"
VERSION = 'JBoss AS 7.1.1.Final "Brontes"'


def log(level, category, msg):
    with open(LOG, "a") as f:
        f.write(f"{time.strftime('%H:%M:%S')},{int(time.time() * 1000) % 1000:03d} {level:<5} [{category}] "
                f"(MSC service thread 1-{os.getpid() % 4 + 1}) {msg}\n")


def fault(name):
    return os.path.exists(os.path.join(FAULTS, name))


WEDGED = []


class Handler(BaseHTTPRequestHandler):
    def reply(self, code, body, ctype="application/json"):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if not WEDGED and fault("wedge"):
            os.unlink(os.path.join(FAULTS, "wedge"))
            WEDGED.append(time.time())
            log("ERROR", "org.jboss.as.web", "java.lang.OutOfMemoryError: GC overhead limit exceeded")
        if WEDGED:
            time.sleep(3600)
            return
        if self.path == "/health":
            return self.reply(200, json.dumps({"status": "OK"}))
        if self.path == "/heartbeat.txt":
            if os.path.exists(HEARTBEAT):
                return self.reply(200, open(HEARTBEAT).read(), "text/plain")
            return self.reply(503, "heartbeat.txt missing\n", "text/plain")
        return self.reply(404, json.dumps({"error": "not found"}))

    def log_message(self, fmt, *args):
        pass


def main():
    port = int(sys.argv[1])
    started = time.monotonic()
    log("INFO", "org.jboss.as", f"JBAS015899: {VERSION} starting")
    log("INFO", "org.hornetq.core.server.impl.HornetQServerImpl", "live server is starting with configuration HornetQ")
    time.sleep(0.8)
    if fault("fail-start"):
        log("ERROR", "org.jboss.as.controller.management-operation",
            'JBAS014612: Operation ("add") failed - address: ([("subsystem" => "messaging")])')
        log("ERROR", "org.jboss.as", f"JBAS015875: {VERSION} started (with errors); backbeat.war not deployed")
        sys.exit(1)
    log("INFO", "org.hornetq.core.server.impl.HornetQServerImpl", "HornetQ Server version 2.2.13.Final started")
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    log("INFO", "org.jboss.as.server", 'JBAS018559: Deployed "backbeat.war"')
    log("INFO", "org.jboss.as", f"JBAS015874: {VERSION} started in {int((time.monotonic() - started) * 1000)}ms")

    def on_term(*_):
        log("INFO", "org.jboss.as", f"JBAS015950: {VERSION} stopping")
        log("INFO", "org.hornetq.core.server.impl.HornetQServerImpl", "stopping hornetq server")
        if fault("hang-on-stop"):
            # The runbook's hang: HornetQ never finishes stopping, and TERM is ignored from now on.
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            while True:
                time.sleep(3600)
        time.sleep(0.3)
        log("INFO", "org.hornetq.core.server.impl.HornetQServerImpl", "HornetQ Server version 2.2.13.Final stopped")
        log("INFO", "org.jboss.as", f"JBAS015950: {VERSION} stopped in 312ms")
        os._exit(0)

    signal.signal(signal.SIGTERM, on_term)
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
