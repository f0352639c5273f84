"""Helpers for the services tests (Seattle Flu backoffice, Backbeat) against the lab."""
import hashlib
import json
import urllib.request

import yaml

from labtools import REPO, on_host


def lab_vars():
    return yaml.safe_load((REPO / "inventories" / "lab" / "group_vars" / "all.yml").read_text())


def http(port, path, timeout=3):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return None, ""


def sh(host, command):
    res = on_host(host, command)
    assert res.returncode == 0, f"{host}: {command}: {res.stderr}"
    return res.stdout


def sha(host, path):
    return sh(host, f"sha256sum {path} | cut -d' ' -f1").strip()


def results(doc, task_suffix, host=None):
    return [r for r in (doc or {}).get("results", []) if r["task"].endswith(task_suffix)
            and (host is None or r["host"] == host)]


def audit(state_dir):
    f = state_dir / "audit.jsonl"
    return [json.loads(line) for line in f.read_text().splitlines()] if f.exists() else []


def digest(text):
    return hashlib.sha256(text.encode()).hexdigest()
