"""python -m lab up|down|status|incident|fault — the lab behind `inv lab.*`."""
import argparse
import json
import sys
import time

import yaml

from lab import backends, hosts, inventory, paths, systems
from lab import permanent


def topology():
    data = yaml.safe_load((paths.REPO / "lab" / "topology.yml").read_text())
    inventory._CHILDREN.update(data.get("group_children", {}))
    return data


def cmd_up(args):
    started = time.monotonic()
    topo = topology()
    names = [n for n, spec in topo["hosts"].items() if systems.wanted(spec)]
    names += [f"node{i:02d}" for i in range(1, max(0, args.size - len(names)) + 1)]
    backends.ensure_all()
    state = hosts.up(names)
    up_hosts = time.monotonic() - started
    extra_vars = {}
    for system in systems.SYSTEMS:
        if not args.hosts_only:
            system.provision({n: s for n, s in topo["hosts"].items() if n in state}, reset=args.reset)
        extra_vars.update(system.inventory_vars())
    wanted = {n: spec for n, spec in topo["hosts"].items() if systems.wanted(spec)}
    inventory.write(wanted, state, extra_vars, topo["filler_group"])
    return {"hosts": len(state), "hosts_seconds": round(up_hosts, 2),
            "seconds": round(time.monotonic() - started, 2), "inventory": str(paths.INVENTORY / "hosts.yml")}


def cmd_down(args):
    started = time.monotonic()
    gone = hosts.down()
    if args.all:
        backends.stop_sqs()
    return {"stopped": len(gone), "seconds": round(time.monotonic() - started, 2)}


def cmd_status(args):
    state = hosts.load_state()
    return {"hosts": {n: {"port": e["port"], "up": hosts.alive(e)} for n, e in state.items()},
            "sqs": backends.port_open(paths.SQS_PORT), "mariadb": backends.port_open(3306),
            "postgresql": backends.port_open(5432), "redis": backends.port_open(6379)}


def cmd_incident(args):
    incidents = systems.incidents()
    if args.name not in incidents:
        raise SystemExit(f"unknown incident {args.name!r}; known: {', '.join(sorted(incidents))}")
    return {"incident": args.name, **incidents[args.name]()}


def cmd_fault(args):
    permanent.fault(args.host, args.daemon, args.mode)
    return {"host": args.host, "daemon": args.daemon, "fault": args.mode}


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m lab", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="boot the lab hosts, databases and queues")
    up.add_argument("--size", type=int, default=0, help="pad with filler hosts up to this many hosts")
    up.add_argument("--hosts-only", action="store_true", help="hosts only, no databases or daemons")
    up.add_argument("--reset", action="store_true", help="drop and recreate the lab databases")
    down = sub.add_parser("down", help="stop every lab host")
    down.add_argument("--all", action="store_true", help="also stop the lab's SQS server")
    sub.add_parser("status", help="what is running")
    inc = sub.add_parser("incident", help="break the lab the way a runbook describes: "
                         + ", ".join(sorted(systems.incidents())))
    inc.add_argument("name")
    f = sub.add_parser("fault", help="make one daemon misbehave")
    f.add_argument("host")
    f.add_argument("daemon", choices=["queue", "process", "sqs", "video"])
    f.add_argument("mode", choices=["hang", "die", "ignore-term"])
    args = p.parse_args(argv)
    try:
        result = globals()[f"cmd_{args.cmd}"](args)
    except (RuntimeError, ValueError, KeyError) as exc:
        print(f"lab {args.cmd}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
