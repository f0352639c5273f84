#!/usr/bin/python
# -*- coding: utf-8 -*-
from __future__ import annotations

DOCUMENTATION = r"""
module: remedies_snapshot
short_description: Keep snapshots of a diagnosis's counts and say which way they are going
description:
  - Appends the counts to a JSON-lines file on the controller and compares them with the previous
    snapshot, so a later run can answer the runbook's "are the numbers coming down?".
  - Writes nothing but its own snapshot file; the system under diagnosis is untouched.
version_added: "0.1.0"
options:
  path:
    description: Snapshot file (JSON lines), one per diagnosis.
    type: path
    required: true
  counts:
    description: Map of name to count.
    type: dict
    required: true
  title:
    description: Heading of the report.
    type: str
    default: counts
  attention_above:
    description: When the total is above this and not coming down, the result asks for attention.
    type: int
  keep:
    description: Snapshots kept in the file.
    type: int
    default: 500
attributes:
  check_mode:
    support: full
    description: Snapshots are recorded in check mode too; they change nothing outside the controller's state folder.
author: remedies
"""

EXAMPLES = r"""
- name: Record the upload status counts
  remedies_snapshot:
    path: /srv/remedies/var/snapshots/permanent_upload_status.jsonl
    counts: {status.record.processing: 40}
"""

RETURN = r"""
trend:
  description: C(first snapshot), C(coming down), C(rising) or C(flat), for the total.
  type: str
  returned: always
previous:
  description: The previous snapshot (ts, total, counts), if any.
  type: dict
  returned: when there is one
attention:
  description: True when the total is above I(attention_above) and not coming down.
  type: bool
  returned: always
report:
  description: Lines for a person.
  type: list
  elements: str
  returned: always
deltas:
  description: Per name, change since the previous snapshot.
  type: dict
  returned: always
"""

import json
import os
import time

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec=dict(path=dict(type="path", required=True),
                                              counts=dict(type="dict", required=True),
                                              title=dict(type="str", default="counts"),
                                              attention_above=dict(type="int"),
                                              keep=dict(type="int", default=500)),
                           supports_check_mode=True)
    path, counts = module.params["path"], {k: int(v) for k, v in module.params["counts"].items()}
    lines = []
    if os.path.exists(path):
        with open(path) as f:
            lines = [json.loads(line) for line in f if line.strip()]
    previous = lines[-1] if lines else None
    total = sum(counts.values())
    snap = {"ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "total": total, "counts": counts}
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        for line in (lines + [snap])[-module.params["keep"]:]:
            f.write(json.dumps(line) + "\n")
    os.replace(tmp, path)
    if previous is None:
        trend, deltas = "first snapshot", {}
    else:
        names = set(counts) | set(previous["counts"])
        deltas = {n: counts.get(n, 0) - previous["counts"].get(n, 0) for n in sorted(names)}
        diff = total - previous["total"]
        trend = "coming down" if diff < 0 else "rising" if diff > 0 else "flat"
    report = [f"{module.params['title']}: total {total} ({trend}"
              + (f" since {previous['ts']}, {total - previous['total']:+d})" if previous else ")")]
    for name in sorted(counts):
        delta = deltas.get(name)
        report.append(f"  {name:<36} {counts[name]:>7}" + (f"  {delta:+d}" if delta else ""))
    limit = module.params["attention_above"]
    attention = limit is not None and total > limit and trend != "coming down"
    module.exit_json(changed=False, trend=trend, report=report, attention=attention, previous=previous, deltas=deltas, total=total, snapshot=snap)


if __name__ == "__main__":
    main()
