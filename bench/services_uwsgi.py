"""Benchmark S19 against the running lab (python -m lab up first):

  detection  wall time of `inv seattleflu.musher-workers` (SSH, stats socket,
             /proc sampling) finding N blocked threads, per sampling window
  reload     from SIGHUP to every worker replaced and idle (stats socket
             polled every 0.1 s), with and without blocked threads

    .venv/bin/python bench/services_uwsgi.py [rounds]
Prints JSON. Not run in CI.
"""
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from lab import hosts, seattleflu  # noqa: E402

HOST = "backoffice"


def inv(*args):
    res = subprocess.run([str(REPO / ".venv" / "bin" / "inv"), *args], cwd=REPO, capture_output=True, text=True)
    return res.returncode, json.loads(res.stdout) if res.stdout.strip() else None


def stuck_found(doc):
    return sum(r.get("data", {}).get("stuck_threads", 0) for r in doc.get("results", [])) or sum(
        "<unfinished ...>" in line for r in doc.get("results", []) for line in r.get("report", []))


def detection(sample, threads, rounds):
    times, found = [], []
    for _ in range(rounds):
        seattleflu.stuck_musher(threads=threads)
        time.sleep(5.5)  # past the 5 s a request must be in flight to count as stuck
        t = time.monotonic()
        code, doc = inv("seattleflu.musher-workers", "--sample", str(sample), "--json")
        times.append(time.monotonic() - t)
        found.append(stuck_found(doc))
    return {"sample_seconds": sample, "blocked_threads": threads, "found": found,
            "seconds_median": round(statistics.median(times), 2), "seconds_max": round(max(times), 2)}


def reload_to_healthy(threads, rounds):
    times = []
    for _ in range(rounds):
        if threads:
            seattleflu.stuck_musher(threads=threads)
        else:
            hosts.nsenter(HOST, ["service", "uwsgi@husky-musher", "restart"], check=True, capture_output=True)
            time.sleep(1)
        old = {w["pid"] for w in seattleflu.musher_stats(HOST)["workers"]}
        t = time.monotonic()
        hosts.nsenter(HOST, ["service", "uwsgi@husky-musher", "reload"], check=True, capture_output=True)
        while True:
            try:
                workers = seattleflu.musher_stats(HOST)["workers"]
            except (subprocess.CalledProcessError, ValueError):
                workers = []
            if len(workers) == 3 and not {w["pid"] for w in workers} & old and all(
                    not any(c["in_request"] for c in w["cores"]) for w in workers):
                break
            time.sleep(0.1)
        times.append(time.monotonic() - t)
    return {"blocked_threads": threads, "worker_reload_mercy_s": seattleflu.MUSHER_MERCY,
            "seconds_median": round(statistics.median(times), 2), "seconds_max": round(max(times), 2)}


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    out = {"detection": [detection(s, 2, rounds) for s in (1, 3)] + [detection(3, 8, rounds)],
           "reload_to_healthy": [reload_to_healthy(0, rounds), reload_to_healthy(2, rounds)]}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
