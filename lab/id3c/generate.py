"""ID3C data for the lab: thousands of samples with their barcodes, encounters,
manifest and presence/absence documents, and plant_* functions that add each
problem of runbooks/seattleflu-id3c.md. Every plant_* returns what it planted
(keys, barcodes, dates), so a test knows exactly which rows a fix must touch."""
import csv
import json
import random
import uuid
from datetime import date, datetime, timedelta, timezone

from psycopg2.extras import Json, execute_values

from lab import paths
from lab.id3c import SYSLOG, connect, etl_hosts

MANIFEST_REVISION = 14      # the manifest ETL's current revision
PA_REVISION = 5             # the presence-absence ETL's current revision
FHIR_REVISION = 3
SETS = [  # (name, use)
    ("samples", "sample"), ("samples-haarvi", "sample"),
    ("collections-seattleflu.org", "collection"), ("collections-kiosks", "collection"),
    ("collections-kiosks-asymptomatic", "collection"), ("collections-scan", "collection"),
    ("collections-scan-kiosks", "collection"), ("collections-haarvi", "collection"),
    ("collections-swab&send", "collection"), ("collections-household-observation", "collection"),
    ("collections-environmental", "collection"), ("collections-clia-compliance", "clia"),
]
COLLECTION_SETS = ["collections-scan", "collections-kiosks", "collections-swab&send", "collections-seattleflu.org",
                   "collections-household-observation"]
TARGETS = ["Flu_A_pan", "Flu_B_pan", "RSVA", "RSVB", "COVID-19", "Hs04930436_g1"]
NOW = datetime.now(timezone.utc).replace(microsecond=0)


def rnd_for(tag=None):
    return random.Random(tag) if tag is not None else random.Random()


class Ids:
    """Fresh identifiers (uuid, barcode = the uuid's last 8 characters), unique in the database."""

    def __init__(self, cur, rnd):
        self.cur, self.rnd = cur, rnd
        cur.execute("SELECT name, identifier_set_id FROM warehouse.identifier_set")
        self.sets = dict(cur.fetchall())
        self.seen = set()

    def new(self, set_name, count=1):
        out = []
        while len(out) < count:
            u = uuid.UUID(int=self.rnd.getrandbits(128), version=4)
            b = str(u)[-8:]
            if b in self.seen:
                continue
            self.cur.execute("SELECT 1 FROM warehouse.identifier WHERE barcode = %s", (b,))
            if self.cur.fetchone():
                continue
            self.seen.add(b)
            out.append((u, b))
        execute_values(self.cur, "INSERT INTO warehouse.identifier (uuid, barcode, identifier_set_id, generated) "
                                 "VALUES %s", [(str(u), b, self.sets[set_name], NOW - timedelta(days=200))
                                              for u, b in out])
        return out


def _ts(dt):
    return dt.isoformat()


def pa_sample(lims_id, barcode, results):
    """One sample of an NWGC presence/absence document (Samplify JSON)."""
    return {"sampleId": lims_id, "investigatorId": barcode, "sampleState": "Complete",
            "targetResults": [{"geneTarget": t, "targetName": t, "testResult": r} for t, r in results.items()]}


def pa_controls(plate, rnd):
    return [{"sampleId": rnd.randint(10**8, 10**9), "investigatorId": f"{plate}-{kind}", "sampleState": "Complete",
             "targetResults": [{"geneTarget": "Hs04930436_g1", "testResult": "Positive"}]}
            for kind in ("PC", "NC", "EXT")]


def _results(rnd):
    return {t: ("Positive" if rnd.random() < 0.06 else "Negative") for t in TARGETS[:4]}


def _insert_samples(cur, rows):
    """rows: (identifier, collection_identifier, encounter_id, details, collected) -> sample ids."""
    ids = execute_values(cur, "INSERT INTO warehouse.sample (identifier, collection_identifier, encounter_id, details, "
                              "collected) VALUES %s RETURNING sample_id",
                         [(a, b, c, Json(d) if d is not None else None, e) for a, b, c, d, e in rows], fetch=True)
    return [r[0] for r in ids]


