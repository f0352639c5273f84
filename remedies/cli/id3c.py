"""Seattle Flu Study / ID3C data (runbooks/seattleflu-id3c.md): S1 to S16.

Fixes plan by default and change rows only with --apply (and --yes when there
is no terminal); every change goes through the safety core (guard, archive,
`inv undo <change-id>`, audit)."""
from datetime import date

from invoke import task

from remedies import runner
from remedies.cli.common import helps, play, plan_then_apply

APPLY = "change the rows after showing the plan (default: plan only)"
MAX_ROWS = "refuse to change more rows than this (default {})"


def _expected(plan):
    """What the person saw in the plan, per change: the apply must find exactly that."""
    return {"id3c_expected": {r["task"].split(" : ")[-1]: {"rows": r["plan"]["count"], "hash": r["plan"]["plan_hash"]}
                              for r in plan.results if isinstance(r.get("plan"), dict) and r["plan"].get("plan_hash")}}


def _fix(c, playbook, extra, apply, yes, json, inventory, max_rows=None):
    """Plan (check mode); with --apply: plan, confirm, apply exactly that plan."""
    if max_rows is not None:
        extra = dict(extra, id3c_max_rows=int(max_rows))
    if not apply:
        play(c, playbook, extra, check=True, json=json, inventory_path=inventory)
    plan, run = plan_then_apply(c, playbook, extra, json, None, inventory, yes, expect=_expected)
    # --json shows both: what the person approved (the plan) and what the apply did
    runner.finish(run, as_json=json, extra={"planned": plan.results})


def _bad(message, json):
    runner.finish(runner.FAILED, as_json=json, message=message + "; nothing was changed")


@task(help=helps("json", "inventory", barcode="the unknown barcode", max_distance="edit distance at most (default 2)",
                 results="show at most this many (default 10)"))
def closest_barcodes(c, barcode, max_distance=2, results=10, json=False, inventory=None):
    """S1: unknown barcode? The closest real barcodes, their identifier set and whether in use."""
    play(c, "id3c_closest_barcodes.yml", {"id3c_barcode": barcode, "id3c_max_distance": int(max_distance),
                                          "id3c_max_results": int(results)}, json=json, inventory_path=inventory)


@task(help=helps("json", "inventory", "yes", barcode="the wrong-type barcode of the FHIR error", apply=APPLY,
                 max_rows=MAX_ROWS.format(5)))
def delete_fhir_record(c, barcode, apply=False, yes=False, max_rows=5, json=False, inventory=None):
    """S2: FHIR ETL "unexpected barcode" AssertionError? Delete the receiving record. Plan by default."""
    _fix(c, "id3c_delete_fhir_record.yml", {"id3c_barcode": barcode}, apply, yes, json, inventory, max_rows)


@task(help=helps("json", "inventory", "yes", csv="the lab's aliquot manifest (CSV file)",
                 column="its column of sample barcodes (default sample_id)", apply=APPLY,
                 max_rows=MAX_ROWS.format(100)))
def create_samples(c, csv, column="sample_id", apply=False, yes=False, max_rows=100, json=False, inventory=None):
    """S3: SampleNotFoundError? Create samples with only their identifiers, from an aliquot manifest."""
    from pathlib import Path
    if not Path(csv).is_file():
        _bad(f"no aliquot manifest at {csv!r}", json)
    _fix(c, "id3c_create_samples.yml", {"id3c_aliquot_manifest": str(Path(csv).resolve()),
                                        "id3c_aliquot_column": column}, apply, yes, json, inventory, max_rows)


@task(iterable=["group"], help=helps("json", "inventory", "yes", group="presence_absence group number; repeat "
                                     "(default: every group the ETL's syslog shows rolled back)",
                                     revision="the presence-absence ETL's current revision (default: detect it)",
                                     apply=APPLY, max_rows=MAX_ROWS.format(10)))
def skip_presence_absence(c, group=None, revision=0, apply=False, yes=False, max_rows=10, json=False, inventory=None):
    """S4: presence-absence group from another study arm? Mark it manually skipped. Plan by default."""
    try:
        groups = [int(g) for g in group or []]
    except ValueError:
        _bad(f"groups are numbers: {group}", json)
    _fix(c, "id3c_skip_presence_absence.yml", {"id3c_groups": groups, "id3c_revision": int(revision)},
         apply, yes, json, inventory, max_rows)


@task(iterable=["barcode"], help=helps("json", "inventory", "yes", identifier_set="delete rows whose barcodes are in "
                                       "this set (e.g. collections-clia-compliance)", barcode="or: rows with this "
                                       "sample or collection barcode; repeat", apply=APPLY,
                                       max_rows=MAX_ROWS.format(200)))
def delete_manifest_rows(c, identifier_set="", barcode=None, apply=False, yes=False, max_rows=200, json=False,
                         inventory=None):
    """S5: manifest rows from a collection or study arm we do not ingest? Delete them. Plan by default."""
    if bool(identifier_set) == bool(barcode):
        _bad("give --identifier-set or --barcode (one of them)", json)
    _fix(c, "id3c_delete_manifest_rows.yml", {"id3c_identifier_set": identifier_set, "id3c_barcodes": barcode or []},
         apply, yes, json, inventory, max_rows)


@task(help=helps("json", "inventory", "yes", date_before="the day before the error (YYYY-MM-DD)",
                 date_of_error="the day of the error (YYYY-MM-DD)", apply=APPLY, max_rows=MAX_ROWS.format(200)))
