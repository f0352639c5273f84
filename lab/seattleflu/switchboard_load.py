#!/usr/bin/env python3
"""bin/load-sqlite CSV DB: (re)build the Switchboard's SQLite database."""
import csv
import os
import sqlite3
import sys

src, dest = sys.argv[1], sys.argv[2]
tmp = dest + ".tmp"
if os.path.exists(tmp):
    os.unlink(tmp)
db = sqlite3.connect(tmp)
db.execute("CREATE TABLE record_barcodes (record_id TEXT, project TEXT, barcode TEXT)")
with open(src) as f:
    db.executemany("INSERT INTO record_barcodes VALUES (?, ?, ?)",
                   [(r["record_id"], r["project"], r["barcode"].lower()) for r in csv.DictReader(f)])
db.execute("CREATE INDEX record_barcodes_barcode ON record_barcodes (barcode)")
db.commit()
db.close()
os.replace(tmp, dest)
