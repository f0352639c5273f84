"""The systems the lab runs. Each module provides:

  provision(topology, reset)  databases, data and daemons for the hosts in
                              `topology` (name -> spec from topology.yml)
  inventory_vars()            group_vars/all values for inventories/lab
  INCIDENTS                   name -> function that breaks the lab the way
                              a runbook describes; returns a JSON-able dict
"""
import os

from lab import backbeat, dryad, id3c, permanent, processing, seattleflu

ALL = [permanent, backbeat, dryad, id3c, processing, seattleflu]
# REMEDIES_LAB_SYSTEMS=dryad,id3c boots only those systems' hosts and daemons
# (a second worktree's lab must not run another Permanent against the shared databases).
_ONLY = {s for s in os.environ.get("REMEDIES_LAB_SYSTEMS", "").split(",") if s}
SYSTEMS = [s for s in ALL if not _ONLY or s.__name__.rsplit(".", 1)[-1] in _ONLY]


def wanted(spec):
    """Does this topology host belong to a system the lab runs?"""
    return not _ONLY or spec.get("lab_system") in _ONLY


def incidents():
    found = {}
    for system in SYSTEMS:
        found.update(system.INCIDENTS)
    return found
