#!/usr/bin/python
# -*- coding: utf-8 -*-
from __future__ import annotations

DOCUMENTATION = r"""
module: sqs_queue_depth
short_description: Depth of SQS queues, high-priority queues first (read-only)
description:
  - Lists the queues whose names start with I(queue_name_prefix) and reports visible, in-flight
    and delayed messages, high-priority queues first.
  - Flags a queue whose visible or in-flight count reaches its threshold.
version_added: "0.1.0"
options:
  queue_name_prefix:
    description: Only queues whose names start with this.
    type: str
    required: true
  high_priority_marker:
    description: A queue whose name contains this is high priority.
    type: str
    default: high-priority
  endpoint_url:
    description: SQS endpoint; empty for AWS itself.
    type: str
  region:
    description: AWS region.
    type: str
    default: us-west-2
  aws_access_key:
    description: Access key id; falls back to C(AWS_ACCESS_KEY_ID).
    type: str
  aws_secret_key:
    description: Secret key; falls back to C(AWS_SECRET_ACCESS_KEY).
    type: str
  visible_threshold:
    description: Visible messages at or above this need attention (high-priority queues).
    type: int
    default: 50
  normal_visible_threshold:
    description: Visible messages at or above this need attention (other queues).
    type: int
    default: 500
  in_flight_threshold:
    description: In-flight messages at or above this need attention.
    type: int
    default: 200
attributes:
  check_mode:
    support: full
    description: Read-only; it runs the same in check mode.
requirements: [boto3]
author: remedies
"""

EXAMPLES = r"""
- name: SQS depth for the upload pipeline
  sqs_queue_depth:
    queue_name_prefix: permanent-process
"""

RETURN = r"""
queues:
  description: One entry per queue, high priority first.
  type: list
  elements: dict
  returned: always
  sample: [{name: permanent-process-high-priority, high_priority: true, visible: 120, in_flight: 8, delayed: 0, over_threshold: true}]
attention:
  description: True when a queue is over its threshold.
  type: bool
  returned: always
report:
  description: Lines for a person.
  type: list
  elements: str
  returned: always
"""

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

try:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError
    HAS_BOTO3 = True
except ImportError:
    HAS_BOTO3 = False


def queue_depths(client, prefix, marker):
    urls = client.list_queues(QueueNamePrefix=prefix).get("QueueUrls", [])
    queues = []
    for url in urls:
        attrs = client.get_queue_attributes(QueueUrl=url, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed"])["Attributes"]
        name = url.rstrip("/").rsplit("/", 1)[-1]
        queues.append({"name": name, "high_priority": marker in name,
                       "visible": int(attrs.get("ApproximateNumberOfMessages", 0)),
                       "in_flight": int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0)),
                       "delayed": int(attrs.get("ApproximateNumberOfMessagesDelayed", 0))})
    return sorted(queues, key=lambda q: (not q["high_priority"], q["name"]))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            queue_name_prefix=dict(type="str", required=True),
            high_priority_marker=dict(type="str", default="high-priority"),
            endpoint_url=dict(type="str"),
            region=dict(type="str", default="us-west-2"),
            aws_access_key=dict(type="str", no_log=True, fallback=(env_fallback, ["AWS_ACCESS_KEY_ID"])),
            aws_secret_key=dict(type="str", no_log=True, fallback=(env_fallback, ["AWS_SECRET_ACCESS_KEY"])),
            visible_threshold=dict(type="int", default=50),
            normal_visible_threshold=dict(type="int", default=500),
            in_flight_threshold=dict(type="int", default=200),
        ),
        supports_check_mode=True,
    )
    if not HAS_BOTO3:
        module.fail_json(msg=missing_required_lib("boto3"))
    p = module.params
    client = boto3.client("sqs", endpoint_url=p["endpoint_url"] or None, region_name=p["region"],
                          aws_access_key_id=p["aws_access_key"], aws_secret_access_key=p["aws_secret_key"])
    try:
        queues = queue_depths(client, p["queue_name_prefix"], p["high_priority_marker"])
    except (BotoCoreError, ClientError) as exc:
        module.fail_json(msg=f"cannot read SQS queues with prefix {p['queue_name_prefix']!r}: {type(exc).__name__}")
    report = []
    for q in queues:
        limit = p["visible_threshold"] if q["high_priority"] else p["normal_visible_threshold"]
        q["over_threshold"] = q["visible"] >= limit or q["in_flight"] >= p["in_flight_threshold"]
        report.append(f"{'HP ' if q['high_priority'] else '   '}{q['name']:<40} visible {q['visible']:>6}  "
                      f"in flight {q['in_flight']:>5}  delayed {q['delayed']:>4}"
                      f"{'  <-- over threshold' if q['over_threshold'] else ''}")
    if not queues:
        report.append(f"no queues named {p['queue_name_prefix']}*")
    module.exit_json(changed=False, queues=queues, report=report,
                     attention=any(q["over_threshold"] for q in queues),
                     total_visible=sum(q["visible"] for q in queues))


if __name__ == "__main__":
    main()
