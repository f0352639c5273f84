"""X1: reinstall crontabs from the repo's crontab files (crontabs/<system>/, one per job)."""
import re
from pathlib import Path

from invoke import task

from remedies import runner
from remedies.cli.common import helps, play, plan_then_apply

NAME = re.compile(r"^[A-Za-z0-9_-]+$")


@task(iterable=["only"], help=helps("check", "json", "limit", "inventory", "yes",
                                    only="only this crontab file (by name); repeat for several (default all)",
                                    source="folder of crontab files (default crontabs/seattleflu)",
                                    hosts="hosts or group to install on (default seattleflu_backoffice)"))
def reinstall(c, only=None, source=None, hosts="seattleflu_backoffice", check=False, json=False, limit=None,
              inventory=None, yes=False):
    """X1: crontab drifted or lost? Reinstall from the repo: all parsed first, diff, backup, idempotent."""
    src = Path(source).resolve() if source else runner.REPO / "crontabs" / "seattleflu"
    if not src.is_dir():
        runner.finish(runner.FAILED, as_json=json, message=f"no such crontab folder: {src}")
    bad = [n for n in only or [] if not NAME.match(n)]
    if bad or not NAME.match(hosts.replace(":", "").replace(",", "").replace("!", "").replace("*", "")):
        runner.finish(runner.FAILED, as_json=json, message=f"not a crontab or host name: {', '.join(bad or [hosts])}")
    extra = {"crontabs_source_dir": str(src), "crontabs_only": list(only or []), "crontabs_hosts": hosts,
             "crontabs_reason": "inv crontabs.reinstall"}
    if check:
        play(c, "crontabs_reinstall.yml", extra, check=True, json=json, limit=limit, inventory_path=inventory)
    _, run = plan_then_apply(c, "crontabs_reinstall.yml", extra, json, limit, inventory, yes)
    runner.finish(run, as_json=json)
