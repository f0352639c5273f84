#!/usr/bin/python
# -*- coding: utf-8 -*-
# remedies: poll a read-only named query until its counts reach zero.

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: remedies_sql_wait
short_description: Poll a read-only named query until every count it returns is zero
description:
  - Runs the named query (one row of counts) every O(interval) seconds, read-only, until every
    numeric column is 0 (C(idle)), the O(deadline) passes (C(expired)), or O(chunk) seconds have
    gone by. Use it under C(until) with C(retries) so each return shows progress and the wait
    stays bounded by O(deadline), for example "drain until nothing runs".
  - The time from the counts reaching zero to the module noticing is at most O(interval).
version_added: "0.1.0"
author:
  - remedies maintainers
extends_documentation_fragment:
  - remedies_db
options:
  query:
    description: Named read-only query returning one row of counts.
    type: str
    required: true
  params:
    description: Values for the query's binds.
    type: dict
    default: {}
  interval:
    description: Seconds between polls (fractions allowed).
    type: float
    default: 0.5
  chunk:
    description: Return after this many seconds even when not idle, to report progress.
    type: float
    default: 5
  deadline:
    description: Epoch seconds after which the wait gives up (C(expired)).
    type: float
    required: true
attributes:
  check_mode:
    support: full
    details: The query is read-only; the wait runs the same in check mode.
  diff_mode:
    support: none
'''

EXAMPLES = r'''
- name: Wait until nothing runs (progress every 5 s, at most 10 minutes)
  remedies_sql_wait:
    dialect: mysql
    database: dryad
    sql_root: sql
    system: dryad
    query: drain_busy
    params: {max_run_time: 86400, dead_lockers: []}
    interval: 0.25
    deadline: "{{ now().timestamp() + 600 }}"
  register: busy
  until: busy.idle or busy.expired
  retries: 1000
  delay: 0
'''

RETURN = r'''
idle:
  description: Every count is zero.
  returned: success
  type: bool
expired:
  description: The deadline passed while something was still counted.
  returned: success
  type: bool
counts:
  description: The last row read.
  returned: success
  type: dict
polls:
  description: Polls made in this call.
  returned: success
  type: int
idle_at:
  description: Epoch seconds of the poll that first saw zero counts.
  returned: when idle
  type: float
data:
  description: C(idle), C(expired), C(counts), C(idle_at), C(started_at) (this call's start, epoch
    seconds) and C(deadline), for callers that keep only C(data).
  returned: success
  type: dict
report:
  description: One line with the counts and the seconds left.
  returned: success
  type: list
  elements: str
'''

import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.remedies_db import (
    READ_KEYWORDS,
    Database,
    RemediesError,
    bind_values,
    check_params_used,
    db_argument_spec,
    json_safe,
    load_query,
    require_drivers,
    rollback_quietly,
    validate_common,
    validate_params,
)


def busy(counts):
    return dict((k, v) for k, v in counts.items()
                if isinstance(v, (int, float)) and not isinstance(v, bool) and v)


def wait(p):
    validate_common(p)
    if p['interval'] <= 0 or p['chunk'] <= 0:
        raise RemediesError('interval and chunk must be positive numbers of seconds')
    params = validate_params(p['params'] or {})
    query = load_query(p['sql_root'], p['dialect'], p['system'], p['query'])
    if query.keyword not in READ_KEYWORDS:
        raise RemediesError("query '%s' is not read-only" % query.name)
    check_params_used(params, [query])
    values = bind_values(query, params)
    started = time.time()
    stop = min(p['deadline'], started + p['chunk'])
    polls = 0
    with Database(p) as db:
        while True:
            tx = db.begin_read_only()
            try:
                row = db.run(query.statement(values), values, query.label).mappings().first()
            finally:
                rollback_quietly(tx)
            polls += 1
            counts = json_safe(dict(row or {}))
            now = time.time()
            left = busy(counts)
            if not left or now >= stop:
                break
            time.sleep(max(0.0, min(p['interval'], stop - now)))
    idle, expired = not left, bool(left) and now >= p['deadline']
    line = ('idle: ' if idle else 'timed out; still ' if expired else 'waiting; ') + \
        ', '.join('%s %s' % (k, v) for k, v in sorted(counts.items())) + \
        ('' if idle or expired else ' (%ds left)' % max(0, p['deadline'] - now))
    result = {'changed': False, 'outcome': 'nothing_to_do', 'idle': idle, 'expired': expired, 'counts': counts,
              'polls': polls, 'report': [line], 'msg': line}
    if idle:
        result['idle_at'] = now
    result['data'] = {'idle': idle, 'expired': expired, 'counts': counts, 'idle_at': result.get('idle_at'),
                      'started_at': started, 'deadline': p['deadline']}
    return result


def main():
    spec = dict(query=dict(type='str', required=True), params=dict(type='dict', default={}),
                interval=dict(type='float', default=0.5), chunk=dict(type='float', default=5),
                deadline=dict(type='float', required=True))
    spec.update(db_argument_spec())
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    require_drivers(module)
    try:
        module.exit_json(**wait(module.params))
    except RemediesError as exc:
        module.fail_json(**exc.fail_kwargs())


if __name__ == '__main__':
    main()
