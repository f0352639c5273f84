#!/usr/bin/python
# -*- coding: utf-8 -*-
# Sidekiq queue latency, read from Redis the way Sidekiq's own API does.
from __future__ import annotations

DOCUMENTATION = r"""
module: sidekiq_latency
short_description: Sidekiq queue latency per queue, with a namespace, in both enqueued_at formats
description:
  - For every queue (the C(queues) set, or those given), the latency is now minus the C(enqueued_at) of
    the oldest job (C(LINDEX queue:<name> -1)), as Sidekiq's C(Queue#latency) computes it; 0 when the
    queue is empty.
  - C(enqueued_at) is epoch seconds as a float before Sidekiq 8 and epoch milliseconds as an integer from
    Sidekiq 8 on; both are read, and the format found is returned per queue.
  - With I(namespace) (redis-namespace) every key carries the C(<namespace>:) prefix.
  - Also returns C(stat:processed), C(stat:failed) and the sizes of C(schedule), C(retry) and C(dead). Read-only.
version_added: "0.1.0"
options:
  host:
    description: Redis host.
    type: str
    default: 127.0.0.1
  port:
    description: Redis port.
    type: int
    default: 6379
  db:
    description: Redis database number.
    type: int
    default: 0
  password:
    description: Redis password, if any.
    type: str
    no_log: true
  namespace:
    description: The redis-namespace prefix, without the colon; empty for none.
    type: str
    default: ""
  queues:
    description: Queues to measure; empty for every queue in the C(queues) set.
    type: list
    elements: str
    default: []
  threshold_seconds:
    description: Latency above this needs attention, for queues not in I(thresholds).
    type: int
    default: 300
  thresholds:
    description: Per-queue latency limits in seconds, by queue name.
    type: dict
    default: {}
  timeout:
    description: Socket timeout in seconds.
    type: float
    default: 5
requirements: [redis (Python)]
attributes:
  check_mode:
    support: full
    description: Read-only; it runs the same in check mode.
  diff_mode:
    support: none
author: remedies
"""

EXAMPLES = r"""
- name: Backbeat's Sidekiq latency
  sidekiq_latency:
    namespace: backbeat
    thresholds:
      backbeat_server: 60
"""

RETURN = r"""
queues:
  description: Per queue, C(queue), C(size), C(latency_seconds), C(enqueued_at_format), C(threshold_seconds), C(over).
  type: list
  elements: dict
  returned: always
stats:
  description: processed, failed, and the sizes of schedule, retry and dead.
  type: dict
  returned: always
attention:
  description: True when a queue is over its threshold.
  type: bool
  returned: always
report:
  description: One line per queue.
  type: list
  elements: str
  returned: always
"""

import json
import time
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

try:
    import redis
    HAS_REDIS, REDIS_ERR = True, None
except ImportError:
    HAS_REDIS, REDIS_ERR = False, traceback.format_exc()


def enqueued_seconds(value):
    """(epoch seconds, format) from an enqueued_at of either Sidekiq format."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"enqueued_at is not a number: {value!r}")
    if isinstance(value, int) and value > 10_000_000_000:  # after 2286 in seconds: milliseconds
        return value / 1000.0, "milliseconds"
    return float(value), "seconds"


def latency(client, key, now):
    oldest = client.lindex(key, -1)
    if oldest is None:
        return 0.0, None
    job = json.loads(oldest)
    seconds, fmt = enqueued_seconds(job.get("enqueued_at"))
    return max(0.0, now - seconds), fmt


def main():
    module = AnsibleModule(
        argument_spec=dict(
            host=dict(type="str", default="127.0.0.1"),
            port=dict(type="int", default=6379),
            db=dict(type="int", default=0),
            password=dict(type="str", no_log=True),
            namespace=dict(type="str", default=""),
            queues=dict(type="list", elements="str", default=[]),
            threshold_seconds=dict(type="int", default=300),
            thresholds=dict(type="dict", default={}),
            timeout=dict(type="float", default=5),
        ),
        supports_check_mode=True,
    )
    if not HAS_REDIS:
        module.fail_json(msg=missing_required_lib("redis"), exception=REDIS_ERR)
    p = module.params
    prefix = f"{p['namespace']}:" if p["namespace"] else ""
    client = redis.Redis(host=p["host"], port=p["port"], db=p["db"], password=p["password"],
                         socket_timeout=p["timeout"], socket_connect_timeout=p["timeout"], decode_responses=True)
    try:
        names = p["queues"] or sorted(client.smembers(f"{prefix}queues"))
        now = time.time()
        queues, report = [], []
        for name in names:
            key = f"{prefix}queue:{name}"
            try:
                lat, fmt = latency(client, key, now)
            except ValueError as exc:
                module.fail_json(msg=f"queue {name}: the oldest job cannot be read: {exc}")
            limit = int(p["thresholds"].get(name, p["threshold_seconds"]))
            size = client.llen(key)
            over = lat > limit
            queues.append({"queue": name, "key": key, "size": size, "latency_seconds": round(lat, 1),
                           "enqueued_at_format": fmt, "threshold_seconds": limit, "over": over})
            report.append(f"{name}: {size} job(s), latency {lat:.1f}s (limit {limit}s)"
                          + (f", enqueued_at in {fmt}" if fmt else "") + (" OVER" if over else ""))
        stats = {"processed": int(client.get(f"{prefix}stat:processed") or 0),
                 "failed": int(client.get(f"{prefix}stat:failed") or 0),
                 "scheduled": client.zcard(f"{prefix}schedule"), "retries": client.zcard(f"{prefix}retry"),
                 "dead": client.zcard(f"{prefix}dead")}
    except redis.RedisError as exc:
        module.fail_json(msg=f"Redis at {p['host']}:{p['port']} db {p['db']}: {exc}")
    if not names:
        report.append(f"no queues in {prefix}queues: is the namespace right?")
    report.append(f"processed {stats['processed']}, failed {stats['failed']}, scheduled {stats['scheduled']}, "
                  f"retries {stats['retries']}, dead {stats['dead']}")
    module.exit_json(changed=False, queues=queues, stats=stats, attention=any(q["over"] for q in queues) or not names,
                     report=report)


if __name__ == "__main__":
    main()
