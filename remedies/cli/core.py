"""Across systems: the catalog, undo (X3) and the audit log (X2)."""
import json as jsonlib
import re
import sys
from pathlib import Path

from invoke import task

from remedies import runner
from remedies.catalog import load_catalog, render_catalog
from remedies.cli.common import HELP, helps, plan_then_apply

REPO = Path(__file__).resolve().parents[2]


@task(help={"json": HELP["json"], "system": "only this system (permanent, dryad, ...)"})
def catalog(c, system=None, json=False):
    """List every runbook problem remedies handles, grouped by system."""
    entries = [e for e in load_catalog() if not system or e["system"] == system]
    if json:
        print(jsonlib.dumps(entries, indent=1))
    else:
        print(render_catalog(entries))


@task(help=helps("json", "inventory", "yes", change_id="the change id printed by the change (see `inv audit`)",
                force="restore even rows edited since the change (their current values are archived first)"))
def undo(c, change_id, force=False, yes=False, json=False, inventory=None):
    """X3: undo an archived change: plan the restore, confirm, restore (itself undoable)."""
    if not re.fullmatch(r"[0-9A-Za-z-]{1,80}", change_id):
        runner.finish(runner.FAILED, as_json=json, message=f"not a change id: {change_id!r}")
    _, run = plan_then_apply(c, "undo.yml", {"remedies_change_id": change_id, "remedies_undo_force": force},
                             json, None, inventory, yes)
    runner.finish(run, as_json=json)


def _rows(record):
    """'rows planned/changed' for SQL actions, nothing for the others."""
    planned, changed = record.get("rows_planned"), record.get("rows_changed")
    if planned is None and changed is None:
        return ""
    return f"rows {'-' if planned is None else planned}/{'-' if changed is None else changed}"


@task(help={"lines": "how many of the latest records (default 20)", "json": HELP["json"]})
def audit(c, lines=20, json=False):
    """X2: show the latest audit records: who did what, when, to how many rows, and the outcome."""
    path = Path(c.config.get("remedies", {}).get("state_dir") or REPO / "var") / "audit.jsonl"
    records = []
    if path.exists():
        records = [jsonlib.loads(line) for line in path.read_text().splitlines()[-int(lines):] if line.strip()]
    if json:
        print(jsonlib.dumps(records, indent=1))
        return
    for r in records:
        print(f"{r.get('ts', '?')}  {r.get('who', '?'):<14} {r.get('catalog_id') or '-':<4} "
              f"{r.get('outcome', '?'):<13} {r.get('action', '')} "
              f"{_rows(r)} {r.get('change_id') or ''}")
    if not records:
        print(f"no audit records in {path}", file=sys.stderr)
