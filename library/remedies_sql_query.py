#!/usr/bin/python
# -*- coding: utf-8 -*-
# remedies: run one reviewed, read-only named query (diagnostics).

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: remedies_sql_query
short_description: Run a read-only named query from the remedies SQL catalogue
description:
  - Loads C(<sql_root>/<dialect>/<system>/<query>.sql), binds O(params) and runs it inside a
    READ ONLY transaction that is always rolled back.
  - The statement must start with a read keyword (C(SELECT), C(WITH), C(SHOW), C(EXPLAIN),
    C(DESCRIBE), C(VALUES), C(TABLE)); the database's read-only transaction then refuses
    any write it still attempts. A query that tries to write fails and changes nothing.
  - Used for diagnostics; never reports a change.
version_added: "0.1.0"
author:
  - remedies maintainers
extends_documentation_fragment:
  - remedies_db
options:
  query:
    description:
      - Name of the query, the file name without C(.sql). Must match C(^[a-z][a-z0-9_]*$).
    type: str
    required: true
  params:
    description:
      - Values for the query's C(:name) binds. Every bind needs a value, and every value
        must be used by the query.
      - Values are scalars or lists of scalars; a list binds as an expanding C(IN) list.
        An empty list is allowed (C(IN) matches nothing, C(NOT IN) everything); on PostgreSQL
        it binds as an empty integer set, so compare it with an integer column.
    type: dict
    default: {}
attributes:
  check_mode:
    support: full
    details: The query is read-only, so it runs in check mode too.
  diff_mode:
    support: none
'''

EXAMPLES = r'''
- name: Show records stuck in processing
  remedies_sql_query:
    dialect: mysql
    database: permanent
    sql_root: "{{ playbook_dir }}/../sql"
    system: permanent
    query: stuck_records
    params:
      older_than_minutes: 30
      statuses: [processing, queued]
  register: stuck

- name: Same query against PostgreSQL, credentials from the environment
  remedies_sql_query:
    dialect: postgresql
    sql_root: sql
    system: billing
    query: open_invoices
    catalog_id: P6
    audit_log: /var/log/remedies/audit.jsonl
'''

RETURN = r'''
rows:
  description: Result rows, one dict per row; values made JSON-safe (datetimes as ISO 8601,
    decimals as int, float or string, bytes as text or 0x-hex).
  returned: success
  type: list
  elements: dict
rowcount:
  description: Number of rows returned.
  returned: success
  type: int
execution_time_ms:
  description: Time spent running the query, in milliseconds.
  returned: success
  type: int
outcome:
  description: C(nothing_to_do) on success (a read changes nothing), C(failed) or C(refused) otherwise.
  returned: always
  type: str
refused:
  description: True when a guard refused the query rather than the database failing.
  returned: failure
  type: bool
'''

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.remedies_audit import Auditor
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
    timed,
    validate_common,
    validate_params,
)


def build_argument_spec():
    spec = dict(
        query=dict(type='str', required=True),
        params=dict(type='dict', default={}),
    )
    spec.update(db_argument_spec())
    return spec


def run_query(p):
    """Decide (load and check the query), then run it read-only."""
    validate_common(p)
    params = validate_params(p['params'] or {})
    query = load_query(p['sql_root'], p['dialect'], p['system'], p['query'])
    if query.keyword not in READ_KEYWORDS:
        raise RemediesError("query '%s' is not read-only: it starts with %s; diagnostics may only "
                            "read (use remedies_sql_change for changes)" % (query.name, query.keyword))
    check_params_used(params, [query])
    values = bind_values(query, params)
    with Database(p) as db:
        tx = db.begin_read_only()
        try:
            result, elapsed = timed(db.run, query.statement(values), values, query.label)
            rows = [json_safe(dict(row)) for row in result.mappings()]
        finally:
            rollback_quietly(tx)
    return {
        'changed': False,
        'outcome': 'nothing_to_do',
        'msg': "query '%s' returned %d rows" % (query.name, len(rows)),
        'rows': rows,
        'rowcount': len(rows),
        'execution_time_ms': elapsed,
    }


def main():
    module = AnsibleModule(argument_spec=build_argument_spec(), supports_check_mode=True)
    p = module.params
    auditor = Auditor(p, 'sql_query:%s/%s' % (p['system'], p['query']), module.check_mode)
    require_drivers(module, auditor)
    try:
        result = run_query(p)
    except RemediesError as exc:
        result = exc.fail_kwargs()
        result['failed'] = True
    auditor.finish(module, result, params=p['params'])


if __name__ == '__main__':
    main()
