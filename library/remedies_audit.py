#!/usr/bin/python
# -*- coding: utf-8 -*-
# remedies: append one audit record for an action that is not SQL.

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: remedies_audit
short_description: Append one record to the remedies audit log
description:
  - Appends one JSON line to O(audit_log) (opened with C(O_APPEND), fsync'd), in the same
    format the remedies SQL modules write, for actions such as service restarts.
  - The record holds C(ts) (UTC), C(who) (C(awx:job/<id>) from E(AWX_JOB_ID) or
    E(TOWER_JOB_ID); C(ci:<id>) when E(CI=true), from E(GITHUB_RUN_ID) or E(CI_JOB_ID);
    else E(SUDO_USER) or the login name), C(catalog_id), C(action), C(params), C(hosts),
    C(outcome), C(message), C(check_mode), and null C(plan_hash), C(rows_planned),
    C(rows_changed), C(change_id).
  - Values of O(params) whose key contains C(password), C(secret) or C(token) are redacted,
    at any depth.
version_added: "0.1.0"
author:
  - remedies maintainers
options:
  audit_log:
    description:
      - Audit log file. Its folder must exist; the file is created (mode 0640) if missing.
    type: path
    required: true
  catalog_id:
    description:
      - Catalogue entry the action belongs to, for example C(P6).
    type: str
  action:
    description:
      - What was done, for example C(restart:tomcat).
    type: str
    required: true
  params:
    description:
      - Inputs of the action. Secrets are redacted before writing.
    type: dict
    default: {}
  hosts:
    description:
      - Hosts the action ran on.
    type: list
    elements: str
    default: []
  outcome:
    description:
      - Result of the action.
    type: str
    required: true
    choices: [nothing_to_do, planned, changed, refused, failed]
  message:
    description:
      - One line for humans. Must not contain secrets.
    type: str
    default: ''
attributes:
  check_mode:
    support: full
    details:
      - In check mode the record is still written, with C(check_mode=true), and an
        O(outcome) of C(changed) is recorded as C(planned), because nothing happened.
  diff_mode:
    support: none
notes:
  - Always returns C(changed=false). The audit log is append-only bookkeeping, not state
    this module manages, so recording an action does not count as a change (and keeps
    idempotence checks meaningful).
'''

EXAMPLES = r'''
- name: Record the restart
  remedies_audit:
    audit_log: "{{ remedies_audit_log }}"
    catalog_id: P3
    action: restart:tomcat
    hosts: "{{ ansible_play_hosts }}"
    outcome: "{{ 'changed' if restart is changed else 'nothing_to_do' }}"
    message: tomcat restarted to clear the stuck thread pool
  delegate_to: localhost
  run_once: true
'''

RETURN = r'''
record:
  description: The record as written (params redacted).
  returned: success
  type: dict
outcome:
  description: The outcome as recorded (C(planned) instead of C(changed) in check mode).
  returned: always
  type: str
'''

import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.remedies_audit import append_audit, redact


def build_argument_spec():
    return dict(
        audit_log=dict(type='path', required=True),
        catalog_id=dict(type='str'),
        action=dict(type='str', required=True),
        params=dict(type='dict', default={}),
        hosts=dict(type='list', elements='str', default=[]),
        outcome=dict(type='str', required=True,
                     choices=['nothing_to_do', 'planned', 'changed', 'refused', 'failed']),
        message=dict(type='str', default=''),
    )


def main():
    module = AnsibleModule(argument_spec=build_argument_spec(), supports_check_mode=True)
    p = module.params
    # Ansible echoes module_args as `invocation`; keep secrets out of it too.
    p['params'] = redact(p['params'])
    outcome = p['outcome']
    if module.check_mode and outcome == 'changed':
        outcome = 'planned'
    parent = os.path.dirname(os.path.abspath(p['audit_log']))
    if not os.path.isdir(parent):
        module.fail_json(msg='audit_log directory %s does not exist' % parent, outcome='failed')
    try:
        record = append_audit(p['audit_log'], catalog_id=p['catalog_id'], action=p['action'],
                              params=p['params'], hosts=p['hosts'], outcome=outcome,
                              message=p['message'], check_mode=module.check_mode)
    except OSError as exc:
        module.fail_json(msg='audit write to %s failed: %s' % (p['audit_log'], exc.strerror or exc),
                         outcome='failed')
    module.exit_json(changed=False, outcome=outcome, record=record)


if __name__ == '__main__':
    main()
