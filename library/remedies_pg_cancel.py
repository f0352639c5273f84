#!/usr/bin/python
# -*- coding: utf-8 -*-
# remedies: cancel (and, only when asked, terminate) one user's long-running PostgreSQL queries.

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: remedies_pg_cancel
short_description: Cancel a PostgreSQL user's queries that have run longer than a limit
description:
  - B(Plan) (all that happens in check mode). Read C(pg_stat_activity) for the backends of
    O(user) in state C(active) whose query started more than O(older_than_seconds) ago. The
    plan lists each pid, its duration and the head of its query. No signal is sent.
  - B(Apply). For each planned backend, C(pg_cancel_backend) it, in one statement that
    checks the backend still runs the same query (pid, user, state and query start). Then
    wait up to O(wait_seconds) for the queries to end.
  - With O(terminate=true), the backends whose query is still running after O(wait_seconds)
    are ended with C(pg_terminate_backend) (the same same-query check), and waited for again.
    Without it, a query that ignores the cancel is reported and the result asks for attention.
  - The login needs C(pg_signal_backend) (or to be the same user) and C(pg_read_all_stats) to
    see other users' query texts. Superuser backends cannot be signalled by it.
version_added: "0.1.0"
author:
  - remedies maintainers
extends_documentation_fragment:
  - remedies_db
options:
  user:
    description: PostgreSQL user whose queries are cancelled (e.g. C(metabase)).
    type: str
    required: true
  older_than_seconds:
    description: Only queries running longer than this many seconds.
    type: float
    required: true
  max_backends:
    description: Refuse when more backends than this match (a guard against a wrong user or limit).
    type: int
    default: 20
  terminate:
    description: Escalate to C(pg_terminate_backend) for queries still running after O(wait_seconds).
    type: bool
    default: false
  wait_seconds:
    description: How long to wait for cancelled (or terminated) queries to end.
    type: float
    default: 10
attributes:
  check_mode:
    support: full
    details: Check mode only reads C(pg_stat_activity); it never sends a signal.
  diff_mode:
    support: none
'''

EXAMPLES = r'''
- name: S10 cancel Metabase queries running for more than 5 minutes
  remedies_pg_cancel:
    dialect: postgresql
    database: id3c
    sql_root: sql
    system: id3c
    user: metabase
    older_than_seconds: 300
    catalog_id: S10
    audit_log: var/audit.jsonl
'''

RETURN = r'''
outcome:
  description: C(nothing_to_do), C(planned), C(changed), C(refused) or C(failed).
  returned: always
  type: str
plan:
  description: The matching backends, read without signalling.
  returned: always
  type: dict
  contains:
    count:
      description: Number of matching backends.
      type: int
    backends:
      description: pid, user, seconds, query_start and query_head of each.
      type: list
      elements: dict
cancelled:
  description: pids whose query ended after pg_cancel_backend.
  returned: changed
  type: list
  elements: int
terminated:
  description: pids ended by pg_terminate_backend (O(terminate=true) only).
  returned: changed
  type: list
  elements: int
still_running:
  description: pids whose query was still running at the end.
  returned: changed
  type: list
  elements: int
data:
  description: C(cancelled), C(terminated) and C(still_running) again, for C(inv --json).
  returned: changed
  type: dict
report:
  description: One line per backend and what happened to it.
  returned: always
  type: list
  elements: str
'''

import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.remedies_audit import Auditor
from ansible.module_utils.remedies_db import (
    Database,
    RemediesError,
    db_argument_spec,
    json_safe,
    refuse,
    require_drivers,
    rollback_quietly,
    validate_common,
)

try:
    from sqlalchemy import text
except ImportError:
    pass  # require_drivers() reports it

ACTIVE = '''
SELECT pid, usename AS user, query_start, backend_start,
       EXTRACT(EPOCH FROM clock_timestamp() - query_start) AS seconds,
       left(regexp_replace(query, '\\s+', ' ', 'g'), 120) AS query_head
FROM pg_stat_activity
WHERE usename = :user AND state = 'active' AND backend_type = 'client backend'
  AND pid <> pg_backend_pid()
  AND clock_timestamp() - query_start > make_interval(secs => :older_than)
