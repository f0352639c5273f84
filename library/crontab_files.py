#!/usr/bin/python
# -*- coding: utf-8 -*-
# Install crontab files kept in the repo into /etc/cron.d, safely.
from __future__ import annotations

DOCUMENTATION = r"""
module: crontab_files
short_description: Install crontab files (one per job) into /etc/cron.d, validated first, with diff and backup
description:
  - Parses every given crontab file the way cron reads C(/etc/cron.d) (five time fields or an C(@) keyword,
    a user that exists on the host, a command, environment lines) and refuses them all, installing
    nothing, if any one does not parse.
  - Installs each file as C(<dest_dir>/<prefix><name>), mode 0644, owned by root. A file whose content is
    already the same is left alone (idempotent). A file that is replaced is first copied to I(backup_dir),
    outside C(/etc/cron.d) so that cron never runs a backup.
  - Touches only the files it is given. Other crontabs in I(dest_dir), with the prefix or not, are never
    removed or rewritten; those with the prefix are listed as C(unmanaged).
version_added: "0.1.0"
options:
  files:
    description: The crontab files, each a dict with C(name) (file name, letters, digits, C(-) and C(_)) and C(content).
    type: list
    elements: dict
    required: true
  dest_dir:
    description: Where cron reads system crontabs.
    type: path
    default: /etc/cron.d
  prefix:
    description: Prefix of the installed names (the repo's Makefile installs C(backoffice-<name>)).
    type: str
    default: ""
  backup_dir:
    description: Where replaced files are kept, as C(<installed name>.<timestamp>).
    type: path
    default: /var/lib/remedies/backups/cron.d
attributes:
  check_mode:
    support: full
    description: Check mode validates, and reports what would be installed and the diff, writing nothing.
  diff_mode:
    support: full
    description: Returns a before/after diff per file.
author: remedies
"""

EXAMPLES = r"""
- name: Reinstall the backoffice crontabs from the repo
  crontab_files:
    prefix: backoffice-
    files:
      - name: wa-doh-linelists
        content: "{{ lookup('ansible.builtin.file', 'crontabs/seattleflu/wa-doh-linelists') }}\n"
"""

RETURN = r"""
files:
  description: Per file, C(name), C(path), C(status) (unchanged, created, updated; C(would ...) in check mode) and C(backup).
  type: list
  elements: dict
  returned: success
unmanaged:
  description: Files in I(dest_dir) with the prefix that were not given; left alone.
  type: list
  elements: str
  returned: success
errors:
  description: Every parse error, as C(file:line: reason), when the files are refused.
  type: list
  elements: str
  returned: when refused
refused:
  description: True when a file did not parse and nothing was installed.
  type: bool
  returned: when refused
report:
  description: One line per file.
  type: list
  elements: str
  returned: always
"""

import os
import pwd
import re
import time

from ansible.module_utils.basic import AnsibleModule

NAME_RE = re.compile(r"^[A-Za-z0-9_-]+$")  # Debian's cron ignores /etc/cron.d names with dots
ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\s*=")
KEYWORDS = ("@reboot", "@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
MONTHS = {m: i + 1 for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split())}
DAYS = {d: i for i, d in enumerate("sun mon tue wed thu fri sat".split())}
FIELDS = (("minute", 0, 59, {}), ("hour", 0, 23, {}), ("day of month", 1, 31, {}), ("month", 1, 12, MONTHS),
          ("day of week", 0, 7, DAYS))


def check_field(text, label, low, high, names):
    """None when `text` is a valid cron field, else the reason."""
    for item in text.split(","):
        base, _, step = item.partition("/")
        if step and not (step.isdigit() and int(step) > 0):
            return f"{label}: bad step {step!r}"
        if base == "*":
            continue
        ends = base.split("-")
        if len(ends) > 2 or not all(ends):
            return f"{label}: cannot read {item!r}"
        values = []
        for end in ends:
            if end.lower() in names:
                values.append(names[end.lower()])
            elif end.isdigit():
                values.append(int(end))
            else:
                return f"{label}: {end!r} is not a number" + (" or a name" if names else "")
        if any(v < low or v > high for v in values):
            return f"{label}: {base!r} is outside {low}-{high}"
        if len(values) == 2 and values[0] > values[1]:
            return f"{label}: range {base!r} runs backwards"
    return None


def user_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def parse(name, content, users=user_exists):
    """Every reason cron would not run this file as meant, as 'name:line: reason'."""
    errors = []
    if not NAME_RE.match(name):
        errors.append(f"{name}: file name must be letters, digits, - and _ only (cron ignores other names)")
    if not content.endswith("\n"):
        errors.append(f"{name}: does not end with a newline (cron ignores the last line)")
    jobs = 0
    for number, raw in enumerate(content.splitlines(), 1):
        line = raw.strip()
        where = f"{name}:{number}"
        if not line or line.startswith("#") or ENV_RE.match(line):
            continue
        parts = line.split(None, 6 if not line.startswith("@") else 2)
        if line.startswith("@"):
            if parts[0] not in KEYWORDS:
                errors.append(f"{where}: unknown keyword {parts[0]!r}")
                continue
            if len(parts) < 3:
                errors.append(f"{where}: needs a user and a command after {parts[0]}")
                continue
            user, command = parts[1], parts[2]
        else:
            if len(parts) < 7:
                errors.append(f"{where}: needs five time fields, a user and a command (found {len(parts)} fields)")
                continue
            bad = [r for r in (check_field(v, *spec) for v, spec in zip(parts[:5], FIELDS)) if r]
            if bad:
                errors.extend(f"{where}: {r}" for r in bad)
                continue
            user, command = parts[5], parts[6]
        if not users(user):
            errors.append(f"{where}: user {user!r} does not exist on this host")
        if re.search(r"(?<!\\)%", command):
            errors.append(f"{where}: unescaped % in the command (cron turns it into a newline; write \\%)")
        jobs += 1
    if not jobs and not errors:
        errors.append(f"{name}: no job in the file")
    return errors


