#!/usr/bin/python
# -*- coding: utf-8 -*-
# remedies: a guarded, archived, undoable INSERT of the rows a named query selects.

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: remedies_sql_insert
short_description: Insert the rows a named query describes, guarded, archived and undoable
description:
  - The INSERT counterpart of M(remedies_sql_change), built on the same safety core.
  - B(Plan) (always first, and all that happens in check mode). In a read-only snapshot,
    run O(target), a C(SELECT) whose result columns are columns of O(table); each result
    row is one row to insert. Refuse if more than O(max_rows) come back. No locks, no writes.
  - B(Apply) (not in check mode), in one transaction. Re-run O(target) with C(FOR UPDATE)
    (locking the rows it reads, so they cannot change under the insert); refuse and roll
    back if the rows differ from the plan, from O(expected_rows) or O(expected_plan_hash),
    or exceed O(max_rows). Insert each row (values bound, columns checked against the
    table), read the inserted rows back whole, write them to C(<archive_dir>/<change_id>.json)
    as after-images with no before-images, and only then commit.
  - M(remedies_undo) undoes it by deleting exactly the inserted rows (refusing rows edited
    since, unless forced).
  - O(table) must be in C(allowed_tables) of the system's C(tables.yml); O(key_column) its
    primary key or a single-column unique key, filled in by the database (an identity).
version_added: "0.1.0"
author:
  - remedies maintainers
extends_documentation_fragment:
  - remedies_db
