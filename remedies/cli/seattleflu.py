"""Seattle Flu backoffice services (runbooks/seattleflu-id3c.md): S9, S17, S18, S19."""
import datetime
import re

from invoke import task

from remedies import runner
from remedies.cli.common import helps, play, plan_then_apply

APP = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
BARCODE = re.compile(r"^[A-Za-z0-9-]{1,64}$")


def _fail(json, message):
    runner.finish(runner.FAILED, as_json=json, message=message)


def _act(c, playbook, extra, check, json, limit, inventory, yes):
    """--check plans only; otherwise plan, confirm, apply."""
    if check:
        play(c, playbook, extra, check=True, json=json, limit=limit, inventory_path=inventory)
    _, run = plan_then_apply(c, playbook, extra, json, limit, inventory, yes)
    runner.finish(run, as_json=json)


def _app(app, json):
    if not APP.match(app):
        _fail(json, f"not a uWSGI app name: {app!r}")
    return app


@task(help=helps("json", "limit", "inventory", app="the uWSGI app (uwsgi@<app>; default husky-musher)",
                 sample="seconds to watch the threads (default 3)",
                 strace="also strace workers with stuck threads for this many seconds (default 0: no)"))
def musher_workers(c, app="husky-musher", sample=3, strace=0, json=False, limit=None, inventory=None):
    """S19: "uWSGI workers available" alert? Find husky-musher threads stuck in read(), per worker."""
    play(c, "seattleflu_musher_workers.yml",
         {"seattleflu_musher_app": _app(app, json), "seattleflu_musher_sample_seconds": float(sample),
          "seattleflu_musher_strace_seconds": int(strace)}, json=json, limit=limit, inventory_path=inventory)


@task(help=helps("check", "json", "limit", "inventory", "yes", app="the uWSGI app (default husky-musher)",
                 force="reload even when no thread is stuck",
                 reload_timeout="seconds the reload gets before the restart (default 30)"))
def reload_musher(c, app="husky-musher", force=False, reload_timeout=30, check=False, json=False, limit=None,
                  inventory=None, yes=False):
    """S19: husky-musher workers stuck? Reload (SIGHUP), re-check, restart only if the reload did not clear them."""
    extra = {"seattleflu_musher_app": _app(app, json), "seattleflu_musher_force": bool(force),
             "seattleflu_musher_reload_timeout": int(reload_timeout)}
    _act(c, "seattleflu_musher_reload.yml", extra, check, json, limit, inventory, yes)


def _barcodes(barcode, json):
    bad = [b for b in barcode or [] if not BARCODE.match(b)]
    if bad:
        _fail(json, f"not a barcode: {', '.join(map(repr, bad))}")
    return list(barcode or [])


@task(iterable=["barcode"], help=helps("json", "limit", "inventory",
                                       barcode="a barcode it should show; repeat for several"))
def switchboard_status(c, barcode=None, json=False, limit=None, inventory=None):
    """S17: Switchboard does not load barcodes? Service, serving, data age, a hung make holding cron's lock."""
    play(c, "seattleflu_switchboard_status.yml", {"seattleflu_switchboard_barcodes": _barcodes(barcode, json)},
         json=json, limit=limit, inventory_path=inventory)


@task(iterable=["barcode"], help=helps("check", "json", "limit", "inventory", "yes",
                                       action="regenerate (make -B with the env dirs, default) or restart",
                                       barcode="a barcode it must show afterwards; repeat for several",
                                       force="fix even when it looks fine"))
def fix_switchboard(c, action="regenerate", barcode=None, force=False, check=False, json=False, limit=None,
                    inventory=None, yes=False):
    """S17: capture the Switchboard's state (var/captures/), then regenerate its data or restart it, and verify."""
    if action not in ("regenerate", "restart"):
        _fail(json, f"unknown action {action!r}: use regenerate or restart")
    extra = {"seattleflu_switchboard_action": action, "seattleflu_switchboard_barcodes": _barcodes(barcode, json),
             "seattleflu_switchboard_force": bool(force)}
    _act(c, "seattleflu_switchboard_fix.yml", extra, check, json, limit, inventory, yes)


def check_date(value, today=None):
    """The date as YYYY-MM-DD, or a ValueError that says what is wrong."""
    today = today or datetime.date.today()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value or ""):
        raise ValueError(f"invalid date {value!r}: use YYYY-MM-DD")
    try:
        day = datetime.date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"invalid date {value!r}: {exc}") from None
    if day > today:
        raise ValueError(f"invalid date {value}: it is after today ({today}); a linelist covers a day that is over")
    return day.isoformat()


@task(help=helps("check", "json", "limit", "inventory", "yes",
                 date="the day to generate, YYYY-MM-DD (default: yesterday, the missed day)",
                 mode="direct (the crontab's command with --date; default) or cron (the runbook's way: "
                      "shift the crontab, let cron run it, restore it)",
                 wait="cron mode: seconds to wait for cron to run it (default 150)",
                 force="re-run even when that day's linelist was uploaded"))
def rerun_linelist(c, date=None, mode="direct", wait=150, force=False, check=False, json=False, limit=None,
                   inventory=None, yes=False):
    """S18: linelist did not run? Re-run it for a day and verify the upload; the crontab is restored exactly."""
    if mode not in ("direct", "cron"):
        _fail(json, f"unknown mode {mode!r}: use direct or cron")
    extra = {"seattleflu_linelist_mode": mode, "seattleflu_linelist_force": bool(force),
             "seattleflu_linelist_wait_seconds": int(wait)}
    if date:
        try:
            extra["seattleflu_linelist_date"] = check_date(date)
        except ValueError as exc:
            _fail(json, str(exc))
    _act(c, "seattleflu_linelist_rerun.yml", extra, check, json, limit, inventory, yes)


@task(help=helps("json", "limit", "inventory"))
def metabase_status(c, json=False, limit=None, inventory=None):
    """S9: Metabase down? Its /api/health and service status."""
    play(c, "seattleflu_metabase_status.yml", json=json, limit=limit, inventory_path=inventory)


@task(help=helps("check", "json", "limit", "inventory", "yes", force="restart even when /api/health answers ok"))
def restart_metabase(c, force=False, check=False, json=False, limit=None, inventory=None, yes=False):
    """S9: Metabase down? Restart it (service manager from inventory) and wait until /api/health is ok."""
    _act(c, "seattleflu_metabase_restart.yml", {"seattleflu_metabase_force": bool(force)}, check, json, limit,
         inventory, yes)