def incomplete_manifest(c, date_before, date_of_error, apply=False, yes=False, max_rows=200, json=False,
                        inventory=None):
    """S6: "More than one sample matching" after incomplete manifest rows? Delete their samples. Plan by default."""
    try:
        start, end = date.fromisoformat(date_before), date.fromisoformat(date_of_error)
    except ValueError:
        _bad(f"dates must be YYYY-MM-DD: {date_before!r}, {date_of_error!r}", json)
    if start > end:
        _bad(f"the date range is reversed: {date_before} is after {date_of_error}", json)
    _fix(c, "id3c_incomplete_manifest.yml", {"id3c_date_before": start.isoformat(),
                                             "id3c_date_of_error": end.isoformat()},
         apply, yes, json, inventory, max_rows)


@task(iterable=["sample_id"], help=helps("json", "inventory", "yes", sample_id="a sample id of the error's "
                                         "Record(id=...); give both", apply=APPLY))
def duplicate_samples(c, sample_id=None, apply=False, yes=False, json=False, inventory=None):
    """S6: two samples match one barcode? Delete the one without results; say which encounter needs a DET."""
    _fix(c, "id3c_duplicate_samples.yml", {"id3c_sample_ids": list(sample_id or [])}, apply, yes, json, inventory)


@task(help=helps("json", "inventory", "yes", minutes="cancel queries running longer than this (default 5; "
                                         "decimals allowed)", terminate="terminate queries that survive the "
                                         "cancel (pg_terminate_backend)", wait="seconds to wait for a cancel or "
                                         "terminate to take (default 10)", apply=APPLY))
def cancel_slow_queries(c, minutes=5.0, terminate=False, wait=10.0, apply=False, yes=False, json=False,
                        inventory=None):
    """S10: Metabase slow? Cancel its queries running longer than N minutes. Plan by default; never signals then."""
    extra = {"id3c_slow_minutes": float(minutes), "id3c_terminate": bool(terminate),
             "id3c_cancel_wait_seconds": float(wait)}
    if not apply:
        play(c, "id3c_cancel_slow_queries.yml", extra, check=True, json=json, inventory_path=inventory)
    _, run = plan_then_apply(c, "id3c_cancel_slow_queries.yml", extra, json, None, inventory, yes)
    runner.finish(run, as_json=json)


@task(help=helps("json", "inventory", "yes", question="the question's name, exactly",
                 ttl="cache_ttl: 0 disables caching, -1 removes the override (default 0)", apply=APPLY,
                 max_rows=MAX_ROWS.format(1) + "; Metabase names are not unique"))
def cache_ttl(c, question, ttl=0, apply=False, yes=False, max_rows=1, json=False, inventory=None):
    """S11: Metabase results stale? Set the question's cache_ttl (0 disables its cache). Plan by default."""
    try:
        ttl = int(ttl)
    except ValueError:
        _bad(f"ttl must be a whole number: {ttl!r}", json)
    _fix(c, "id3c_cache_ttl.yml", {"id3c_question": question, "id3c_cache_ttl": ttl}, apply, yes, json, inventory,
         max_rows)


@task(help=helps("json", "inventory", plate="the plate, e.g. BAT-049A or BAT049A"))
def plate(c, plate, json=False, inventory=None):
    """S13: investigate a plate: its presence_absence documents (by its controls' investigatorId)."""
    play(c, "id3c_plate.yml", {"id3c_plate": plate}, json=json, inventory_path=inventory)


@task(iterable=["lims_id"], help=helps("json", "inventory", "yes", lims_id="an original LIMS id of the swapped "
                                       "plate; repeat", apply=APPLY, max_rows=MAX_ROWS.format(500)))
def swapped_plate(c, lims_id=None, apply=False, yes=False, max_rows=500, json=False, inventory=None):
    """S14: a plate was swapped? Delete the results of its original LIMS ids. Plan by default."""
    _fix(c, "id3c_swapped_plate.yml", {"id3c_lims_ids": list(lims_id or [])}, apply, yes, json, inventory, max_rows)


@task(help=helps("json", "inventory", "yes", barcode="the failed sample's barcode",
                 document="the incorrect presence_absence document (default: the older of the two)",
                 apply=APPLY, max_rows=MAX_ROWS.format(20)))
def retro_failed_sample(c, barcode, document=0, apply=False, yes=False, max_rows=20, json=False, inventory=None):
    """S15: a sample retroactively failed? Diff its documents; delete its results and the incorrect one."""
    _fix(c, "id3c_retro_failed_sample.yml", {"id3c_barcode": barcode, "id3c_document_id": int(document)},
         apply, yes, json, inventory, max_rows)


@task(iterable=["barcode"], help=helps("json", "inventory", "yes", barcode="an affected barcode; repeat",
                                       from_set="the set they must all be in now", to_set="the set they belong in",
                                       apply=APPLY, max_rows=MAX_ROWS.format(500)))
def move_identifier_set(c, from_set, to_set, barcode=None, apply=False, yes=False, max_rows=500, json=False,
                        inventory=None):
    """S16: labels from the wrong collection set? Move them; list what the ETLs skipped. Plan by default."""
    if not barcode:
        _bad("give the affected barcodes with --barcode (repeat it)", json)
    _fix(c, "id3c_move_identifier_set.yml", {"id3c_barcodes": list(barcode), "id3c_from_set": from_set,
                                             "id3c_to_set": to_set}, apply, yes, json, inventory, max_rows)


@task(help=helps("json", "inventory"))
def redcap_report(c, json=False, inventory=None):
    """S7, S8, S12: duplicate REDCap record ids and skipped DETs, for the REDCap team and ITHS (read-only)."""
    play(c, "id3c_redcap_report.yml", json=json, inventory_path=inventory)