def _targets(cur):
    cur.execute("SELECT identifier, target_id FROM warehouse.target")
    return dict(cur.fetchall())


def _insert_results(cur, sample_id, lims_id, results, targets):
    execute_values(cur, "INSERT INTO warehouse.presence_absence (identifier, sample_id, target_id, present, details) "
                        "VALUES %s RETURNING presence_absence_id",
                   [(f"NWGC/{lims_id}/{t}", sample_id, targets[t], r == "Positive",
                     Json({"assay_type": "TaqmanQPCR", "device": "OpenArray"})) for t, r in results.items()])
    return [r[0] for r in cur.fetchall()]


def _manifest_doc(sample_barcode, collection_barcode, when):
    return {"sample": sample_barcode, "collection": collection_barcode, "date": when.date().isoformat(),
            "aliquots": [f"{sample_barcode}-a", f"{sample_barcode}-b"], "sample_origin": "hmc_retro"}


def _encounters(cur, count, rnd, tag):
    cur.execute("SELECT site_id FROM warehouse.site")
    sites = [r[0] for r in cur.fetchall()]
    individuals = execute_values(
        cur, "INSERT INTO warehouse.individual (identifier, sex, details) VALUES %s RETURNING individual_id",
        [(uuid.UUID(int=rnd.getrandbits(128)).hex, rnd.choice(["male", "female"]), None) for _ in range(count)],
        fetch=True)
    rows = []
    for (ind,) in individuals:
        when = NOW - timedelta(days=rnd.randint(1, 120), minutes=rnd.randint(0, 1440))
        rows.append((f"{tag}/{uuid.UUID(int=rnd.getrandbits(128)).hex}", ind, rnd.choice(sites), when,
                     Json({"language": "en"}), timedelta(days=365 * rnd.randint(1, 90))))
    out = execute_values(cur, "INSERT INTO warehouse.encounter (identifier, individual_id, site_id, encountered, "
                              "details, age) VALUES %s RETURNING encounter_id, encountered", rows, fetch=True)
    return out


