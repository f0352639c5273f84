#!/usr/bin/env python3
"""Lab stand-in for /opt/backoffice/bin/wa-doh-linelists/generate.

generate --date YYYY-MM-DD --output-dir DIR --upload-dir DIR
Writes DIR/wa-doh-linelist-<date>.csv (the day's results) and "uploads" it by
copying into the upload dir (the lab's WA DOH SFTP drop). While the fault file
/opt/backoffice/faults/wa-doh-upload exists the upload fails, as when the
destination is down: the run exits 1 and nothing reaches the destination."""
import argparse
import datetime
import hashlib
import os
import shutil
import sys
import time

FAULT = "/opt/backoffice/faults/wa-doh-upload"


def main():
    p = argparse.ArgumentParser(prog="generate")
    p.add_argument("--date", required=True, type=datetime.date.fromisoformat)
    p.add_argument("--output-dir", required=True)
    p.add_argument("--upload-dir", required=True)
    a = p.parse_args()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    os.makedirs(a.output_dir, exist_ok=True)
    name = f"wa-doh-linelist-{a.date.isoformat()}.csv"
    out = os.path.join(a.output_dir, name)
    with open(out + ".tmp", "w") as f:
        f.write("sample_barcode,collected,target,result\n")
        for i in range(25):
            h = hashlib.sha1(f"{a.date}-{i}".encode()).hexdigest()
            f.write(f"{h[:8]},{a.date.isoformat()},{'Flu_A' if i % 3 else 'SARS-CoV-2'},"
                    f"{'positive' if int(h[8], 16) < 3 else 'negative'}\n")
    os.replace(out + ".tmp", out)
    print(f"{stamp} generate: wrote {out}", flush=True)
    if os.path.exists(FAULT):
        print(f"{stamp} generate: upload of {name} failed: destination refused the connection", file=sys.stderr)
        return 1
    os.makedirs(a.upload_dir, exist_ok=True)
    shutil.copyfile(out, os.path.join(a.upload_dir, name + ".part"))
    os.replace(os.path.join(a.upload_dir, name + ".part"), os.path.join(a.upload_dir, name))
    print(f"{stamp} generate: uploaded {name} to {a.upload_dir}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
