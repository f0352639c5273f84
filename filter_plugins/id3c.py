"""Filters for the id3c role: report lines, Samplify documents, a normalised JSON diff."""
import csv
import difflib
import io
import json


def id3c_format(rows, template):
    """Each row (a dict) formatted with str.format_map: rows | id3c_format('{barcode} {distance}')."""
    return [template.format_map(dict(row)) for row in rows or []]


def id3c_csv_column(content, column):
    """The non-empty values of one column of a CSV text (an aliquot manifest), in order."""
    reader = csv.DictReader(io.StringIO(content))
    if column not in (reader.fieldnames or []):
        raise ValueError("the CSV has no column %r; its columns: %s" % (column, ", ".join(reader.fieldnames or [])))
    return [row[column].strip() for row in reader if (row.get(column) or "").strip()]


def _load(document):
    return json.loads(document) if isinstance(document, str) else document


def id3c_sample_results(document, barcode):
    """The sample whose investigatorId is `barcode` in a presence_absence document:
    {found, lims_id, results: {target: testResult}, failed: every result is Fail}."""
    for entry in (_load(document) or {}).get("samples", []):
        if str(entry.get("investigatorId", "")).lower() == str(barcode).lower():
            results = {t.get("geneTarget") or t.get("targetName"): t.get("testResult")
                       for t in entry.get("targetResults", [])}
            return {"found": True, "lims_id": str(entry.get("sampleId")), "results": results,
                    "failed": bool(results) and all(r == "Fail" for r in results.values())}
    return {"found": False, "lims_id": None, "results": {}, "failed": False}


def id3c_documents_summary(rows, barcode):
    """Per document row (presence_absence_id, received, document): the sample's results in it."""
    return [dict({"presence_absence_id": r["presence_absence_id"], "received": r["received"]},
                 **id3c_sample_results(r["document"], barcode)) for r in rows or []]


def id3c_json_diff(a, b, a_label="a", b_label="b", context=2):
    """The runbook's `jq -S . a > a_fmt; jq -S . b > b_fmt; diff`: a unified diff of
    both documents with sorted keys and one indentation."""
    def norm(doc):
        return json.dumps(_load(doc), indent=2, sort_keys=True, ensure_ascii=False).splitlines()
    return list(difflib.unified_diff(norm(a), norm(b), a_label, b_label, n=int(context), lineterm=""))


class FilterModule:
    def filters(self):
        return {"id3c_format": id3c_format, "id3c_sample_results": id3c_sample_results,
                "id3c_json_diff": id3c_json_diff,
                "id3c_documents_summary": id3c_documents_summary, "id3c_csv_column": id3c_csv_column}
