#!/usr/bin/python
# -*- coding: utf-8 -*-
# remedies: a guarded, archived, undoable UPDATE or DELETE.

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: remedies_sql_change
short_description: Apply a guarded, archived change to the rows a named query selects
description:
  - B(Plan) (always first, and all that happens in check mode). In a read-only snapshot,
    without row locks, count the rows of O(target) and sample them, using exactly the
    target query text, and refuse if more than O(max_rows) match. Returns C(plan) with
    C(count), C(sample), C(keys) (first 100), C(plan_hash) and C(max_rows).
  - B(Apply) (not in check mode), in one transaction. Re-run O(target) with C(FOR UPDATE) to
    lock the rows; refuse and roll back if the locked rows differ from the plan, from
    O(expected_rows) or O(expected_plan_hash), or exceed O(max_rows). Run O(change) with
    C(:keys) bound to the locked key values and refuse unless it touched exactly those
    rows. Re-select the after-images (updates), write before- and after-images to
    C(<archive_dir>/<change_id>.json), and only then commit. If the archive cannot be
    written the transaction is rolled back and nothing changes.
  - The archive is what M(remedies_undo) restores from.
  - O(table) must be listed in C(<sql_root>/<dialect>/<system>/tables.yml) under
    C(allowed_tables). O(key_column) must be a real column of it and its primary key or a
    single-column unique key.
version_added: "0.1.0"
author:
  - remedies maintainers
extends_documentation_fragment:
  - remedies_db
options:
  target:
    description:
      - Named query (C(SELECT)) returning the full rows of O(table) to change, each once.
      - Must contain a C(WHERE) clause (no bounding predicate is refused). C(FOR UPDATE) is
        appended on a new line to lock the rows, so it may end in C(ORDER BY) or C(LIMIT).
    type: str
    required: true
  change:
    description:
      - Named C(UPDATE) or C(DELETE) of O(table) that bounds its rows with
        C(<key_column> IN :keys); the module binds C(keys) to the locked key values.
      - Example C(UPDATE record SET status = :new_status, updatedDT = NOW() WHERE recordId IN :keys).
    type: str
    required: true
  params:
    description:
      - Values for the binds of O(target) and O(change); each statement gets only the binds
        it uses. Every value must be used by one of them; C(keys) is reserved.
      - Scalars or lists of scalars (a list binds as an expanding C(IN) list; an empty list
        is allowed, and on PostgreSQL binds as an empty integer set). Keys containing
        C(password), C(secret) or C(token) are redacted in the archive and the audit log.
    type: dict
    default: {}
  table:
    description:
      - The table O(change) writes. Must be in C(allowed_tables) of the system's C(tables.yml).
    type: str
    required: true
  key_column:
    description:
      - Column identifying rows of O(table); checked against the table's real columns.
    type: str
    required: true
  max_rows:
    description:
      - Refuse when more rows than this match (at plan and again under lock).
    type: int
    required: true
  expected_rows:
    description:
      - Refuse unless exactly this many rows match, at plan and under lock. Pass the C(count)
        of an approved plan.
    type: int
  expected_plan_hash:
    description:
      - Refuse unless the matching rows hash to this value. Pass the C(plan_hash) of an
        approved plan so exactly the approved rows are changed.
    type: str
  sample_size:
    description:
      - Number of rows shown in C(plan.sample) and in the diff.
    type: int
    default: 5
  kind:
    description:
      - C(update) or C(delete). Derived from O(change); when given it must agree.
    type: str
    choices: [update, delete]
  archive_dir:
    description:
      - Folder of the append-only change archive; created (mode 0750) if missing.
    type: path
    required: true
  batch_size:
    description:
      - Batched mode. Apply the change in keyset batches of at most this many rows, each
        locked, changed, archived as C(<run_id>-b<n>.json) and committed on its own, so a
        run killed at any point loses no row and a re-run finishes the job.
      - The target must bind C(:after_key) (NULL first, then the last key of the previous
        batch) and end with C(ORDER BY <key_column> LIMIT :batch_size); both are bound by
        the module. O(max_rows) then bounds the whole run, and the plan counts every row
        the run would change.
      - Must not exceed O(max_rows). Without it the module changes everything in one
        transaction, as before.
    type: int
  max_batches:
    description:
      - Batched mode. Stop after this many batches; C(finished) is false and a re-run goes on.
    type: int
  max_seconds:
    description:
      - Batched mode. Start no new batch after this many seconds.
    type: int
  skip_locked:
    description:
      - Batched mode. Lock batches with C(FOR UPDATE SKIP LOCKED), so rows a live worker
        holds are left for the next run instead of waited for.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    details: Check mode plans only; the plan uses plain SELECTs in a read-only transaction.
  diff_mode:
    support: full
    details: Before and after images of the sample rows; in check mode the after side of an
      update is not evaluated.
notes:
  - The plan hash is the sha256 of the canonical JSON of the system, the target and change
    names, the sorted key values and the params.
  - C(changed) is true when rows were (or, in check mode, would be) changed.
