#!/usr/bin/python
# -*- coding: utf-8 -*-
# remedies: undo an archived change, refusing rows edited since.

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: remedies_undo
short_description: Restore the rows an archived remedies change modified
description:
  - Reads C(<archive_dir>/<change_id>.json) written by M(remedies_sql_change) (or by an
    earlier undo) and restores each row's before-image.
  - B(Plan) (all that happens in check mode). For every archived row compare the current row
    with the archived after-image. Equal means the row can be restored; equal to the
    before-image means it is already restored; anything else is a conflict (the row was
    edited, deleted or, for a delete, re-created since). Conflicts refuse the undo unless
    O(force=true). If every row is already restored the result is C(nothing_to_do), so
    undoing twice is safe.
  - B(Apply), in one transaction. Lock the rows (C(FOR UPDATE)), re-check the plan, restore
    (C(UPDATE) of every archived column for rows that exist, C(INSERT) of deleted rows,
    C(DELETE) of rows an undone undo had inserted), then archive the images it replaced as
    a new change with C(undo_of) set, so an undo can itself be undone, and commit.
  - The archived O(dialect), O(system) and O(database) must match this run's. The table must
    still be in the system's C(tables.yml), and its key and archived columns are
    re-validated against the real table.
version_added: "0.1.0"
author:
  - remedies maintainers
extends_documentation_fragment:
  - remedies_db
options:
  change_id:
    description:
      - Id of the archived change to undo (C(^[0-9A-Za-z-]+$)).
    type: str
    required: true
  archive_dir:
    description:
      - Folder of the change archive; the undo's own archive is written there as well.
    type: path
    required: true
  max_rows:
    description:
      - Refuse when more rows than this would be restored. Defaults to the number of rows
        in the archived change.
    type: int
  force:
    description:
      - Restore the before-image even of rows that conflict (edited, deleted or re-created
        since the change), overwriting those later edits. The overwritten images are archived.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    details: Check mode reports the rows that would be restored and the conflicts.
  diff_mode:
    support: full
    details: Current and restored images of up to five rows.
'''

EXAMPLES = r'''
- name: Show what undoing a change would do
  remedies_undo:
    dialect: mysql
    database: permanent
    sql_root: sql
    system: permanent
    change_id: 20261122T103000Z-a1b2c3
    archive_dir: var/archive
  check_mode: true
  register: undo_plan

- name: Undo it
  remedies_undo:
    dialect: mysql
    database: permanent
    sql_root: sql
    system: permanent
    change_id: 20261122T103000Z-a1b2c3
    archive_dir: var/archive
    catalog_id: P6
    audit_log: var/audit.jsonl
'''

RETURN = r'''
outcome:
  description: One of C(nothing_to_do), C(planned), C(changed), C(refused), C(failed).
  returned: always
  type: str
refused:
  description: True when a guard (conflicts, max_rows, mismatched archive) stopped the undo.
  returned: failure
  type: bool
plan:
  description: What the undo would restore.
  returned: when the archive could be read and the rows compared
  type: dict
  contains:
    count:
      description: Rows that would be restored.
      type: int
    keys:
      description: Their key values (first 100).
      type: list
    already_restored:
      description: Rows already equal to their before-image.
      type: int
    conflicts:
      description: Rows changed since the change, each C({key, reason}) (first 100).
      type: list
      elements: dict
    conflict_count:
      description: Number of conflicting rows.
      type: int
    plan_hash:
      description: sha256 of the rows to restore.
      type: str
    max_rows:
      description: The guard in force.
      type: int
change_id:
  description: Id of the new archive entry recording this undo.
  returned: changed
  type: str
undo_of:
  description: The change that was undone.
  returned: changed
  type: str
archive_path:
  description: Path of the new archive entry.
  returned: changed
  type: str
rows_changed:
  description: Rows restored.
  returned: changed
  type: int
'''

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.remedies_audit import Auditor
from ansible.module_utils.remedies_db import (
    Database,
    RemediesError,
    db_argument_spec,
    require_drivers,
    validate_common,
)
from ansible.module_utils.remedies_safety import Undo


def build_argument_spec():
    spec = dict(
        change_id=dict(type='str', required=True),
        archive_dir=dict(type='path', required=True),
        max_rows=dict(type='int'),
        force=dict(type='bool', default=False),
    )
    spec.update(db_argument_spec())
    return spec


def run_undo(module):
    p = module.params
    validate_common(p)
    undo = Undo(p)
    with Database(p) as db:
        undo.bind(db)
        todo, plan = undo.plan()
        if not todo:
            return {'changed': False, 'outcome': 'nothing_to_do', 'plan': plan,
                    'msg': 'change %s is already undone; nothing to do' % p['change_id']}
        if module.check_mode:
            result = {'changed': True, 'outcome': 'planned', 'plan': plan,
                      'msg': 'would restore %d rows of %s from change %s'
                             % (len(todo), undo.record['table'], p['change_id'])}
            if module._diff:
                result['diff'] = undo.check_mode_diff(todo)
            return result
        result = undo.apply(todo, plan)
    diff = result.pop('_diff')
    if module._diff:
        result['diff'] = diff
    return result


def main():
    module = AnsibleModule(argument_spec=build_argument_spec(), supports_check_mode=True)
    p = module.params
    auditor = Auditor(p, 'undo:%s' % p['change_id'], module.check_mode)
    require_drivers(module, auditor)
    try:
        result = run_undo(module)
    except RemediesError as exc:
        result = exc.fail_kwargs()
        result['failed'] = True
    auditor.finish(module, result, params={'change_id': p['change_id'], 'force': p['force']})


if __name__ == '__main__':
    main()
