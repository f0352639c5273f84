#!/usr/bin/env python3
"""Lab stand-in for scan-switchboard's datasette over data/sfs-redcap.sqlite.

  GET /-/health.json                 {"ok": true, "records": N, "built": <mtime>}
  GET /sfs-redcap/barcode/<barcode>  the records with that barcode, or 404
The database is opened per request, so a rebuilt file is served at once."""
import json
import os
import sqlite3
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DB = "data/sfs-redcap.sqlite"


class Handler(BaseHTTPRequestHandler):
    def reply(self, code, doc):
        body = json.dumps(doc).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        try:
            db = sqlite3.connect(f"file:{DB}?mode=ro", uri=True)
        except sqlite3.Error as exc:
            return self.reply(503, {"ok": False, "error": str(exc)})
        try:
            if self.path == "/-/health.json":
                n = db.execute("SELECT COUNT(*) FROM record_barcodes").fetchone()[0]
                return self.reply(200, {"ok": True, "records": n, "built": os.stat(DB).st_mtime})
            if self.path.startswith("/sfs-redcap/barcode/"):
                code = self.path.rsplit("/", 1)[-1].lower()
                rows = db.execute("SELECT record_id, project, barcode FROM record_barcodes WHERE barcode = ?",
                                  (code,)).fetchall()
                if not rows:
                    return self.reply(404, {"barcode": code, "records": []})
                return self.reply(200, {"barcode": code, "records": [
                    {"record_id": r[0], "project": r[1], "barcode": r[2]} for r in rows]})
            return self.reply(404, {"error": "not found"})
        except sqlite3.Error as exc:
            return self.reply(503, {"ok": False, "error": str(exc)})
        finally:
            db.close()

    def log_message(self, fmt, *args):
        print(self.address_string(), fmt % args, flush=True)


if __name__ == "__main__":
    port = int(sys.argv[1])
    print(f"scan-switchboard serving {DB} on 127.0.0.1:{port}", flush=True)
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