'''

EXAMPLES = r'''
- name: Plan closing stale records (check mode shows the plan)
  remedies_sql_change:
    dialect: mysql
    database: permanent
    sql_root: sql
    system: permanent
    target: stale_records
    change: close_records
    table: record
    key_column: recordId
    params:
      older_than_days: 30
      new_status: closed
    max_rows: 500
    archive_dir: var/archive
    catalog_id: P6
    audit_log: var/audit.jsonl
  check_mode: true
  register: plan

- name: Apply exactly the approved plan
  remedies_sql_change:
    dialect: mysql
    database: permanent
    sql_root: sql
    system: permanent
    target: stale_records
    change: close_records
    table: record
    key_column: recordId
    params:
      older_than_days: 30
      new_status: closed
    max_rows: 500
    expected_rows: "{{ plan.plan.count }}"
    expected_plan_hash: "{{ plan.plan.plan_hash }}"
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
  description: True when a guard stopped the change; nothing was changed.
  returned: failure
  type: bool
plan:
  description: What matched, computed without writes or row locks.
  returned: when the target could be counted
  type: dict
  contains:
    count:
      description: Number of matching rows.
      type: int
    sample:
      description: The first O(sample_size) rows (JSON-safe).
      type: list
      elements: dict
    keys:
      description: The first 100 key values, sorted.
      type: list
    plan_hash:
      description: sha256 identifying exactly this set of rows and params; feed it back as
        O(expected_plan_hash).
      type: str
    max_rows:
      description: The O(max_rows) guard in force.
      type: int
change_id:
  description: Id of the archived change (UTC timestamp and random suffix).
  returned: changed
  type: str
  sample: 20261122T103000Z-a1b2c3
archive_path:
  description: Path of the archive file holding the before (and after) images.
  returned: changed
  type: str
rows_changed:
  description: Rows changed (equal to the locked row count).
  returned: changed
  type: int
kind:
  description: C(update) or C(delete).
  returned: changed
  type: str
run_id:
  description: Batched mode. Id of the run; its batches are archived as C(<run_id>-b<n>).
  returned: batched mode, applied
  type: str
change_ids:
  description: Batched mode. The archived change id of every committed batch, for M(remedies_undo).
  returned: batched mode, applied
  type: list
  elements: str
finished:
  description: Batched mode. False when O(max_batches) or O(max_seconds) stopped the run early.
  returned: batched mode, applied
  type: bool
batches:
  description: Batched mode. Batches committed.
  returned: batched mode, applied
  type: int
rows_per_second:
  description: Batched mode. Rows changed per second of the run.
  returned: batched mode, applied
  type: float
statement_ms:
  description: Batched mode. Count, maximum and 99th percentile of the lock, change and commit times.
  returned: batched mode, applied
  type: dict
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
from ansible.module_utils.remedies_safety import BatchedChange, GuardedChange


def build_argument_spec():
    spec = dict(
        target=dict(type='str', required=True),
        change=dict(type='str', required=True),
        params=dict(type='dict', default={}),
        table=dict(type='str', required=True),
        key_column=dict(type='str', required=True),
        max_rows=dict(type='int', required=True),
        expected_rows=dict(type='int'),
        expected_plan_hash=dict(type='str'),
        sample_size=dict(type='int', default=5),
        kind=dict(type='str', choices=['update', 'delete']),
        archive_dir=dict(type='path', required=True),
        batch_size=dict(type='int'),
        max_batches=dict(type='int'),
        max_seconds=dict(type='int'),
        skip_locked=dict(type='bool', default=False),
    )
    spec.update(db_argument_spec())
    return spec


def run_change(module):
    p = module.params
    validate_common(p)
    if p.get('batch_size') is None:
        for name in ('max_batches', 'max_seconds'):
            if p.get(name) is not None:
                raise RemediesError('%s needs batch_size (batched mode)' % name)
        if p.get('skip_locked'):
            raise RemediesError('skip_locked needs batch_size (batched mode)')
    change = GuardedChange(p) if p.get('batch_size') is None else BatchedChange(p)
    with Database(p) as db:
        change.bind(db)
        plan = change.plan()
        if plan['count'] == 0:
            return {'changed': False, 'outcome': 'nothing_to_do', 'plan': plan,
                    'msg': "target '%s' matches no rows; nothing to do" % p['target']}
        if module.check_mode:
            result = {'changed': True, 'outcome': 'planned', 'plan': plan,
                      'msg': "would %s %d rows of %s" % (change.kind, plan['count'], p['table'])}
            if 'batches' in plan:
                result['msg'] += ' in %d batches of at most %d' % (plan['batches'], plan['batch_size'])
            if module._diff:
                result['diff'] = change.check_mode_diff(plan)
            return result
        result = change.apply(plan)
    diff = result.pop('_diff')
    if module._diff:
        result['diff'] = diff
    return result


def main():
    module = AnsibleModule(argument_spec=build_argument_spec(), supports_check_mode=True)
    p = module.params
    auditor = Auditor(p, 'sql_change:%s/%s->%s' % (p['system'], p['target'], p['change']),
                      module.check_mode)
    require_drivers(module, auditor)
    try:
        result = run_change(module)
    except RemediesError as exc:
        result = exc.fail_kwargs()
        result['failed'] = True
    auditor.finish(module, result, params=p['params'])


if __name__ == '__main__':
    main()
