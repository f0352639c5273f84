#!/usr/bin/python
# -*- coding: utf-8 -*-
# remedies: which delayed_job lock holders on this host are no longer running.
from __future__ import annotations

DOCUMENTATION = r"""
module: dryad_dead_workers
short_description: Tell which delayed_job lock holders on this host are dead
description:
  - delayed_job stamps a claimed row with C(locked_by = "host:<name> pid:<pid>"). Given those values,
    this module checks, on the host itself, whether each pid named for this host is still a running
    worker (alive, and its command line matches I(pattern), so a reused pid does not count).
  - Read-only; it reports and changes nothing.
version_added: "0.1.0"
options:
  lockers:
    description: C(locked_by) values, from any host; only those naming this host are judged.
    type: list
    elements: str
    default: []
  hostname:
    description: This host's name as the app writes it; default the kernel's host name.
    type: str
  pattern:
    description: Substring of a live worker's command line (production C(delayed_job)).
    type: str
    default: delayed_job
attributes:
  check_mode:
    support: full
    description: Read-only; runs the same in check mode.
author: remedies
"""

EXAMPLES = r"""
- name: Find dead lock holders
  dryad_dead_workers:
    lockers: ["host:uc3-dryadui02x2-prd-2c pid:1234"]
"""

RETURN = r"""
hostname:
  description: This host's name as the app writes it.
  type: str
  returned: always
dead:
  description: C(locked_by) values of this host whose worker is gone.
  type: list
  elements: str
  returned: always
alive:
  description: C(locked_by) values of this host whose worker runs.
  type: list
  elements: str
  returned: always
workers:
  description: Pids of the live workers on this host (command line matching I(pattern)).
  type: list
  elements: int
  returned: always
"""

import os
import re
import socket

from ansible.module_utils.basic import AnsibleModule

LOCKER_RE = re.compile(r"^host:(?P<host>\S+) pid:(?P<pid>\d+)$")


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return None


def main():
    module = AnsibleModule(argument_spec=dict(lockers=dict(type="list", elements="str", default=[]),
                                              hostname=dict(type="str"),
                                              pattern=dict(type="str", default="delayed_job")),
                           supports_check_mode=True)
    p = module.params
    me = p["hostname"] or socket.gethostname()
    dead, alive = [], []
    for locker in p["lockers"]:
        m = LOCKER_RE.match(locker or "")
        if not m or m.group("host") != me:
            continue
        line = cmdline(int(m.group("pid")))
        (alive if line is not None and p["pattern"] in line else dead).append(locker)
    workers = sorted(int(d) for d in os.listdir("/proc") if d.isdigit() and p["pattern"] in (cmdline(d) or "")
                     and int(d) != os.getpid())
    report = [f"{len(alive)} lock(s) held by live workers, {len(dead)} by dead ones" +
              (f": {', '.join(dead)}" if dead else "")] if alive or dead else []
    module.exit_json(changed=False, hostname=me, dead=dead, alive=alive, workers=workers, report=report,
                     attention=bool(dead))


if __name__ == "__main__":
    main()
