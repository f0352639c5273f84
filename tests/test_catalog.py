"""catalog/*.yml names only tasks and playbooks that exist, by valid catalog ids."""
import re
from pathlib import Path

import pytest

from remedies.catalog import FIELDS, FIX_KINDS, load_catalog

REPO = Path(__file__).resolve().parents[1]
IDS = set(re.findall(r"^- ([A-Z]+\d+):", (REPO.parent / "shared" / "reference" / "catalog-ids.md").read_text(),
                     re.M)) if (REPO.parent / "shared").exists() else None


def task_names():
    import tasks
    names = set()

    def walk(coll, prefix=""):
        for name in coll.tasks:
            names.add(prefix + name)
        for sub, child in coll.collections.items():
            walk(child, prefix + sub + ".")
    walk(tasks.ns)
    return names


ENTRIES = load_catalog()


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["id"] for e in ENTRIES])
def test_entry_points_exist(entry):
    names = task_names()
    assert set(FIELDS) <= set(entry), f"{entry['id']} lacks {set(FIELDS) - set(entry)}"
    assert entry["fix_kind"] in FIX_KINDS
    assert 1 <= entry["severity"] <= 5
    points = [entry[k] for k in ("diagnose", "fix", "also") if entry.get(k)]
    assert points, f"{entry['id']} has no entry point"
    for point in points:
        assert point["task"] in names, f"{entry['id']}: no task `inv {point['task']}`"
        if point.get("playbook"):
            assert (REPO / "playbooks" / point["playbook"]).is_file(), f"{entry['id']}: no {point['playbook']}"


def test_ids_are_the_reference_ids_and_unique():
    ids = [e["id"] for e in ENTRIES]
    assert len(ids) == len(set(ids))
    if IDS is not None:
        assert set(ids) <= IDS, set(ids) - IDS


def test_a_missing_task_is_caught(tmp_path):
    broken = tmp_path / "catalog.yml"
    broken.write_text("entries:\n  - {id: P1, system: permanent, symptom: s, severity: 2, fix_kind: read-only,\n"
                      "     diagnose: {task: permanent.no-such-task, playbook: nope.yml}, fix: null}\n")
    entry = load_catalog(broken)[0]
    with pytest.raises(AssertionError):
        test_entry_points_exist(entry)


def test_inv_list_and_catalog_show_the_entries():
    import subprocess
    import sys
    out = subprocess.run([str(Path(sys.executable).parent / "inv"), "catalog"], cwd=REPO, capture_output=True,
                         text=True, check=True).stdout
    for e in ENTRIES:
        assert e["id"] in out
    assert out.index("permanent") < out.index("P1")
