#!/usr/bin/env python3
"""bin/export-redcap: every record's barcodes from the SFS and SCAN REDCap
projects, as CSV (record_id, project, barcode). The lab's "REDCap API" is a
JSON export per project named by REDCAP_API_URL (file://...) in the env dirs."""
import csv
import json
import os
import sys

rows = []
for project in ("SFS", "SCAN"):
    url = os.environ.get(f"REDCAP_API_URL_{project}")
    token = os.environ.get(f"REDCAP_API_TOKEN_{project}")
    if not url or not token:
        sys.exit(f"export-redcap: REDCAP_API_URL_{project} / REDCAP_API_TOKEN_{project} not set "
                 "(run under envdir with the redcap env dirs)")
    with open(url.removeprefix("file://")) as f:
        for rec in json.load(f):
            rows.append((rec["record_id"], project, rec["barcode"]))
out = csv.writer(sys.stdout)
out.writerow(["record_id", "project", "barcode"])
out.writerows(rows)
