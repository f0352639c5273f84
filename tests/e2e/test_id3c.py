"""ID3C's data runbook end to end: each problem planted in the lab's real
PostgreSQL by the generator, then fixed through `inv id3c.*` (ansible, the
safety core) and undone through `inv undo` / playbooks/undo.yml.

For every destructive fix: the plan lists exactly the planted rows, the apply
changes exactly those, the undo restores every table byte for byte (full row
dumps, `row::text`), and max_rows refuses. A recount that differs at apply time
aborts; plans take no row locks; bad input changes nothing."""
import json
import subprocess
import sys
import threading
import time

import pytest

from labtools import BIN, REPO, inv

sys.path.insert(0, str(REPO))

TABLES = {  # table -> key column: everything the fixes may touch
    "receiving.fhir": "fhir_id", "receiving.manifest": "manifest_id",
    "receiving.presence_absence": "presence_absence_id", "warehouse.identifier": "uuid",
    "warehouse.sample": "sample_id", "warehouse.presence_absence": "presence_absence_id",
}


@pytest.fixture(scope="module")
def gen(lab_up):
    from lab.id3c import generate
    return generate


@pytest.fixture(scope="module")
def db(lab_up):
    from lab.id3c import connect
    conn = connect()
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def metabase_db(lab_up):
    from lab.id3c import connect
    conn = connect("metabase")
    yield conn
    conn.close()


def dump(conn, table, key):
    """{key: the row as PostgreSQL prints it}: every column, json as stored."""
    with conn.cursor() as cur:
        cur.execute(f"SELECT t.{key}::text, t::text FROM {table} AS t")
        return dict(cur.fetchall())


def dumps(conn):
    return {t: dump(conn, t, k) for t, k in TABLES.items()}


def archives(state_dir):
    d = state_dir / "archive"
    return sorted(d.glob("*.json")) if d.exists() else []


def plans(doc):
    return [r["plan"] for r in doc["results"] if isinstance(r.get("plan"), dict) and "plan_hash" in r["plan"]]


