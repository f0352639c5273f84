"""remedies: runbooks as code. `inv --list` shows what it fixes; `inv catalog` maps it to runbooks.

Exit codes: 0 nothing to do, 1 failed, 2 changed, 3 refused (guard or no
confirmation), 4 a diagnosis needs attention. Heavy imports (Ansible,
SQLAlchemy) happen only inside the playbooks, so listing stays fast.
"""
from invoke import Collection, task
from invoke.exceptions import Exit

from remedies.cli import backbeat, core, crontabs, dryad, id3c, lab, permanent, processing, seattleflu


@task(help={"size": "lab hosts to boot (default: the topology's own)"})
def demo(c, size=0):
    """Lab up, break it (stuck uploads), then diagnose, fix and re-check it for real."""
    lab.up(c, size=size, reset=True)
    lab.incident(c, "stuck-uploads")
    try:
        permanent.stuck_uploads(c, yes=True)
    except Exit as done:
        if done.code != 2:  # anything but "changed, and the re-check is clean"
            raise
        print("\ndemo: the lab's stuck uploads were diagnosed and fixed; `inv audit` shows what was done")


ns = Collection(demo, core.catalog, core.undo, core.audit, permanent.stuck_uploads,
                dryad.drain_jobs, dryad.resume_jobs)
# One sub-collection per system: `inv permanent.upload-status`, `inv lab.up`, ...
for name, module in {"permanent": permanent, "id3c": id3c, "processing": processing, "dryad": dryad, "seattleflu": seattleflu, "backbeat": backbeat, "crontabs": crontabs, "lab": lab}.items():
    ns.add_collection(Collection.from_module(module), name)
ns.configure({"remedies": {"inventory": "inventories/lab/hosts.yml", "state_dir": None}})