def unified(before, after, path):
    import difflib
    return "".join(difflib.unified_diff(before.splitlines(True), after.splitlines(True), path + " (installed)",
                                        path + " (repo)"))


class Installer:
    def __init__(self, module):
        self.module = module
        self.p = module.params

    def run(self):
        files = self.p["files"]
        errors, seen = [], set()
        for f in files:
            if not isinstance(f, dict) or "name" not in f or "content" not in f:
                self.module.fail_json(msg="each file needs a name and a content")
            if f["name"] in seen:
                errors.append(f"{f['name']}: given twice")
            seen.add(f["name"])
            errors.extend(parse(f["name"], f["content"]))
        if errors:
            self.module.fail_json(msg="refused, nothing installed: " + "; ".join(errors), errors=errors,
                                  refused=True, report=errors)
        plans = []
        for f in files:
            path = os.path.join(self.p["dest_dir"], self.p["prefix"] + f["name"])
            try:
                with open(path) as fh:
                    before = fh.read()
            except FileNotFoundError:
                before = None
            plans.append((f, path, before))
        result = {"changed": False, "files": [], "report": []}
        diffs = []
        stamp = time.strftime("%Y%m%dT%H%M%S")
        for f, path, before in plans:
            content = f["content"]
            mode_ok = before is not None and (os.stat(path).st_mode & 0o7777) == 0o644 and os.stat(path).st_uid == 0
            if before == content and mode_ok:
                status, backup = "unchanged", None
            else:
                status = "created" if before is None else "updated"
                backup = None
                result["changed"] = True
                if before is not None and before != content:
                    diffs.append({"before_header": path, "after_header": path, "before": before, "after": content})
                elif before is None:
                    diffs.append({"before_header": path, "after_header": path, "before": "", "after": content})
                if not self.module.check_mode:
                    backup = self.install(path, content, before, stamp)
                else:
                    status = "would be " + status
            result["files"].append({"name": f["name"], "path": path, "status": status, "backup": backup})
            line = f"{path}: {status}" + (f" (backup {backup})" if backup else "")
            if before is not None and before != content:
                changed_lines = [ln for ln in unified(before, content, path).splitlines()
                                 if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]
                line += f"; {len(changed_lines)} line(s) differ"
                result["report"].append(line)
                result["report"].extend("    " + ln for ln in changed_lines)
                continue
            result["report"].append(line)
        given = {self.p["prefix"] + f["name"] for f in files}
        try:
            present = sorted(os.listdir(self.p["dest_dir"]))
        except FileNotFoundError:
            present = []
        result["unmanaged"] = [n for n in present if n.startswith(self.p["prefix"]) and n not in given] \
            if self.p["prefix"] else []
        for n in result["unmanaged"]:
            result["report"].append(f"{os.path.join(self.p['dest_dir'], n)}: not in the repo; left alone")
        if self.module._diff:
            result["diff"] = diffs
        return result

    def install(self, path, content, before, stamp):
        backup = None
        if before is not None:
            os.makedirs(self.p["backup_dir"], mode=0o700, exist_ok=True)
            backup = os.path.join(self.p["backup_dir"], f"{os.path.basename(path)}.{stamp}")
            with open(backup, "w") as fh:
                fh.write(before)
        os.makedirs(self.p["dest_dir"], exist_ok=True)
        tmp = os.path.join(self.p["dest_dir"], f".{os.path.basename(path)}.remedies-tmp")
        with open(tmp, "w") as fh:
            fh.write(content)
        os.chmod(tmp, 0o644)
        os.chown(tmp, 0, 0)
        os.replace(tmp, path)
        # cron re-reads /etc/cron.d when the directory's mtime changes.
        os.utime(self.p["dest_dir"], None)
        return backup


def main():
    module = AnsibleModule(
        argument_spec=dict(
            files=dict(type="list", elements="dict", required=True),
            dest_dir=dict(type="path", default="/etc/cron.d"),
            prefix=dict(type="str", default=""),
            backup_dir=dict(type="path", default="/var/lib/remedies/backups/cron.d"),
        ),
        supports_check_mode=True,
    )
    if not module.params["files"]:
        module.fail_json(msg="no crontab files given")
    if module.params["prefix"] and not NAME_RE.match(module.params["prefix"]):
        module.fail_json(msg="prefix must be letters, digits, - and _ only")
    module.exit_json(**Installer(module).run())


if __name__ == "__main__":
    main()
