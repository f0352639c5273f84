#!/usr/bin/python
# -*- coding: utf-8 -*-
# A diagnosis's verdict, as the remedies callback and `inv --json` read it.
from __future__ import annotations

DOCUMENTATION = r"""
module: remedies_report
short_description: Return a diagnosis verdict (report lines, attention flag, data) computed by a role
description:
  - Roles that put a diagnosis together from several probes end with this module, so that the
    remedies callback prints the C(report) lines and counts C(attention), and C(inv --json) gets C(data).
  - It changes nothing and contacts nothing.
version_added: "0.1.0"
options:
  report:
    description: Lines for the person on call.
    type: list
    elements: str
    default: []
  attention:
    description: True when the diagnosis found something wrong.
    type: bool
    default: false
  data:
    description: The structured verdict.
    type: dict
    default: {}
attributes:
  check_mode:
    support: full
    description: Runs the same in check mode.
  diff_mode:
    support: none
author: remedies
"""

EXAMPLES = r"""
- name: Report the Switchboard's state
  remedies_report:
    report: ["serving: true"]
    attention: false
    data: {serving: true}
"""

RETURN = r"""
report:
  description: The lines given.
  type: list
  elements: str
  returned: always
attention:
  description: The flag given.
  type: bool
  returned: always
data:
  description: The verdict given.
  type: dict
  returned: always
"""

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec=dict(report=dict(type="list", elements="str", default=[]),
                                              attention=dict(type="bool", default=False),
                                              data=dict(type="dict", default={})),
                           supports_check_mode=True)
    module.exit_json(changed=False, report=module.params["report"], attention=module.params["attention"],
                     data=module.params["data"])


if __name__ == "__main__":
    main()
