#!/usr/bin/env python3
"""Lab stand-in for the Metabase container: answers /api/health like Metabase
({"status": "ok"}). The fault file /opt/metabase/faults/hang makes it stop
answering (a wedged JVM): connections are accepted and never replied to."""
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FAULT = "/opt/metabase/faults/hang"


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if os.path.exists(FAULT):
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