def seed(samples=3000, unused=2000, seed_value=11):
    """The baseline: `samples` encounters each with a collection swab and an
    aliquoted sample, their manifest rows (processed), their results on plates
    of 90 (processed), FHIR bundles (processed) and `unused` printed labels."""
    conn = connect()
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM warehouse.sample")
        if cur.fetchone()[0]:
            conn.close()
            return
        rnd = rnd_for(seed_value)
        execute_values(cur, "INSERT INTO warehouse.identifier_set (name, description, use) VALUES %s",
                       [(n, f"{n} labels", u) for n, u in SETS])
        execute_values(cur, "INSERT INTO warehouse.site (identifier, details) VALUES %s",
                       [(f"site-{i}", Json({"type": "clinic"})) for i in range(10)])
        execute_values(cur, "INSERT INTO warehouse.target (identifier, control) VALUES %s",
                       [(t, t.startswith("Hs")) for t in TARGETS])
        ids = Ids(cur, rnd)
        targets = _targets(cur)
        encounters = _encounters(cur, samples, rnd, "redcap-scan")
        sample_ids = ids.new("samples", samples)
        collections = []
        for name in COLLECTION_SETS:
            collections += ids.new(name, samples // len(COLLECTION_SETS) + 1)
        rnd.shuffle(collections)
        for name, _ in SETS:
            ids.new(name, unused // len(SETS))
        rows, lims = [], []
        for i, (enc_id, when) in enumerate(encounters):
            lims_id = 300000 + i
            lims.append(lims_id)
            rows.append((str(sample_ids[i][0]), str(collections[i][0]), enc_id, {"nwgc_id": [lims_id]}, when.date()))
        created = _insert_samples(cur, rows)
        manifest, fhir = [], []
        for i, sid in enumerate(created):
            when = encounters[i][1] + timedelta(days=1)
            manifest.append((Json(_manifest_doc(sample_ids[i][1], collections[i][1], when)), when,
                             Json([{"etl": "manifest", "revision": MANIFEST_REVISION, "timestamp": _ts(when),
                                    "status": "created", "sample_id": sid}])))
            if i % 3 == 0:
                fhir.append((Json(fhir_bundle(collections[i][1], encounters[i][1])), encounters[i][1],
                             Json([{"etl": "fhir", "revision": FHIR_REVISION, "timestamp": _ts(encounters[i][1])}])))
        execute_values(cur, "INSERT INTO receiving.manifest (document, received, processing_log) VALUES %s", manifest)
        execute_values(cur, "INSERT INTO receiving.fhir (document, received, processing_log) VALUES %s", fhir)
        tested = int(samples * 0.85)
        docs = []
        for start in range(0, tested, 90):
            plate = f"BAT-{start // 90 + 1:03d}A"
            entries = []
            for i in range(start, min(start + 90, tested)):
                res = _results(rnd)
                _insert_results(cur, created[i], lims[i], res, targets)
                entries.append(pa_sample(lims[i], sample_ids[i][1], res))
            when = NOW - timedelta(days=rnd.randint(1, 60))
            docs.append((json.dumps({"samples": entries + pa_controls(plate, rnd)}), when,
                         Json([{"revision": PA_REVISION - 1, "timestamp": _ts(when)},
                               {"revision": PA_REVISION, "timestamp": _ts(when)}])))
        execute_values(cur, "INSERT INTO receiving.presence_absence (document, received, processing_log) VALUES %s",
                       docs)
        dets = []
        for i in range(400):
            project = rnd.choice([12345, 23456])
            dets.append((Json(redcap_det(project, str(1000 + i))), NOW - timedelta(days=rnd.randint(1, 60)),
                         Json([{"etl": "redcap-det-scan", "revision": 2, "timestamp": _ts(NOW), "status": "processed"}])))
        execute_values(cur, "INSERT INTO receiving.redcap_det (document, received, processing_log) VALUES %s", dets)
        cur.execute("ANALYZE")
    conn.close()


def fhir_bundle(barcode, when, set_url="http://collections-seattleflu.org"):
    return {"resourceType": "Bundle", "type": "batch", "timestamp": _ts(when), "entry": [
        {"resource": {"resourceType": "Patient", "id": uuid.uuid4().hex}},
        {"resource": {"resourceType": "Encounter", "id": uuid.uuid4().hex, "period": {"start": _ts(when)}}},
        {"resource": {"resourceType": "Specimen", "identifier": [{"system": set_url, "value": barcode}]}}]}


def redcap_det(project, record, instrument="enrollment_questionnaire", **extra):
    det = {"project_id": str(project), "record": record, "instrument": instrument,
           "redcap_url": "https://redcap.iths.org/", f"{instrument}_complete": "2"}
    det.update(extra)
    return det


METABASE_QUESTIONS = ["Unknown barcode", "Daily samples received", "Samples without results", "Positive rate by week",
                      "Manifest ETL backlog", "Presence absence by plate", "SCAN enrollments by site",
                      "Kiosk collections today", "Duplicate barcodes", "Return of results status"]


def seed_metabase():
    conn = connect("metabase")
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM report_card")
        if not cur.fetchone()[0]:
            execute_values(cur, "INSERT INTO report_card (name, description, dataset_query, cache_ttl) VALUES %s",
                           [(n, f"{n} (question)", json.dumps({"database": 2, "type": "native"}),
                             None if i % 3 else 10) for i, n in enumerate(METABASE_QUESTIONS)])
    conn.close()


def syslog_noise(lines=200):
    rnd = random.Random(3)
    out = []
    for i in range(lines):
        t = (NOW - timedelta(minutes=lines - i)).strftime("%b %d %H:%M:%S")
        out.append(f"{t} backoffice id3c[{rnd.randint(1000, 9999)}]: Processing presence_absence group "
                   f"{rnd.randint(1, 40)}\n" if i % 2 else f"{t} backoffice CRON[{rnd.randint(1000, 9999)}]: "
                   "(ubuntu) CMD (id3c etl manifest --commit)\n")
    return "".join(out)


def _syslog(lines):
    for host in etl_hosts():
        try:
            log = paths.host_path(host, SYSLOG)
        except ValueError:
            continue
        if log.parent.is_dir():
            with open(log, "a") as f:
                f.writelines(lines)


def _in_use_barcodes(cur, count, rnd):
    cur.execute("SELECT i.barcode::text, i.uuid::text FROM warehouse.identifier i JOIN warehouse.sample s "
                "ON s.collection_identifier = i.uuid::text ORDER BY i.uuid LIMIT 500")
    rows = cur.fetchall()
    return rnd.sample(rows, count)


# --- the runbook's problems --------------------------------------------------

def plant_typo_barcode(tag=None):
    """S1: a barcode one character off a real, in-use collection barcode."""
    rnd = rnd_for(tag)
    conn = connect()
    with conn.cursor() as cur:
        real, _ = _in_use_barcodes(cur, 1, rnd)[0]
        while True:
            pos = rnd.randrange(8)
            typo = real[:pos] + rnd.choice([c for c in "0123456789abcdef" if c != real[pos]]) + real[pos + 1:]
            cur.execute("SELECT 1 FROM warehouse.identifier WHERE barcode = %s", (typo,))
            if not cur.fetchone():
                break
    conn.close()
    return {"typo": typo, "real": real}


def plant_fhir_wrong_barcode_type(tag=None):
    """S2: FHIR bundles whose Specimen carries a collections-clia-compliance barcode."""
    rnd = rnd_for(tag)
    conn = connect()
    with conn.cursor() as cur:
        (_, barcode), = Ids(cur, rnd).new("collections-clia-compliance")
        cur.execute("INSERT INTO receiving.fhir (document) VALUES (%s) RETURNING fhir_id",
                    (Json(fhir_bundle(barcode, NOW, "http://collections-clia-compliance")),))
        fhir_id = cur.fetchone()[0]
    conn.close()
    return {"barcode": barcode, "fhir_ids": [fhir_id]}


def plant_sample_not_found(count=6, tag=None):
    """S3: results arrived for sample barcodes the warehouse has no sample for
    (duplicate collection barcodes kept the manifest ETL from creating them).
    Writes the lab's aliquot manifest CSV; returns its path and the barcodes."""
    rnd = rnd_for(tag)
    conn = connect()
    with conn.cursor() as cur:
        ids = Ids(cur, rnd).new("samples", count)
        entries = [pa_sample(700000 + rnd.randint(0, 99999), b, _results(rnd)) for _, b in ids]
        cur.execute("INSERT INTO receiving.presence_absence (document) VALUES (%s) RETURNING presence_absence_id",
                    (json.dumps({"samples": entries + pa_controls("BAT-777A", rnd)}),))
        group = cur.fetchone()[0]
    conn.close()
    path = paths.STATE / "id3c" / f"aliquot-manifest-{uuid.uuid4().hex[:6]}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["sample_id", "aliquot_a", "aliquot_b", "box", "position"])
        for i, (_, b) in enumerate(ids):
            w.writerow([b, f"{b}-a", f"{b}-b", "BOX-12", i + 1])
    return {"csv": str(path), "barcodes": [b for _, b in ids], "uuids": [str(u) for u, _ in ids],
            "presence_absence_id": group}


def plant_other_arm_group(tag=None):
    """S4: a presence/absence group with samples from the HAARVI study arm (not
    marked _exp); the ETL rolled back to its savepoint and logged the group."""
    rnd = rnd_for(tag)
    conn = connect()
    with conn.cursor() as cur:
        ids = Ids(cur, rnd).new("samples-haarvi", 3)
        doc = {"samples": [pa_sample(800000 + rnd.randint(0, 99999), b, _results(rnd)) for _, b in ids]}
        cur.execute("INSERT INTO receiving.presence_absence (document) VALUES (%s) RETURNING presence_absence_id",
                    (json.dumps(doc),))
        group = cur.fetchone()[0]
    conn.close()
    t = datetime.now().strftime("%b %d %H:%M:%S")
    _syslog([f"{t} backoffice id3c[4242]: Processing presence_absence group {group}\n",
             f"{t} backoffice id3c[4242]: Rolling back to savepoint presence_absence group {group}\n",
             f"{t} backoffice id3c[4242]: Aborting with error: Identifier found in set «samples-haarvi», "
             "not «samples»\n"])
    return {"group": group, "revision": PA_REVISION}


def plant_wrong_collection_manifest(count=4, tag=None):
    """S5: manifest rows with collections-clia-compliance barcodes, and rows whose
    sample barcode is from the samples-haarvi arm; neither processed."""
    rnd = rnd_for(tag)
    conn = connect()
    with conn.cursor() as cur:
        ids = Ids(cur, rnd)
        clia = ids.new("collections-clia-compliance", count)
        haarvi = ids.new("samples-haarvi", 2)
        samples = ids.new("samples", count)
        rows = [(Json(_manifest_doc(s, c, NOW)),) for (_, s), (_, c) in zip(samples, clia)]
        rows += [(Json(_manifest_doc(s, None, NOW)),) for _, s in haarvi]
        out = execute_values(cur, "INSERT INTO receiving.manifest (document) VALUES %s RETURNING manifest_id",
                             rows, fetch=True)
    conn.close()
    keys = [r[0] for r in out]
    return {"clia_manifest_ids": keys[:count], "haarvi_manifest_ids": keys[count:],
            "clia_barcodes": [b for _, b in clia], "haarvi_barcodes": [b for _, b in haarvi]}


def plant_incomplete_manifest(count=5, tag=None):
    """S6 (incomplete records): the lab uploaded a plate's rows without their
    collection barcodes; the manifest ETL created sample-only samples for them.
    The complete rows came the next day and the ETL aborted ("More than one
    sample matching"), because the collection barcodes' samples exist too."""
    rnd = rnd_for(tag)
    at = lambda d, h: datetime(d.year, d.month, d.day, h, tzinfo=timezone.utc)  # noqa: E731
    conn = connect()
    with conn.cursor() as cur:
        while True:  # two days no manifest row arrived on (the baseline is within the last 120 days)
            day = date(2025, 1, 1) + timedelta(days=rnd.randint(0, 500))
            error_day = day + timedelta(days=1)
            cur.execute("SELECT count(*) FROM receiving.manifest WHERE received >= %s AND received < %s",
                        (at(day, 0) - timedelta(days=1), at(error_day, 0) + timedelta(days=2)))
            if cur.fetchone()[0] == 0:
                break
        ids = Ids(cur, rnd)
        samples, collections = ids.new("samples", count + 2), ids.new("collections-scan", count)
        encounters = _encounters(cur, count, rnd, "redcap-scan")
        # the FHIR ETL's samples: collection barcode and encounter only
        kept = _insert_samples(cur, [(None, str(c), e, None, w.date()) for (c, _), (e, w) in
                                     zip(collections, encounters)])
        # the manifest ETL's samples from the incomplete rows: sample barcode only
        made = _insert_samples(cur, [(str(s), None, None, {"nwgc_id": []}, None) for s, _ in samples])
        rows = []
        for i, ((_, sb), sid) in enumerate(zip(samples, made)):
            log = [{"etl": "manifest", "revision": MANIFEST_REVISION, "timestamp": _ts(at(day, 10)),
                    "status": "created", "sample_id": sid}]
            rows.append((Json(_manifest_doc(sb, None, at(day, 10))), at(day, 10), Json(log)))
            if i < count:  # the complete row, not yet processed
                rows.append((Json(_manifest_doc(sb, collections[i][1], at(error_day, 9))), at(error_day, 9),
                             Json([])))
        execute_values(cur, "INSERT INTO receiving.manifest (document, received, processing_log) VALUES %s", rows)
    conn.close()
    # the last two incomplete rows have no complete row yet: not part of the error
    return {"date_before": day.isoformat(), "date_of_error": error_day.isoformat(), "sample_ids": made[:count],
            "not_affected_sample_ids": made[count:], "kept_sample_ids": kept}


def _duplicate(cur, rnd, one_encounter):
    ids = Ids(cur, rnd)
    targets = _targets(cur)
    encs = _encounters(cur, 1 if one_encounter else 2, rnd, "redcap-scan")
    (s1, _), = ids.new("samples")
    (c1, _), (c2, _) = ids.new("collections-scan", 2)
    lims = 900000 + rnd.randint(0, 99999)
    with_results = _insert_samples(cur, [(str(s1), str(c1), encs[-1][0], {"nwgc_id": [lims]}, None)])[0]
    _insert_results(cur, with_results, lims, _results(rnd), targets)
    without = _insert_samples(cur, [(None, str(c2), encs[0][0], None, None)])[0]
    return {"sample_ids": [without, with_results], "delete": without, "keep": with_results,
            "encounter_ids": [e for e, _ in encs], "resend_det_encounter": None if one_encounter else encs[0][0]}


def plant_duplicate_one_encounter(tag=None):
    """S6 case 2: two samples on one encounter; one has no results."""
    conn = connect()
    with conn.cursor() as cur:
        out = _duplicate(cur, rnd_for(tag), True)
    conn.close()
    return out


def plant_duplicate_two_encounters(tag=None):
    """S6 case 3: the two samples are on two encounters; one has no results."""
    conn = connect()
    with conn.cursor() as cur:
        out = _duplicate(cur, rnd_for(tag), False)
    conn.close()
    return out


def plant_plate(tag=None):
    """S13: a plate pushed twice (two documents), and a decoy plate whose name
    shares all but one character."""
    rnd = rnd_for(tag)
    n = rnd.randint(100, 899)
    plate, decoy = f"BAT-{n}A", f"BAT-{n}B"
    conn = connect()
    keys = []
    with conn.cursor() as cur:
        for name in (plate, plate, decoy):
            cur.execute("INSERT INTO receiving.presence_absence (document) VALUES (%s) RETURNING presence_absence_id",
                        (json.dumps({"samples": pa_controls(name, rnd)}),))
            keys.append(cur.fetchone()[0])
    conn.close()
    return {"plate": plate, "presence_absence_ids": keys[:2], "decoy": decoy, "decoy_id": keys[2]}


def plant_swapped_plate(count=4, tag=None):
    """S14: a plate was swapped; the lab re-attached the results to new LIMS ids,
    so each sample has results under its original LIMS id and the new one."""
    rnd = rnd_for(tag)
    conn = connect()
    with conn.cursor() as cur:
        targets = _targets(cur)
        cur.execute("SELECT s.sample_id, (s.details->'nwgc_id'->>0)::int FROM warehouse.sample s "
                    "WHERE jsonb_array_length(s.details->'nwgc_id') = 1 AND EXISTS (SELECT 1 FROM "
                    "warehouse.presence_absence p WHERE p.sample_id = s.sample_id) ORDER BY random() LIMIT %s",
                    (count,))
        picked = cur.fetchall()
        old_pa = []
        for sid, old in picked:
            new = 600000 + rnd.randint(0, 99999)
            _insert_results(cur, sid, new, _results(rnd), targets)
            cur.execute("UPDATE warehouse.sample SET details = jsonb_set(details, '{nwgc_id}', "
                        "details->'nwgc_id' || to_jsonb(%s::int)) WHERE sample_id = %s", (new, sid))
            cur.execute("SELECT presence_absence_id FROM warehouse.presence_absence WHERE identifier LIKE %s",
                        (f"NWGC/{old}/%",))
            old_pa += [r[0] for r in cur.fetchall()]
    conn.close()
    return {"lims_ids": [o for _, o in picked], "sample_ids": [s for s, _ in picked], "presence_absence_ids": old_pa}


def plant_retro_failed_sample(tag=None):
    """S15: a sample's results were retroactively failed: the lab re-pushed the
    plate with that sample marked Fail. The first document's results are in
    the warehouse; the ETL skipped the Fail ones."""
    rnd = rnd_for(tag)
    conn = connect()
    with conn.cursor() as cur:
        targets = _targets(cur)
        ids = Ids(cur, rnd)
        ((su, sb),), ((cu, cb),) = ids.new("samples"), ids.new("collections-scan")
        (enc, when), = _encounters(cur, 1, rnd, "redcap-scan")
        others = ids.new("samples", 3)
        lims = 500000 + rnd.randint(0, 99999)
        sid = _insert_samples(cur, [(str(su), str(cu), enc, {"nwgc_id": [lims]}, when.date())])[0]
        first = {t: "Positive" for t in TARGETS[:2]} | {t: "Negative" for t in TARGETS[2:4]}
        pa_ids = _insert_results(cur, sid, lims, first, targets)
        plate = f"BAT-{rnd.randint(100, 899)}C"
        rest = [pa_sample(lims + 1 + i, b, {t: "Negative" for t in TARGETS[:4]}) for i, (_, b) in enumerate(others)]
        controls = pa_controls(plate, rnd)
        docs = []
        for n, res in enumerate((first, {t: "Fail" for t in TARGETS[:4]})):
            doc = {"samples": rest[:1] + [pa_sample(lims, sb, res)] + rest[1:] + controls}
            # the second push comes from another exporter: other key order and spacing
            text = json.dumps(doc) if n == 0 else json.dumps(doc, indent=1, sort_keys=True)
            cur.execute("INSERT INTO receiving.presence_absence (document, received, processing_log) "
                        "VALUES (%s, %s, %s) RETURNING presence_absence_id",
                        (text, NOW - timedelta(days=2 - n), Json([{"revision": PA_REVISION, "timestamp": _ts(NOW)}])))
            docs.append(cur.fetchone()[0])
    conn.close()
    return {"barcode": sb, "collection_barcode": cb, "sample_id": sid, "presence_absence_ids": pa_ids,
            "incorrect_document": docs[0], "updated_document": docs[1]}


def plant_wrong_label_set(count=3, tag=None):
    """S16: Asymptomatic Kiosk labels used at a SCAN In-Person event: the FHIR
    ETL skipped the encounters because the barcodes are in the wrong set."""
    rnd = rnd_for(tag)
    conn = connect()
    with conn.cursor() as cur:
        ids = Ids(cur, rnd).new("collections-kiosks-asymptomatic", count)
        skipped = []
        for _, b in ids:
            cur.execute("INSERT INTO receiving.fhir (document, processing_log) VALUES (%s, %s) RETURNING fhir_id",
                        (Json(fhir_bundle(b, NOW, "http://collections-kiosks-asymptomatic")),
                         Json([{"etl": "fhir", "revision": FHIR_REVISION, "timestamp": _ts(NOW),
                                "status": "skipped"}])))
            skipped.append(cur.fetchone()[0])
    conn.close()
    return {"barcodes": [b for _, b in ids], "uuids": [str(u) for u, _ in ids], "skipped_fhir_ids": skipped,
            "from_set": "collections-kiosks-asymptomatic", "to_set": "collections-scan-kiosks"}


def plant_redcap_problems(tag=None):
    """S7, S8, S12: a REDCap record id received in two events of a project (a
    repeating instrument), and a DET skipped for an unknown discharge disposition."""
    rnd = rnd_for(tag)
    record = str(rnd.randint(10**6, 10**7))
    conn = connect()
    with conn.cursor() as cur:
        rows = [(Json(redcap_det(12345, record, redcap_event_name=e)), Json([])) for e in ("arm_1", "arm_2")]
        rows.append((Json(redcap_det(23456, record + "1", instrument="discharge", discharge_disposition="96")),
                     Json([{"etl": "redcap-det-uw-retrospectives", "revision": 1, "timestamp": _ts(NOW),
                            "status": "skipped"}])))
        out = execute_values(cur, "INSERT INTO receiving.redcap_det (document, processing_log) VALUES %s "
                                  "RETURNING redcap_det_id", rows, fetch=True)
    conn.close()
    return {"duplicate": {"project_id": "12345", "record_id": record}, "skipped_det": out[-1][0]}
