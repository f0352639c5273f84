#!/usr/bin/python
# -*- coding: utf-8 -*-
# remedies: turn a diagnosis into report lines, an attention flag, or a refusal.

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: remedies_report
short_description: Report what a diagnosis found, ask for attention, or refuse to go on
description:
  - Returns O(lines) as C(report), which the remedies callback prints under the task, and
    O(attention) as C(attention) (C(inv) exits 4 when a diagnosis needs attention).
  - With O(refuse=true) it fails with C(refused=true) and O(msg) instead (C(inv) exits 3).
    This is the guard a role uses when a precondition of a fix does not hold. Nothing is changed.
  - Touches nothing, neither a host nor a database.
version_added: "0.1.0"
author:
  - remedies maintainers
options:
  title:
    description: First line of the report.
    type: str
  lines:
    description: The report's lines.
    aliases: [report]
    type: list
    elements: str
    default: []
  attention:
    description: The diagnosis found a problem that a person should look at.
    type: bool
    default: false
  refuse:
    description: Stop here with O(msg), as a guard refusal.
    type: bool
    default: false
  msg:
    description: Message of the result (the refusal's reason with O(refuse=true)).
    type: str
  data:
    description: Structured findings (the verdict), returned as C(data) for C(inv --json).
    type: raw
    default: {}
attributes:
  check_mode:
    support: full
    details: Reports the same in check mode; it never changes anything.
  diff_mode:
    support: none
'''

EXAMPLES = r'''
- name: S16 refuse barcodes from more than one identifier set
  remedies_report:
    refuse: "{{ __sets | length != 1 }}"
    msg: "the barcodes are in {{ __sets | join(', ') }}; expected only {{ id3c_from_set }}"

- name: S1 candidates
  remedies_report:
    title: "closest barcodes to {{ id3c_barcode }}"
    lines: "{{ rows | map(attribute='barcode') | list }}"
    attention: "{{ rows | length > 0 }}"
'''

RETURN = r'''
report:
  description: The title, then the lines.
  returned: success
  type: list
  elements: str
attention:
  description: The O(attention) given.
  returned: success
  type: bool
refused:
  description: True when O(refuse) stopped the run.
  returned: failure
  type: bool
outcome:
  description: C(nothing_to_do), or C(refused).
  returned: always
  type: str
data:
  description: The O(data) given.
  returned: always
  type: raw
'''

from ansible.module_utils.basic import AnsibleModule


def build_argument_spec():
    return dict(
        title=dict(type='str'),
        lines=dict(type='list', elements='str', default=[], aliases=['report']),
        attention=dict(type='bool', default=False),
        refuse=dict(type='bool', default=False),
        msg=dict(type='str'),
        data=dict(type='raw', default={}),
    )


def main():
    module = AnsibleModule(argument_spec=build_argument_spec(), supports_check_mode=True)
    p = module.params
    extra = {'data': p['data']}
    if p['refuse']:
        module.fail_json(msg=p['msg'] or 'refused', refused=True, outcome='refused', changed=False, **extra)
    report = ([p['title']] if p['title'] else []) + list(p['lines'])
    module.exit_json(changed=False, outcome='nothing_to_do', report=report, attention=p['attention'],
                     msg=p['msg'] or (report[0] if report else ''), **extra)


if __name__ == '__main__':
    main()