ORDER BY query_start, pid
'''
# One statement per backend: signal it only if it still runs the planned query.
SIGNAL = '''
SELECT {func}(pid) AS signalled FROM pg_stat_activity
WHERE pid = :pid AND usename = :user AND state = 'active' AND query_start = :query_start
'''
STILL = '''
SELECT pid FROM pg_stat_activity
WHERE pid IN :pids AND state = 'active' AND query_start IN :starts
'''


def build_argument_spec():
    spec = dict(
        user=dict(type='str', required=True),
        older_than_seconds=dict(type='float', required=True),
        max_backends=dict(type='int', default=20),
        terminate=dict(type='bool', default=False),
        wait_seconds=dict(type='float', default=10),
    )
    spec.update(db_argument_spec())
    return spec


class Canceller(object):
    def __init__(self, params, db):
        self.p, self.db = params, db

    def plan(self):
        tx = self.db.begin_read_only()
        try:
            rows = [dict(r) for r in self.db.run(text(ACTIVE), {'user': self.p['user'],
                                                                'older_than': self.p['older_than_seconds']},
                                                 'read pg_stat_activity').mappings()]
        finally:
            rollback_quietly(tx)
        return rows

    def signal(self, func, backends):
        done = []
        for b in backends:
            res = self.db.run(text(SIGNAL.format(func=func)),
                              {'pid': b['pid'], 'user': self.p['user'], 'query_start': b['query_start']},
                              '%s(%s)' % (func, b['pid'])).first()
            self.db.conn.commit()
            if res is not None and res[0]:
                done.append(b)
        return done

    def wait(self, backends):
        """Backends still running their planned query after wait_seconds (polled)."""
        from sqlalchemy import bindparam
        deadline = time.monotonic() + self.p['wait_seconds']
        while True:
            if not backends:
                return []
            clause = text(STILL).bindparams(bindparam('pids', expanding=True), bindparam('starts', expanding=True))
            alive = set(r[0] for r in self.db.run(clause, {'pids': [b['pid'] for b in backends],
                                                          'starts': [b['query_start'] for b in backends]},
                                                  'read pg_stat_activity'))
            self.db.conn.commit()
            backends = [b for b in backends if b['pid'] in alive]
            if not backends or time.monotonic() >= deadline:
                return backends
            time.sleep(0.2)


def line(b, what):
    return 'pid %s  %6.0fs  %s  %s' % (b['pid'], float(b['seconds']), what, b['query_head'])


def run(module):
    p = module.params
    validate_common(p)
    if p['dialect'] != 'postgresql':
        raise RemediesError('remedies_pg_cancel works on PostgreSQL only')
    if p['older_than_seconds'] is None or p['older_than_seconds'] <= 0:
        raise RemediesError('older_than_seconds must be more than 0')
    if p['max_backends'] < 1 or p['wait_seconds'] < 0:
        raise RemediesError('max_backends must be positive and wait_seconds 0 or more')
    with Database(p) as db:
        c = Canceller(p, db)
        backends = c.plan()
        plan = {'count': len(backends), 'backends': json_safe(backends), 'max_rows': p['max_backends']}
        if not backends:
            return {'changed': False, 'outcome': 'nothing_to_do', 'plan': plan, 'report': [],
                    'msg': 'no active query of %s older than %ss' % (p['user'], p['older_than_seconds'])}
        if len(backends) > p['max_backends']:
            raise refuse('guard: %d backends match, more than max_backends %d; nothing signalled'
                         % (len(backends), p['max_backends']), plan=plan)
        if module.check_mode:
            return {'changed': True, 'outcome': 'planned', 'plan': plan,
                    'report': [line(b, 'would cancel' + (' (then terminate)' if p['terminate'] else ''))
                               for b in backends],
                    'msg': 'would cancel %d queries of %s' % (len(backends), p['user'])}
        signalled = c.signal('pg_cancel_backend', backends)
        left = c.wait(signalled)
        terminated = []
        if left and p['terminate']:
            terminated = c.signal('pg_terminate_backend', left)
            left = c.wait(terminated)
            terminated = [b for b in terminated if b not in left]
        gone = set(b['pid'] for b in backends) - set(b['pid'] for b in signalled)
        cancelled = [b for b in signalled if b not in left and b not in terminated]
        report = [line(b, 'cancelled') for b in cancelled] + [line(b, 'terminated') for b in terminated] + \
                 [line(b, 'STILL RUNNING') for b in left] + \
                 [line(b, 'had already ended') for b in backends if b['pid'] in gone]
    result = {'changed': bool(cancelled or terminated), 'outcome': 'changed' if cancelled or terminated
              else 'nothing_to_do', 'plan': plan, 'report': report,
              'cancelled': [b['pid'] for b in cancelled], 'terminated': [b['pid'] for b in terminated],
              'still_running': [b['pid'] for b in left], 'rows_changed': len(cancelled) + len(terminated),
              'data': {'cancelled': [b['pid'] for b in cancelled], 'terminated': [b['pid'] for b in terminated],
                       'still_running': [b['pid'] for b in left]},
              'attention': bool(left),
              'msg': 'cancelled %d, terminated %d, still running %d' % (len(cancelled), len(terminated), len(left))}
    if left and not p['terminate']:
        result['msg'] += '; rerun with terminate to end them'
    return result


def main():
    module = AnsibleModule(argument_spec=build_argument_spec(), supports_check_mode=True)
    p = module.params
    auditor = Auditor(p, 'pg_cancel:%s' % p['user'], module.check_mode)
    require_drivers(module, auditor)
    try:
        result = run(module)
    except RemediesError as exc:
        result = exc.fail_kwargs()
        result['failed'] = True
    auditor.finish(module, result, params={'user': p['user'], 'older_than_seconds': p['older_than_seconds'],
                                           'terminate': p['terminate']})


if __name__ == '__main__':
    main()
