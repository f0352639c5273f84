"""Lab stand-in for husky-musher, served by a real uWSGI (master, 3 processes
x 4 threads). Deployed as /opt/husky-musher/app.py on the backoffice host.

  GET /            the app's landing page (200)
  GET /health      {"status": "ok", "pid": ...}
  GET /lab/block   lab only: the thread blocks in read() on a pipe that
                   nobody writes to, the way husky-musher's threads hung on
                   an upstream socket (strace shows `read(N, <unfinished ...>`)
"""
import json
import os

FIFO = "/run/husky-musher/block.fifo"


def application(env, start_response):
    path = env.get("PATH_INFO", "/")
    if path == "/lab/block":
        if not os.path.exists(FIFO):
            try:
                os.mkfifo(FIFO, 0o600)
            except FileExistsError:
                pass
        fd = os.open(FIFO, os.O_RDWR)  # O_RDWR: open does not block, read() does
        os.read(fd, 1)
    body = {"status": "ok", "pid": os.getpid()} if path == "/health" else {"app": "husky-musher"}
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(body).encode()]
