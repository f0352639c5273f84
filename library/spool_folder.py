#!/usr/bin/python
# -*- coding: utf-8 -*-
from __future__ import annotations

DOCUMENTATION = r"""
module: spool_folder
short_description: Count and age of the files waiting in a spool folder (read-only)
description:
  - Counts the files matching I(pattern) in I(path) and reports the oldest one's age, so a
    folder that stopped draining (its daemon is down) stands out.
version_added: "0.1.0"
options:
  path:
    description: The folder.
    type: path
    required: true
  pattern:
    description: Shell pattern of the files that count.
    type: str
    default: "*"
  max_age:
    description: A file older than this many seconds needs attention.
    type: int
    default: 300
attributes:
  check_mode:
    support: full
    description: Read-only; it runs the same in check mode.
author: remedies
"""

EXAMPLES = r"""
- name: Is sqs-daemon draining its queue folder
  spool_folder:
    path: /data/sqs-queue
    pattern: "*.json"
"""

RETURN = r"""
files:
  description: Number of matching files.
  type: int
  returned: always
oldest_seconds:
  description: Age of the oldest file, 0 when empty.
  type: int
  returned: always
attention:
  description: True when the oldest file is older than I(max_age).
  type: bool
  returned: always
"""

import fnmatch
import os
import time

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec=dict(path=dict(type="path", required=True),
                                              pattern=dict(type="str", default="*"),
                                              max_age=dict(type="int", default=300)),
                           supports_check_mode=True)
    p = module.params
    if not os.path.isdir(p["path"]):
        module.fail_json(msg=f"{p['path']} is not a folder on this host")
    now, mtimes = time.time(), []
    for entry in os.scandir(p["path"]):
        if entry.is_file() and fnmatch.fnmatch(entry.name, p["pattern"]):
            try:
                mtimes.append(entry.stat().st_mtime)
            except FileNotFoundError:  # drained while we looked
                pass
    oldest = round(now - min(mtimes)) if mtimes else 0
    attention = oldest > p["max_age"]
    line = f"{p['path']}: {len(mtimes)} file(s), oldest {oldest}s"
    if attention:
        line += f" -- older than {p['max_age']}s: is the daemon that drains it running?"
    module.exit_json(changed=False, files=len(mtimes), oldest_seconds=oldest, attention=attention, report=[line])


if __name__ == "__main__":
    main()
