#!/usr/bin/python
# -*- coding: utf-8 -*-
# remedies: Dryad's hold files (defer_jobs.txt, hold-submissions.txt) in place or gone.
from __future__ import annotations

DOCUMENTATION = r"""
module: dryad_hold_files
short_description: Put Dryad's hold files in place, or remove them
description:
  - While C(defer_jobs.txt) exists in the releases folder (the parent of C(current)), a Zenodo job
    that starts sets its copy to C(deferred); while C(hold-submissions.txt) exists, a Merritt
    submission is recorded C(rejected_shutting_down). This is what C(long_jobs.dryad drain) touches
    and C(long_jobs.dryad restart) removes.
  - Idempotent; reports what was there before (C(was)).
version_added: "0.1.0"
options:
  releases_dir:
    description: The app's releases folder (C(<deploy>/releases)); must exist.
    type: path
    required: true
  files:
    description: The hold file names.
    type: list
    elements: str
    default: [defer_jobs.txt, hold-submissions.txt]
  state:
    description: C(present) holds new work, C(absent) lets it run.
    type: str
    choices: [present, absent]
    required: true
  owner:
    description: Owner of files created (the app's role account).
    type: str
  note:
    description: Text written into created files (who held the work, and why).
    type: str
    default: remedies
attributes:
  check_mode:
    support: full
    description: Check mode reports what would be touched or removed and touches nothing.
author: remedies
"""

EXAMPLES = r"""
- name: Drain
  dryad_hold_files:
    releases_dir: /home/ec2-user/deploy/releases
    state: present
    owner: ec2-user
"""

RETURN = r"""
was:
  description: C(in place), C(partly in place) or C(absent), before this run.
  type: str
  returned: always
present:
  description: Hold files present after this run.
  type: list
  elements: str
  returned: always
report:
  description: One line saying what happened.
  type: list
  elements: str
  returned: always
"""

import os
import pwd

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec=dict(
        releases_dir=dict(type="path", required=True),
        files=dict(type="list", elements="str", default=["defer_jobs.txt", "hold-submissions.txt"]),
        state=dict(type="str", choices=["present", "absent"], required=True),
        owner=dict(type="str"),
        note=dict(type="str", default="remedies")), supports_check_mode=True)
    p = module.params
    folder = p["releases_dir"]
    if not os.path.isdir(folder):
        module.fail_json(msg=f"{folder} does not exist here: is dryad_deploy_dir right? Nothing was changed")
    if any("/" in f or f in ("", ".", "..") for f in p["files"]):
        module.fail_json(msg="hold file names must be plain file names")
    paths = [os.path.join(folder, f) for f in p["files"]]
    before = [f for f, path in zip(p["files"], paths) if os.path.exists(path)]
    was = "in place" if len(before) == len(paths) else "partly in place" if before else "absent"
    todo = [f for f in p["files"] if (f in before) != (p["state"] == "present")]
    uid = gid = None
    if p["owner"] and p["state"] == "present":
        try:
            entry = pwd.getpwnam(p["owner"])
            uid, gid = entry.pw_uid, entry.pw_gid
        except KeyError:
            module.fail_json(msg=f"no user {p['owner']} on this host; nothing was changed")
    if not module.check_mode:
        for name in todo:
            path = os.path.join(folder, name)
            if p["state"] == "present":
                with open(path, "w") as f:
                    f.write(p["note"] + "\n")
                if uid is not None:
                    os.chown(path, uid, gid)
            else:
                os.unlink(path)
    after = sorted(before + todo) if p["state"] == "present" else sorted(set(before) - set(todo))
    if not todo:
        line = ("drain already in place: both hold files were there; nothing to touch" if p["state"] == "present"
                else "no hold files; nothing to remove")
    else:
        verb = ("would touch " if module.check_mode else "touched ") if p["state"] == "present" else \
            ("would remove " if module.check_mode else "removed ")
        line = f"hold files were {was}; {verb}{', '.join(todo)}"
    module.exit_json(changed=bool(todo), was=was, present=after if not module.check_mode else before,
                     report=[line], msg=line)


if __name__ == "__main__":
    main()
