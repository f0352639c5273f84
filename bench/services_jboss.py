"""Benchmark B1 against the running lab (python -m lab up first): a forced
rolling restart of JBoss over accounting-worker1..3 where worker2's stop hangs
at "stopping hornetq" (killed with -9 after --stop-timeout), end to end through
`inv backbeat.restart-jboss` (plan, then apply), and without the hang.

    .venv/bin/python bench/services_jboss.py [rounds]
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

from lab import backbeat  # noqa: E402


def rolling(hang, stop_timeout, rounds):
    times = []
    for _ in range(rounds):
        if hang:
            backbeat.hung_jboss_stop()
        else:
            backbeat._fresh(backbeat.workers())
        t = time.monotonic()
        res = subprocess.run([str(REPO / ".venv" / "bin" / "inv"), "backbeat.restart-jboss", "--force",
                              "--stop-timeout", str(stop_timeout), "--yes", "--json"], cwd=REPO,
                             capture_output=True, text=True)
        times.append(time.monotonic() - t)
        assert res.returncode == 2, res.stderr[-2000:]
    return {"hung_stop": hang, "stop_timeout_s": stop_timeout, "hosts": 3,
            "seconds_median": round(statistics.median(times), 1), "seconds_max": round(max(times), 1)}


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    print(json.dumps([rolling(False, 5, rounds), rolling(True, 5, rounds), rolling(True, 15, rounds)], indent=1))


if __name__ == "__main__":
    main()