def undo(change_id, state_dir):
    """playbooks/undo.yml, the way AWX runs it."""
    import os
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), REMEDIES_STATE_DIR=str(state_dir))
    res = subprocess.run([str(BIN / "ansible-playbook"), "playbooks/undo.yml", "-e", f"remedies_change_id={change_id}"],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr


# -- the destructive fixes ------------------------------------------------------
# name -> plant(gen) returning (inv args, table, expected keys as text, kind)

def s2(gen):
    p = gen.plant_fhir_wrong_barcode_type()
    return ["id3c.delete-fhir-record", p["barcode"].upper()], "receiving.fhir", p["fhir_ids"], "delete"


def s4(gen):
    p = gen.plant_other_arm_group()
    return ["id3c.skip-presence-absence", "--group", str(p["group"])], "receiving.presence_absence", [p["group"]], \
        "update"


def s5(gen):
    p = gen.plant_wrong_collection_manifest()
    args = ["id3c.delete-manifest-rows"] + [a for b in p["clia_barcodes"] + p["haarvi_barcodes"]
                                            for a in ("--barcode", b)]
    return args, "receiving.manifest", p["clia_manifest_ids"] + p["haarvi_manifest_ids"], "delete"


def s6_incomplete(gen):
    p = gen.plant_incomplete_manifest()
    return ["id3c.incomplete-manifest", "--date-before", p["date_before"], "--date-of-error", p["date_of_error"]], \
        "warehouse.sample", p["sample_ids"], "delete"


def s14(gen):
    p = gen.plant_swapped_plate()
    return ["id3c.swapped-plate"] + [a for lims in p["lims_ids"] for a in ("--lims-id", str(lims))], \
        "warehouse.presence_absence", p["presence_absence_ids"], "delete"


def s16(gen):
    p = gen.plant_wrong_label_set()
    return ["id3c.move-identifier-set", "--from-set", p["from_set"], "--to-set", p["to_set"]] + \
        [a for b in p["barcodes"] for a in ("--barcode", b)], "warehouse.identifier", p["uuids"], "update"


# S6's duplicate-sample delete is covered (with its undo) by the two-encounter test below.
FIXES = {"S2": s2, "S4": s4, "S5": s5, "S6-incomplete": s6_incomplete, "S14": s14, "S16": s16}


@pytest.mark.parametrize("fix", sorted(FIXES))
def test_fix_plans_applies_exactly_and_undoes_byte_for_byte(fix, gen, db, state_dir):
    args, table, keys, kind = FIXES[fix](gen)
    keys = sorted(str(k) for k in keys)
    before = dumps(db)
    # --apply: the plan (check mode, what a person confirms), then the apply of exactly that plan
    code, doc, err = inv(*args, "--apply", "--yes", "--json", state_dir=state_dir)
    assert code == 2, err
    plan, = plans({"results": doc["planned"]})
    assert sorted(str(k) for k in plan["keys"]) == keys and plan["count"] == len(keys)
    change, = [r for r in doc["results"] if r.get("change_id")]
    assert change["rows_changed"] == len(keys)
    after = dumps(db)
    for t in TABLES:  # exactly those rows of that table, nothing else anywhere
        if t != table:
            assert after[t] == before[t], t
    changed = sorted(k for k in set(before[table]) | set(after[table]) if before[table].get(k) != after[table].get(k))
    assert changed == keys
    if kind == "delete":
        assert not set(keys) & set(after[table])
    audit = [json.loads(line) for line in (state_dir / "audit.jsonl").read_text().splitlines()]
    assert any(a.get("change_id") == change["change_id"] and a.get("rows_changed") == len(keys) for a in audit)

    undo(change["change_id"], state_dir)
    assert dumps(db) == before


def test_s3_creates_samples_from_the_aliquot_manifest_and_undo_deletes_them(gen, db, state_dir):
    p = gen.plant_sample_not_found()
    before = dumps(db)
    code, doc, err = inv("id3c.create-samples", "--csv", p["csv"], "--apply", "--yes", "--json", state_dir=state_dir)
    assert code == 2, err
    plan, = plans({"results": doc["planned"]})
    assert plan["count"] == len(p["uuids"])
    change, = [r for r in doc["results"] if r.get("change_id")]
    after = dumps(db)
    new = set(after["warehouse.sample"]) - set(before["warehouse.sample"])
    assert len(new) == len(p["uuids"]) and after["warehouse.presence_absence"] == before["warehouse.presence_absence"]
    with db.cursor() as cur:
        cur.execute("SELECT identifier, collection_identifier, encounter_id FROM warehouse.sample "
                    "WHERE sample_id = ANY(%s)", ([int(k) for k in new],))
        assert sorted(cur.fetchall()) == sorted((u, None, None) for u in p["uuids"])
    code, doc, err = inv("id3c.create-samples", "--csv", p["csv"], "--json", state_dir=state_dir)
    assert code == 0, err  # they exist now: nothing to do
    undo(change["change_id"], state_dir)
    assert dumps(db) == before


def test_s4_finds_the_group_in_the_etl_hosts_syslog_over_ssh(gen, db, state_dir):
    from lab import paths
    from lab.id3c import SYSLOG, etl_hosts
    for host in etl_hosts():  # a fresh syslog: earlier tests' rollbacks are not this incident's
        paths.host_path(host, SYSLOG).write_text(gen.syslog_noise())
    p = gen.plant_other_arm_group()
    before = dumps(db)
    code, doc, err = inv("id3c.skip-presence-absence", "--json", state_dir=state_dir)
    assert code == 2, err
    plan, = plans(doc)
    assert plan["keys"] == [p["group"]]
    assert dumps(db) == before


def test_s6_two_encounters_names_the_encounter_needing_a_det(gen, db, state_dir):
    p = gen.plant_duplicate_two_encounters()
    before = dumps(db)
    code, doc, err = inv("id3c.duplicate-samples", "--sample-id", str(p["keep"]), "--sample-id", str(p["delete"]),
                         "--apply", "--yes", "--json", state_dir=state_dir)
    assert code == 2, err
    change, = [r for r in doc["results"] if r.get("change_id")]
    assert change["plan"]["keys"] == [p["delete"]]
    det = [r for r in doc["results"] if isinstance(r.get("data"), dict) and "resend_det_encounter" in r["data"]]
    assert det and int(det[0]["data"]["resend_det_encounter"]) == p["resend_det_encounter"]
    assert set(before["warehouse.sample"]) - set(dumps(db)["warehouse.sample"]) == {str(p["delete"])}
    undo(change["change_id"], state_dir)
    assert dumps(db) == before


def test_s6_one_encounter_plans_the_sample_without_results_and_no_det(gen, db, state_dir):
    p = gen.plant_duplicate_one_encounter()
    before = dumps(db)
    code, doc, err = inv("id3c.duplicate-samples", "--sample-id", str(p["keep"]), "--sample-id", str(p["delete"]),
                         "--json", state_dir=state_dir)
    assert code == 2, err
    plan, = plans(doc)
    assert plan["keys"] == [p["delete"]]
    assert not [r for r in doc["results"] if isinstance(r.get("data"), dict) and "resend_det_encounter" in r["data"]]
    assert dumps(db) == before


def test_s6_refuses_when_both_samples_have_results(gen, db, state_dir):
    a, b = gen.plant_duplicate_one_encounter(), gen.plant_duplicate_one_encounter()
    before = dumps(db)
    code, doc, err = inv("id3c.duplicate-samples", "--sample-id", str(a["keep"]), "--sample-id", str(b["keep"]),
                         "--apply", "--yes", "--json", state_dir=state_dir)
    assert code == 3, err
    assert dumps(db) == before and archives(state_dir) == []


def test_s15_diffs_the_documents_then_deletes_results_and_document(gen, db, state_dir):
    p = gen.plant_retro_failed_sample()
    before = dumps(db)
    code, doc, err = inv("id3c.retro-failed-sample", p["barcode"], "--json", state_dir=state_dir)
    assert code == 2, err
    report = [line for r in doc["results"] for line in r.get("report", [])]
    # the normalised diff: only the failed sample's results differ, though the texts differ everywhere
    assert sum(1 for line in report if line.startswith("-") and '"testResult"' in line) == 4
    assert sum(1 for line in report if line.startswith("+") and '"testResult": "Fail"' in line) == 4
    assert not [line for line in report if line[:1] in "+-" and "investigatorId" in line]
    results_plan, document_plan = plans(doc)
    assert sorted(results_plan["keys"]) == sorted(p["presence_absence_ids"])
    assert document_plan["keys"] == [p["incorrect_document"]]

    code, doc, err = inv("id3c.retro-failed-sample", p["barcode"], "--apply", "--yes", "--json", state_dir=state_dir)
    assert code == 2, err
    after = dumps(db)
    assert set(before["warehouse.presence_absence"]) - set(after["warehouse.presence_absence"]) == \
        {str(k) for k in p["presence_absence_ids"]}
    assert set(before["receiving.presence_absence"]) - set(after["receiving.presence_absence"]) == \
        {str(p["incorrect_document"])}
    assert str(p["updated_document"]) in after["receiving.presence_absence"]
    for change in reversed([r["change_id"] for r in doc["results"] if r.get("change_id")]):
        undo(change, state_dir)
    assert dumps(db) == before  # the json document comes back with its exact bytes


def test_s11_sets_cache_ttl_shows_before_after_and_undoes(metabase_db, state_dir):
    before = dump(metabase_db, "report_card", "id")
    code, doc, err = inv("id3c.cache-ttl", "Unknown barcode", "--ttl", "0", "--apply", "--yes", "--json",
                         state_dir=state_dir)
    assert code == 2, err
    lines = [line for r in doc["results"] for line in r.get("report", [])]
    assert any("-> 0" in line for line in lines) and any("cache_ttl is now 0" in line for line in lines)
    change, = [r for r in doc["results"] if r.get("change_id")]
    with metabase_db.cursor() as cur:
        cur.execute("SELECT cache_ttl FROM report_card WHERE name = 'Unknown barcode'")
        assert cur.fetchall() == [(0,)]
    code, doc, err = inv("id3c.cache-ttl", "Unknown barcode", "--ttl", "0", "--json", state_dir=state_dir)
    assert code == 0, err  # already 0: nothing to do
    undo(change["change_id"], state_dir)
    assert dump(metabase_db, "report_card", "id") == before


@pytest.mark.parametrize("fix", ["S14"])
def test_max_rows_refuses_and_changes_nothing(fix, gen, db, state_dir):
    args, table, keys, kind = FIXES[fix](gen)
    before = dumps(db)
    code, doc, err = inv(*args, "--apply", "--yes", "--max-rows", str(len(keys) - 1), "--json", state_dir=state_dir)
    assert code == 3, err
    assert any("max_rows" in (r.get("msg") or "") for r in doc["results"])
    assert dumps(db) == before and archives(state_dir) == []


def test_a_recount_that_differs_at_apply_aborts_with_nothing_changed(gen, db, state_dir, monkeypatch):
    """The plan a person approved is what the apply must find: a row that starts
    matching in between (here: a second manifest row for a planted barcode) aborts."""
    from invoke import Config, Context
    from remedies import runner
    from remedies.cli.id3c import _expected
    monkeypatch.setenv("REMEDIES_STATE_DIR", str(state_dir))
    p = gen.plant_wrong_collection_manifest()
    extra = {"id3c_identifier_set": "", "id3c_barcodes": p["clia_barcodes"]}
    plan = runner.run_playbook(Context(Config(overrides={"run": {"in_stream": False}})), "id3c_delete_manifest_rows.yml", extra, check=True, as_json=True,
                               inventory="inventories/lab/hosts.yml")
    assert plan.code == runner.CHANGED
    with db.cursor() as cur:  # the ETL's next upload brings one more row with a planted barcode
        cur.execute("INSERT INTO receiving.manifest (document) VALUES (%s)",
                    (json.dumps({"sample": "00000000", "collection": p["clia_barcodes"][0]}),))
    before = dumps(db)
    run = runner.run_playbook(Context(Config(overrides={"run": {"in_stream": False}})), "id3c_delete_manifest_rows.yml", dict(extra, **_expected(plan)),
                              as_json=True, inventory="inventories/lab/hosts.yml")
    assert run.code == runner.REFUSED
    assert any("expected_rows" in (r.get("msg") or "") for r in run.results)
    assert dumps(db) == before and archives(state_dir) == []


def test_plan_takes_no_row_locks_but_apply_does(gen, db, state_dir):
    """A writer holding the planted rows is not waited for by the plan (a plain
    snapshot read); the apply, which locks, times out on it and changes nothing."""
    from lab.id3c import connect
    args, table, keys, kind = s16(gen)
    writer = connect(autocommit=False)
    try:
        with writer.cursor() as cur:
            cur.execute("UPDATE warehouse.identifier SET generated = generated WHERE uuid::text = ANY(%s)", (keys,))
        before = dumps(db)
        code, doc, err = inv(*args, "--json", state_dir=state_dir)  # a lock wait would fail after 5 s
        assert code == 2, err
        assert sorted(plans(doc)[0]["keys"]) == sorted(keys)
        code, doc, err = inv(*args, "--apply", "--yes", "--json", state_dir=state_dir)
        assert code == 1 and any("lock wait timed out" in (r.get("msg") or "") for r in doc["results"]), err
        assert dumps(db) == before and archives(state_dir) == []
    finally:
        writer.rollback()
        writer.close()


def test_a_writer_is_never_blocked_by_a_plan(gen, db, state_dir):
    """While plans run, a concurrent writer keeps updating the planted rows; none
    of its updates waits for a lock (its lock_timeout of 200 ms would raise)."""
    from lab.id3c import connect
    args, table, keys, kind = s5(gen)
    stop, errors, writes = threading.Event(), [], [0]

    def write():
        conn = connect()
        with conn.cursor() as cur:
            cur.execute("SET lock_timeout = '200ms'")
            while not stop.is_set():
                try:
                    cur.execute("UPDATE receiving.manifest SET received = received WHERE manifest_id = ANY(%s)",
                                (keys,))
                except Exception as exc:  # noqa: BLE001 - any failure of the writer fails the test
                    errors.append(exc)
                writes[0] += 1
                time.sleep(0.01)
        conn.close()
    thread = threading.Thread(target=write)
    thread.start()
    try:
        code, doc, err = inv(*args, "--json", state_dir=state_dir)
        assert code == 2, err
    finally:
        stop.set()
        thread.join()
    assert writes[0] > 10 and errors == []  # no update ever waited 200 ms for a lock (lock_timeout would have raised)


# -- S1, S13, S10: read-only, and signals -----------------------------------------

def test_s1_suggests_the_real_barcode_of_a_typo(gen, state_dir):
    p = gen.plant_typo_barcode()
    code, doc, err = inv("id3c.closest-barcodes", p["typo"].upper(), "--json", state_dir=state_dir)
    assert code == 4, err
    rows = [r for r in doc["results"] if isinstance(r.get("data"), list)][0]["data"]
    assert rows[0]["barcode"] == p["real"] and rows[0]["distance"] == 1 and rows[0]["in_use"] is True
    assert rows[0]["identifier_set"].startswith("collections-")
    assert all(r["distance"] <= 2 for r in rows)


def test_s13_finds_the_plates_documents_and_not_its_neighbour(gen, state_dir):
    p = gen.plant_plate()
    code, doc, err = inv("id3c.plate", p["plate"].replace("-", ""), "--json", state_dir=state_dir)
    assert code == 0, err
    rows = [r for r in doc["results"] if isinstance(r.get("data"), list)][0]["data"]
    assert [r["presence_absence_id"] for r in rows] == p["presence_absence_ids"]
    # LIKE wildcards in the name are plain characters
    code, doc, err = inv("id3c.plate", p["plate"][:-2] + "_%", "--json", state_dir=state_dir)
    assert [r for r in doc["results"] if isinstance(r.get("data"), list)][0]["data"] == []


def test_s7_s8_report_duplicate_record_ids_and_skipped_dets(gen, state_dir):
    p = gen.plant_redcap_problems()
    code, doc, err = inv("id3c.redcap-report", "--json", state_dir=state_dir)
    assert code == 4, err
    data = [r["data"] for r in doc["results"] if isinstance(r.get("data"), list)]
    assert {"project_id": "12345", "record_id": p["duplicate"]["record_id"]}.items() <= \
        [d for d in data[0] if d["record_id"] == p["duplicate"]["record_id"]][0].items()
    assert p["skipped_det"] in [d["redcap_det_id"] for d in data[1]]


@pytest.fixture
def metabase_queries(lab_up):
    """Real long-running queries: two by `metabase` (an old one and, later, a young
    one), one that ignores cancels, and an old one by another user."""
    from lab.id3c import connect
    started = []

    def start(sql, user="metabase"):
        conn = connect(user=user) if user else connect()
        with conn.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            pid = cur.fetchone()[0]
        box = {"pid": pid, "error": None}

        def run():
            try:
                with conn.cursor() as cur:
                    cur.execute(sql)
            except Exception as exc:  # noqa: BLE001 - recorded for the test
                box["error"] = type(exc).__name__
        t = threading.Thread(target=run, daemon=True)
        t.start()
        box["thread"], box["conn"] = t, conn
        started.append(box)
        return box
    yield start
    admin = connect()
    with admin.cursor() as cur:
        for box in started:
            cur.execute("SELECT pg_terminate_backend(%s)", (box["pid"],))
    admin.close()
    for box in started:
        box["thread"].join(timeout=5)


def active(pid):
    from lab.id3c import connect
    conn = connect()
    with conn.cursor() as cur:
        cur.execute("SELECT state FROM pg_stat_activity WHERE pid = %s", (pid,))
        row = cur.fetchone()
    conn.close()
    return row is not None and row[0] == "active"


STUBBORN = ("DO $$ BEGIN LOOP BEGIN PERFORM pg_sleep(60); EXCEPTION WHEN query_canceled THEN NULL; END; END LOOP; "
            "END $$")


def test_s10_plan_never_signals_apply_cancels_only_old_metabase_queries(metabase_queries, state_dir):
    old = metabase_queries("SELECT pg_sleep(120)")
    other = metabase_queries("SELECT pg_sleep(120)", user=None)  # the lab admin: not metabase
    time.sleep(10)
    young = metabase_queries("SELECT pg_sleep(121)")  # seconds old during the plan
    code, doc, err = inv("id3c.cancel-slow-queries", "--minutes", "0.15", "--json", state_dir=state_dir)
    assert code == 2, err
    plan, = [r["plan"] for r in doc["results"] if "plan" in r]
    assert [b["pid"] for b in plan["backends"]] == [old["pid"]]
    assert "pg_sleep(120)" in plan["backends"][0]["query_head"]
    assert active(old["pid"]) and active(young["pid"]) and active(other["pid"])  # check mode: no signal

    code, doc, err = inv("id3c.cancel-slow-queries", "--minutes", "0.15", "--apply", "--yes", "--json",
                         state_dir=state_dir)
    assert code == 2, err
    result, = [r for r in doc["results"] if "plan" in r]
    assert "cancelled" in result["msg"]
    old["thread"].join(timeout=10)
    assert old["error"] == "QueryCanceled" and not active(old["pid"])
    assert active(other["pid"])  # another user's query is never touched
    audit = [json.loads(line) for line in (state_dir / "audit.jsonl").read_text().splitlines()]
    assert [a["outcome"] for a in audit if a.get("catalog_id") == "S10"] == ["planned", "planned", "changed"]


def test_s10_terminates_a_query_that_ignores_cancel_only_when_asked(metabase_queries, state_dir):
    stubborn = metabase_queries(STUBBORN)
    time.sleep(2.5)
    code, doc, err = inv("id3c.cancel-slow-queries", "--minutes", "0.03", "--wait", "2", "--apply", "--yes",
                         "--json", state_dir=state_dir)
    assert code == 4, err  # cancelled, but still running: needs a person (or --terminate)
    result, = [r for r in doc["results"] if "plan" in r]
    assert result["data"]["still_running"] == [stubborn["pid"]] and active(stubborn["pid"])
    code, doc, err = inv("id3c.cancel-slow-queries", "--minutes", "0.03", "--wait", "2", "--terminate", "--apply",
                         "--yes", "--json", state_dir=state_dir)
    assert code == 2, err
    result, = [r for r in doc["results"] if "plan" in r]
    assert result["data"]["terminated"] == [stubborn["pid"]] and not active(stubborn["pid"])


# -- bad input -------------------------------------------------------------------

BAD = [
    (["id3c.delete-manifest-rows", "--barcode", "ab'c%_;ü", "--barcode", "abcdef12"], 1, "8 letters or digits"),
    (["id3c.delete-fhir-record", "x'; DROP TABLE receiving.fhir; --"], 1, "not a barcode"),
    (["id3c.move-identifier-set", "--from-set", "collections-kiosks", "--to-set", "collections-scan-kiosks"], 1,
     "give the affected barcodes"),
    (["id3c.delete-manifest-rows", "--identifier-set", "collections-%"], 1, "no identifier set"),
    (["id3c.cache-ttl", "No such question; DROP TABLE report_card"], 1, "no Metabase question named"),
    (["id3c.cache-ttl", "Unknown barcode", "--ttl", "-5"], 1, "cache_ttl"),
    (["id3c.incomplete-manifest", "--date-before", "2026-03-02", "--date-of-error", "2026-03-01"], 1, "reversed"),
    (["id3c.incomplete-manifest", "--date-before", "2026-02-30", "--date-of-error", "2026-03-01"], 1, "YYYY-MM-DD"),
    (["id3c.duplicate-samples", "--sample-id", "12"], 1, "two sample ids"),
    (["id3c.swapped-plate", "--lims-id", "12%"], 1, "LIMS ids"),
]


@pytest.mark.parametrize("args,code,message", BAD, ids=[" ".join(a)[:60] for a, _, _ in BAD])
def test_bad_input_gets_one_clear_error_and_changes_nothing(args, code, message, db, metabase_db, state_dir):
    before, cards = dumps(db), dump(metabase_db, "report_card", "id")
    got, doc, err = inv(*args, "--apply", "--yes", "--json", state_dir=state_dir)
    assert got == code, err
    messages = [doc.get("message") or ""] + [r.get("msg") or "" for r in doc.get("results", [])
                                             if r["status"] == "failed"]
    assert any(message in m for m in messages), messages
    assert dumps(db) == before and dump(metabase_db, "report_card", "id") == cards
    assert archives(state_dir) == []


@pytest.mark.parametrize("barcode", ["ab'c%_;ü"])
def test_s1_binds_odd_barcodes_as_plain_text(barcode, state_dir):
    code, doc, err = inv("id3c.closest-barcodes", barcode, "--max-distance", "1", "--json", state_dir=state_dir)
    assert code in (0, 4), err
    rows = [r for r in doc["results"] if isinstance(r.get("data"), list)][0]["data"]
    assert all(r["distance"] <= 1 for r in rows)  # '%' or '_' match nothing in particular
