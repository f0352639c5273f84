"""The Permanent runbook end to end: a real stuck-uploads incident in the lab,
diagnosed and fixed through `inv`, with plan, guards, archive, audit and undo."""
import json

import pytest

from labtools import daemon_pid, inv, lab, query

STUCK = ("SELECT recordId, status, updatedDT FROM record WHERE status = 'status.record.processing' "
         "AND updatedDT < NOW() - INTERVAL 30 MINUTE ORDER BY recordId")


def statuses(conn, ids):
    if not ids:
        return {}
    rows = query(conn, "SELECT recordId, status, updatedDT FROM record WHERE recordId IN %s", (list(ids),))
    return {r[0]: (r[1], r[2]) for r in rows}


@pytest.fixture(scope="module")
def incident(lab_up):
    """One stuck-uploads incident shared by the guard tests (they leave it as they found it)."""
    return lab("incident", "stuck-uploads")


def archives(state_dir):
    d = state_dir / "archive"
    return sorted(d.glob("*.json")) if d.exists() else []


def test_plan_changes_nothing(incident, perm_db, state_dir):
    before = query(perm_db, STUCK)
    assert len(before) >= incident["orphans"]
    code, doc, err = inv("permanent.requeue-stuck", "--json", state_dir=state_dir)
    assert code == 2, err  # there is something to change
    plans = [r["plan"] for r in doc["results"] if "plan" in r]
    assert sum(p["count"] for p in plans) == len(before)
    perm_db.commit()
    assert query(perm_db, STUCK) == before
    assert archives(state_dir) == []


def test_guard_refuses_more_rows_than_max(incident, perm_db, state_dir):
    before = query(perm_db, STUCK)
    code, doc, err = inv("permanent.requeue-stuck", "--apply", "--yes", "--max-rows", "3", "--json",
                         state_dir=state_dir)
    assert code == 3, err
    perm_db.commit()
    assert query(perm_db, STUCK) == before
    assert archives(state_dir) == []


def test_no_confirmation_changes_nothing(incident, perm_db, state_dir):
    before = query(perm_db, STUCK)
    code, doc, err = inv("permanent.requeue-stuck", "--apply", "--json", state_dir=state_dir)
    assert code == 3 and "--yes" in doc["message"]
    perm_db.commit()
    assert query(perm_db, STUCK) == before


def test_requeue_archives_and_undo_restores(incident, perm_db, state_dir):
    before = query(perm_db, STUCK)
    ids = [r[0] for r in before]
    code, doc, err = inv("permanent.requeue-stuck", "--apply", "--yes", "--json", state_dir=state_dir)
    assert code == 2, err
    changes = [r for r in doc["results"] if r.get("change_id")]
    assert changes and sum(r["rows_changed"] for r in changes) == len(ids)
    perm_db.commit()
    after = statuses(perm_db, ids)
    assert {s for s, _ in after.values()} <= {"status.record.needs_processing", "status.record.reprocessing"}
    failing = incident["failed_four_times"]
    assert all(after[i][0] == "status.record.reprocessing" for i in failing if i in after)
    archived = {}
    for path in archives(state_dir):
        archived.update({row["recordId"]: row for row in json.loads(path.read_text())["before"]})
    assert set(archived) == set(ids)
    audit = [json.loads(line) for line in (state_dir / "audit.jsonl").read_text().splitlines()]
    assert any(a.get("catalog_id") == "P6" and a.get("rows_changed") for a in audit)

    for change in changes:
        code, doc, err = inv("undo", change["change_id"], "--yes", "--json", state_dir=state_dir)
        assert code == 2, err
    perm_db.commit()
    assert query(perm_db, STUCK) == before


def test_stuck_uploads_end_to_end(lab_up, perm_db, state_dir):
    info = lab("incident", "stuck-uploads")
    hung_pid = daemon_pid("taskrunner1", "queue")
    perm_db.commit()
    stuck = [r[0] for r in query(perm_db, STUCK)]
    assert stuck
    code, doc, err = inv("stuck-uploads", "--yes", "--settle", "15", "--json", state_dir=state_dir)
    assert code == 2, err
    assert doc["outcome"] == "changed" and "fixed" in doc["message"]
    # queue-daemon was replaced by one that makes progress
    assert daemon_pid("taskrunner1", "queue") not in (None, hung_pid)
    perm_db.commit()
    assert query(perm_db, STUCK) == ()
    states = statuses(perm_db, stuck)
    assert all(states[i][0] == "status.record.reprocessing" for i in info["failed_four_times"])
    # the pipeline drains: in-flight counts come down
    recheck = {r["task"]: r for r in doc["recheck"]}
    assert any("coming down" in " ".join(r.get("report", [])) for r in recheck.values())
    audit = [json.loads(line) for line in (state_dir / "audit.jsonl").read_text().splitlines()]
    assert {"P4", "P6"} <= {a.get("catalog_id") for a in audit}


def test_upload_status_keeps_snapshots_and_reports_trend(lab_up, state_dir):
    code, doc, err = inv("permanent.upload-status", "--json", state_dir=state_dir)
    assert code in (0, 4), err
    first = [r for r in doc["results"] if "report" in r][-1]["report"][0]
    assert "first snapshot" in first
    code, doc, err = inv("permanent.upload-status", "--json", state_dir=state_dir)
    second = [r for r in doc["results"] if "report" in r][-1]["report"][0]
    assert any(t in second for t in ("coming down", "rising", "flat"))
    assert len((state_dir / "snapshots" / "permanent_upload_status.jsonl").read_text().splitlines()) == 2


def test_queue_depth_flags_a_backlog(lab_up, state_dir):
    lab("incident", "stuck-uploads")
    code, doc, err = inv("permanent.queue-depth", "--json", state_dir=state_dir)
    assert code == 4, err
    report = [r for r in doc["results"] if "report" in r][0]["report"]
    assert report[0].startswith("HP ") and "over threshold" in report[0], "high-priority queues come first"
