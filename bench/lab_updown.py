"""Benchmark: lab hosts up and down, N hosts, hosts only (sshd reachable).

    .venv/bin/python bench/lab_updown.py 10 50

Uses a scratch lab state folder and its own ports, so the main lab is untouched.
"""
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def once(n, rounds=3):
    scratch = REPO / "var" / f"bench-lab-{n}"
    env = dict(os.environ, REMEDIES_LAB_DIR=str(scratch / "lab"), REMEDIES_LAB_SSH_PORT_BASE="3001",
               REMEDIES_LAB_INVENTORY=str(scratch / "inventory"))
    ups, downs = [], []
    for _ in range(rounds):
        shutil.rmtree(scratch, ignore_errors=True)  # cold: keys and dirs made anew
        t = time.monotonic()
        subprocess.run([sys.executable, "-m", "lab", "up", "--hosts-only", "--size", str(n)], cwd=REPO, env=env,
                       check=True, capture_output=True)
        ups.append(time.monotonic() - t)
        t = time.monotonic()
        subprocess.run([sys.executable, "-m", "lab", "down"], cwd=REPO, env=env, check=True, capture_output=True)
        downs.append(time.monotonic() - t)
    shutil.rmtree(scratch, ignore_errors=True)
    return {"hosts": n, "up_s": sorted(ups)[len(ups) // 2], "down_s": sorted(downs)[len(downs) // 2],
            "up_all": [round(x, 2) for x in ups], "down_all": [round(x, 2) for x in downs]}


if __name__ == "__main__":
    print(json.dumps([once(int(n)) for n in sys.argv[1:] or ["10", "50"]], indent=1))
