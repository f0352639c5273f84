"""The systems the lab runs. Each module provides:

  provision(topology, reset)  databases, data and daemons for the hosts in
                              `topology` (name -> spec from topology.yml)
  inventory_vars()            group_vars/all values for inventories/lab
  INCIDENTS                   name -> function that breaks the lab the way
                              a runbook describes; returns a JSON-able dict
"""
from lab import permanent

SYSTEMS = [permanent]


def incidents():
    found = {}
    for system in SYSTEMS:
        found.update(system.INCIDENTS)
    return found
