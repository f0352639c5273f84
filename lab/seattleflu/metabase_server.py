#!/usr/bin/env python3
"""Lab stand-in for the Metabase container: answers /api/health like Metabase
({"status": "ok"}). The fault file /opt/metabase/faults/hang wedges it (a
JVM out of memory): the next request takes the file away, and from then on
this process accepts connections and never replies. A restart clears it."""
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FAULT = "/opt/metabase/faults/hang"


WEDGED = []


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if not WEDGED and os.path.exists(FAULT):
            os.unlink(FAULT)
            WEDGED.append(time.time())
            print(time.strftime("%Y-%m-%d %H:%M:%S"), "ERROR java.lang.OutOfMemoryError: Java heap space", flush=True)
        if WEDGED:
            time.sleep(3600)
            return
        code, doc = (200, {"status": "ok"}) if self.path == "/api/health" else (404, {"error": "not found"})
        body = json.dumps(doc).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        print(time.strftime("%Y-%m-%d %H:%M:%S"), fmt % args, flush=True)


if __name__ == "__main__":
    port = int(sys.argv[1])
    print(time.strftime("%Y-%m-%d %H:%M:%S"), f"INFO metabase.core :: Metabase Initialization COMPLETE on {port}",
          flush=True)
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()