options:
  target:
    description:
      - Named C(SELECT) returning, per row to insert, values named after columns of O(table).
      - Must contain a C(WHERE) clause. Make it exclude rows that already exist, so that a
        second run has nothing to do.
    type: str
    required: true
  params:
    description: Values for the binds of O(target).
    type: dict
    default: {}
  table:
    description: The table to insert into (C(schema.table) allowed). Must be in C(allowed_tables).
    type: str
    required: true
  key_column:
    description: The table's key, whose values the database assigns; the archive records them.
    type: str
    required: true
  max_rows:
    description: Refuse when more rows than this would be inserted (at plan and under lock).
    type: int
    required: true
  expected_rows:
    description: Refuse unless exactly this many rows would be inserted.
    type: int
  expected_plan_hash:
    description: Refuse unless the rows to insert hash to this value (an approved plan's C(plan_hash)).
    type: str
  sample_size:
    description: Rows shown in C(plan.sample).
    type: int
    default: 5
  archive_dir:
    description: Folder of the append-only change archive; created (mode 0750) if missing.
    type: path
    required: true
attributes:
  check_mode:
    support: full
    details: Check mode plans only, with a plain SELECT in a read-only transaction.
  diff_mode:
    support: none
'''

EXAMPLES = r'''
- name: S3 create samples with only their sample identifiers
  remedies_sql_insert:
    dialect: postgresql
    database: id3c
    sql_root: sql
    system: id3c
    target: samples_to_create
    table: warehouse.sample
    key_column: sample_id
    params:
      barcodes: [aaaaaaaa, bbbbbbbb]
    max_rows: 100
    archive_dir: var/archive
    catalog_id: S3
'''

RETURN = r'''
outcome:
  description: C(nothing_to_do), C(planned), C(changed), C(refused) or C(failed).
  returned: always
  type: str
plan:
  description: The rows to insert, read without locks or writes.
  returned: when the target could be run
  type: dict
  contains:
    count:
      description: Rows to insert.
      type: int
    sample:
      description: The first O(sample_size) of them.
      type: list
      elements: dict
    plan_hash:
      description: sha256 of the rows and params; feed it back as O(expected_plan_hash).
      type: str
    max_rows:
      description: The guard in force.
      type: int
change_id:
  description: Id of the archived change.
  returned: changed
  type: str
keys:
  description: Key values of the inserted rows.
  returned: changed
  type: list
rows_changed:
  description: Rows inserted.
  returned: changed
  type: int
'''

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.remedies_audit import Auditor, redact
from ansible.module_utils.remedies_db import (
    Database,
    RemediesError,
    bind_values,
    canonical_json,
    check_params_used,
    db_argument_spec,
    json_safe,
    load_query,
    refuse,
    require_drivers,
    rollback_quietly,
    validate_common,
    validate_params,
)
from ansible.module_utils.remedies_safety import (
    TableInfo,
    archive_then_commit,
    base_record,
    check_table_allowed,
    ensure_archive_dir,
    plan_hash,
    row_images,
    to_archive,
)

try:
    from sqlalchemy import text
except ImportError:
    pass  # require_drivers() reports it


def build_argument_spec():
    spec = dict(
        target=dict(type='str', required=True),
        params=dict(type='dict', default={}),
        table=dict(type='str', required=True),
        key_column=dict(type='str', required=True),
        max_rows=dict(type='int', required=True),
        expected_rows=dict(type='int'),
        expected_plan_hash=dict(type='str'),
        sample_size=dict(type='int', default=5),
        archive_dir=dict(type='path', required=True),
    )
    spec.update(db_argument_spec())
    return spec


class GuardedInsert(object):
    def __init__(self, p):
        self.p = p
        self.params = validate_params(p['params'] or {})
        self.target = load_query(p['sql_root'], p['dialect'], p['system'], p['target'])
        if self.target.keyword not in ('SELECT', 'WITH'):
            raise RemediesError("target '%s' must be a SELECT of the rows to insert" % self.target.name)
        if not self.target.has_where():
            raise refuse("target '%s' has no bounding predicate (WHERE)" % self.target.name)
        check_params_used(self.params, [self.target])
        self.table_name = check_table_allowed(p, p['table'])
        if p['max_rows'] is None or p['max_rows'] < 1:
            raise RemediesError('max_rows must be a positive integer')
        self.db = self.table = None

    def bind(self, db):
        self.db = db
        self.table = TableInfo(db, self.table_name, self.p['key_column'])
        db.raw_json()

    def _rows(self, lock):
        values = bind_values(self.target, self.params)
        result = self.db.run(self.target.statement(values, suffix='FOR UPDATE' if lock else None), values,
                             "target '%s'" % self.target.name)
        names = list(result.keys())
        bad = [n for n in names if n not in self.table.columns or n == self.table.key_column]
        if bad:
            raise refuse("target '%s' returns %s, not insertable columns of %s"
                         % (self.target.name, ', '.join(bad), self.table.name))
        rows = [dict(zip(names, r)) for r in result]
        rows.sort(key=canonical_json)
        return names, rows

    def _hash(self, rows):
        return plan_hash(self.p['system'], self.target.name, 'insert:%s' % self.table.name,
                         [canonical_json(r) for r in rows], self.params)

    def _guards(self, rows, digest, plan):
        if len(rows) > self.p['max_rows']:
            raise refuse('guard: %d rows exceed max_rows %d' % (len(rows), self.p['max_rows']), plan=plan)
        if self.p.get('expected_rows') is not None and len(rows) != self.p['expected_rows']:
            raise refuse('guard: %d rows to insert now but expected_rows is %d; nothing changed'
                         % (len(rows), self.p['expected_rows']), plan=plan)
        if self.p.get('expected_plan_hash') and digest != self.p['expected_plan_hash']:
            raise refuse('guard: the rows to insert differ from the approved plan; nothing changed', plan=plan)

    def plan(self):
        tx = self.db.begin_read_only(snapshot=True)
        try:
            _, rows = self._rows(lock=False)
        finally:
            rollback_quietly(tx)
        digest = self._hash(rows)
        plan = {'count': len(rows), 'sample': json_safe(rows[:self.p['sample_size']]), 'plan_hash': digest,
                'max_rows': self.p['max_rows']}
        if rows:
            self._guards(rows, digest, plan)
        return plan

    def apply(self, plan):
        db, table = self.db, self.table
        ensure_archive_dir(self.p['archive_dir'])
        tx = db.begin()
        try:
            names, rows = self._rows(lock=True)
            digest = self._hash(rows)
            self._guards(rows, digest, plan)
            if len(rows) != plan['count'] or digest != plan['plan_hash']:
                raise refuse('guard: the rows to insert changed between plan (%d) and lock (%d); rolled back, '
                             'nothing changed' % (plan['count'], len(rows)), plan=plan)
            sql = text('INSERT INTO %s (%s) VALUES (%s) RETURNING %s' % (
                table.q_table, ', '.join(table.quote(n) for n in names),
                ', '.join(':v%d' % i for i in range(len(names))), table.q_key))
            keys = []
            for row in rows:
                keys.append(db.run(sql, dict(('v%d' % i, row[n]) for i, n in enumerate(names)),
                                   'insert into %s' % table.name).scalar())
            inserted = table.by_key(keys, 'read the inserted rows')
            record = base_record(self.p, 'insert', table)
            record.update({
                'target': self.target.name, 'change': 'insert:%s' % table.name,
                'params': redact(json_safe(self.params)), 'plan_hash': digest, 'row_count': len(keys),
                'keys': [to_archive(k) for k in keys], 'before': [],
                'after': row_images([inserted[k] for k in keys], table.columns),
            })
            path = archive_then_commit(db, tx, self.p['archive_dir'], record)
        finally:
            rollback_quietly(tx)
        return {'changed': True, 'outcome': 'changed', 'plan': plan, 'change_id': record['change_id'],
                'archive_path': path, 'rows_changed': len(keys), 'keys': json_safe(keys),
                'msg': 'inserted %d rows into %s (change %s)' % (len(keys), table.name, record['change_id'])}


def run(module):
    p = module.params
    validate_common(p)
    insert = GuardedInsert(p)
    with Database(p) as db:
        insert.bind(db)
        plan = insert.plan()
        if plan['count'] == 0:
            return {'changed': False, 'outcome': 'nothing_to_do', 'plan': plan,
                    'msg': "target '%s' has no rows to insert; nothing to do" % p['target']}
        if module.check_mode:
            return {'changed': True, 'outcome': 'planned', 'plan': plan,
                    'msg': 'would insert %d rows into %s' % (plan['count'], p['table'])}
        return insert.apply(plan)


def main():
    module = AnsibleModule(argument_spec=build_argument_spec(), supports_check_mode=True)
    p = module.params
    auditor = Auditor(p, 'sql_insert:%s/%s->%s' % (p['system'], p['target'], p['table']), module.check_mode)
    require_drivers(module, auditor)
    try:
        result = run(module)
    except RemediesError as exc:
        result = exc.fail_kwargs()
        result['failed'] = True
    auditor.finish(module, result, params=p['params'])


if __name__ == '__main__':
    main()
