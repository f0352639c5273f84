#!/usr/bin/python
# -*- coding: utf-8 -*-
# remedies: enqueue a delayed_job for each Zenodo copy that needs one, archived and undoable.

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: dryad_enqueue_copy_jobs
short_description: Enqueue a delayed_job for every Zenodo copy the target query selects
description:
  - Does what Dryad's C(ZenodoCopyJob.perform_later(copy.id)) does for a copy put back to C(enqueued)
    (the admin page's resend, C(long_jobs.dryad restart)), that is one C(delayed_jobs) row per copy, with
    the ActiveJob handler YAML naming the job class and the copy id, on the copy type's queue and priority.
  - B(Plan) (all that happens in check mode) counts the copies O(target) selects, read-only, and
    refuses above O(max_rows).
  - B(Apply), in one transaction, locks those copies (C(FOR UPDATE)), refuses if they differ from the
    plan, inserts the jobs, archives the inserted rows in C(<archive_dir>/<change_id>.json) and only
    then commits. C(inv undo <change_id>) (M(remedies_undo)) deletes the jobs that have not run yet.
  - O(target) must return full rows of C(stash_engine_zenodo_copies) and exclude copies that already
    have a job, so running it twice enqueues nothing the second time.
version_added: "0.1.0"
author:
  - remedies maintainers
extends_documentation_fragment:
  - remedies_db
options:
  target:
    description: Named query returning the copies (full rows) that need a job.
    type: str
    required: true
  insert:
    description: Named C(INSERT INTO delayed_jobs) taking C(:priority), C(:handler) and C(:queue).
    type: str
    default: enqueue_copy_job
  params:
    description: Values for the binds of O(target).
    type: dict
    default: {}
  max_rows:
    description: Refuse when more copies than this match.
    type: int
    required: true
  archive_dir:
    description: Folder of the append-only change archive.
    type: path
    required: true
attributes:
  check_mode:
    support: full
    details: Check mode plans only (read-only count and sample).
  diff_mode:
    support: none
'''

EXAMPLES = r'''
- name: Enqueue jobs for the copies just put back to enqueued
  dryad_enqueue_copy_jobs:
    dialect: mysql
    database: dryad
    sql_root: sql
    system: dryad
    target: copies_needing_jobs
    params: {copy_ids: [12, 13], all_copies: 0}
    max_rows: 500
    archive_dir: var/archive
    catalog_id: D1
'''

RETURN = r'''
outcome:
  description: C(nothing_to_do), C(planned), C(changed), C(refused) or C(failed).
  returned: always
  type: str
plan:
  description: C(count), C(keys) (copy ids, first 100), C(plan_hash), C(max_rows).
  returned: when the target could be counted
  type: dict
jobs:
  description: The inserted jobs, C(copy_id) and C(job_id) each (first 100).
  returned: changed
  type: list
  elements: dict
change_id:
  description: Archive id; C(inv undo) deletes the jobs that have not run.
  returned: changed
  type: str
rows_changed:
  description: Jobs inserted.
  returned: changed
  type: int
'''

import uuid

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.remedies_audit import Auditor, redact
from ansible.module_utils.remedies_db import (
    Database,
    RemediesError,
    bind_values,
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

COPIES = 'stash_engine_zenodo_copies'
JOBS = 'delayed_jobs'
# copy_type -> (ActiveJob class, queue, priority), as Dryad enqueues them.
JOB_FOR = {'data': ('StashEngine::ZenodoCopyJob', 'zenodo_copy', 10),
           'software': ('StashEngine::ZenodoSoftwareJob', 'zenodo_software', -10),
           'software_publish': ('StashEngine::ZenodoSoftwareJob', 'zenodo_software', -10),
           'supp': ('StashEngine::ZenodoSuppJob', 'zenodo_supp', -10),
           'supp_publish': ('StashEngine::ZenodoSuppJob', 'zenodo_supp', -10)}


def handler_yaml(copy_id, copy_type):
    """ActiveJob's delayed_job wrapper, serialized the way the app writes it."""
    job_class, queue, priority = JOB_FOR[copy_type]
    return ('--- !ruby/object:ActiveJob::QueueAdapters::DelayedJobAdapter::JobWrapper\n'
            'job_data:\n'
            '  job_class: %s\n'
            '  job_id: %s\n'
            '  provider_job_id:\n'
            '  queue_name: %s\n'
            '  priority: %d\n'
            '  arguments:\n'
            '  - %d\n'
            '  executions: 0\n'
            '  locale: en\n'
            '  timezone: UTC\n' % (job_class, uuid.uuid4(), queue, priority, int(copy_id)))


class Enqueue(object):
    def __init__(self, params):
        self.p = params
        self.params = validate_params(params.get('params') or {})
        self.target = load_query(params['sql_root'], params['dialect'], params['system'], params['target'])
        self.insert = load_query(params['sql_root'], params['dialect'], params['system'], params['insert'])
        if self.target.keyword not in ('SELECT', 'WITH') or not self.target.has_where():
            raise RemediesError("target '%s' must be a SELECT with a WHERE clause" % self.target.name)
        if self.insert.keyword != 'INSERT' or set(self.insert.binds) != {'priority', 'handler', 'queue'}:
            raise RemediesError("insert '%s' must be an INSERT taking :priority, :handler and :queue"
                                % self.insert.name)
        for table in (COPIES, JOBS):
            check_table_allowed(params, table)
        if params['max_rows'] is None or params['max_rows'] < 1:
            raise RemediesError('max_rows must be a positive integer')
        check_params_used(self.params, [self.target])

    def copies(self, db, lock):
        values = bind_values(self.target, self.params)
        clause = self.target.statement(values, suffix='FOR UPDATE' if lock else None)
        rows = self.copies_table.rows(db.run(clause, values, "target '%s'" % self.target.name),
                                      "target '%s'" % self.target.name)
        rows.sort(key=lambda r: r['id'])
        return rows

    def plan_of(self, rows):
        keys = [r['id'] for r in rows]
        return {'count': len(rows), 'keys': keys[:100], 'max_rows': self.p['max_rows'],
                'sample': json_safe(rows[:5]),
                'plan_hash': plan_hash(self.p['system'], self.target.name, self.insert.name, keys, self.params)}

    def run(self, check_mode):
        with Database(self.p) as db:
            self.copies_table = TableInfo(db, COPIES, 'id')
            jobs = TableInfo(db, JOBS, 'id')
            tx = db.begin_read_only(snapshot=True)
            try:
                plan = self.plan_of(self.copies(db, lock=False))
            finally:
                rollback_quietly(tx)
            if plan['count'] > self.p['max_rows']:
                raise refuse('guard: %d copies exceed max_rows %d' % (plan['count'], self.p['max_rows']), plan=plan)
            if plan['count'] == 0:
                return {'changed': False, 'outcome': 'nothing_to_do', 'plan': plan,
                        'msg': 'no copy needs a job; nothing to do'}
            if check_mode:
                return {'changed': True, 'outcome': 'planned', 'plan': plan,
                        'msg': 'would enqueue %d Zenodo copy jobs' % plan['count']}
            ensure_archive_dir(self.p['archive_dir'])
            tx = db.begin()
            try:
                rows = self.copies(db, lock=True)
                locked = self.plan_of(rows)
                if locked['plan_hash'] != plan['plan_hash']:
                    raise refuse('guard: the copies changed between plan (%d) and lock (%d); rolled back, '
                                 'nothing changed' % (plan['count'], locked['count']), plan=plan)
                inserted = []
                for row in rows:
                    if row['copy_type'] not in JOB_FOR:
                        raise refuse("copy %s has copy_type '%s', which no Zenodo job handles; rolled back"
                                     % (row['id'], row['copy_type']), plan=plan)
                    _, queue, priority = JOB_FOR[row['copy_type']]
                    values = {'priority': priority, 'handler': handler_yaml(row['id'], row['copy_type']),
                              'queue': queue}
                    result = db.run(self.insert.statement(values), values, "insert '%s'" % self.insert.name)
                    if result.rowcount != 1 or not result.lastrowid:
                        raise refuse('guard: enqueuing a job for copy %s inserted %d rows; rolled back'
                                     % (row['id'], result.rowcount), plan=plan)
                    inserted.append((row['id'], result.lastrowid))
                job_ids = [j for _, j in inserted]
                after = jobs.by_key(job_ids, 'read the inserted jobs')
                record = base_record(self.p, 'insert', jobs)
                record.update({'target': self.target.name, 'change': self.insert.name,
                               'params': redact(json_safe(self.params)), 'plan_hash': plan['plan_hash'],
                               'row_count': len(job_ids), 'keys': [to_archive(k) for k in job_ids],
                               'before': [], 'after': row_images([after[k] for k in job_ids], jobs.columns)})
                path = archive_then_commit(db, tx, self.p['archive_dir'], record)
            finally:
                rollback_quietly(tx)
        return {'changed': True, 'outcome': 'changed', 'plan': plan, 'change_id': record['change_id'],
                'archive_path': path, 'rows_changed': len(job_ids),
                'jobs': [{'copy_id': c, 'job_id': j} for c, j in inserted[:100]],
                'msg': 'enqueued %d Zenodo copy jobs (change %s)' % (len(job_ids), record['change_id'])}


def main():
    spec = dict(target=dict(type='str', required=True), insert=dict(type='str', default='enqueue_copy_job'),
                params=dict(type='dict', default={}), max_rows=dict(type='int', required=True),
                archive_dir=dict(type='path', required=True))
    spec.update(db_argument_spec())
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    p = module.params
    auditor = Auditor(p, 'enqueue_jobs:%s/%s->%s' % (p['system'], p['target'], p['insert']), module.check_mode)
    require_drivers(module, auditor)
    try:
        validate_common(p)
        result = Enqueue(p).run(module.check_mode)
    except RemediesError as exc:
        result = exc.fail_kwargs()
        result['failed'] = True
    auditor.finish(module, result, params=p['params'])


if __name__ == '__main__':
    main()
