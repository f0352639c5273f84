"""Flags every runbook task shares, and the plan -> confirm -> act flow."""
from remedies import runner

HELP = {
    "check": "plan only: show what would change, change nothing",
    "json": "print the outcome as JSON on stdout (ansible's output goes to stderr)",
    "limit": "only these hosts or groups (ansible --limit)",
    "inventory": "inventory to use (default: remedies.inventory in invoke.yaml)",
    "yes": "do not ask before changing anything (needed when there is no terminal)",
}


def helps(*names, **extra):
    """Help text for the shared flags a task has, plus its own."""
    return dict({n: HELP[n] for n in names}, **extra)


def inventory(c, given):
    return given or c.config.get("remedies", {}).get("inventory")


def play(c, playbook, extra_vars=None, check=False, json=False, limit=None, inventory_path=None):
    """Run one playbook and exit with its outcome code."""
    run = runner.run_playbook(c, playbook, extra_vars, limit=limit, check=check, as_json=json,
                              inventory=inventory(c, inventory_path))
    runner.finish(run, as_json=json)


def plan_then_apply(c, playbook, extra_vars, json, limit, inventory_path, yes, expect=None):
    """Run in check mode, show the plan, confirm, then apply.

    `expect(run)` turns the plan's results into extra vars the apply must match
    (expected row counts), so the change refuses if the rows moved meanwhile."""
    inv = inventory(c, inventory_path)
    plan = runner.run_playbook(c, playbook, extra_vars, limit=limit, check=True, as_json=json, inventory=inv)
    if plan.code != runner.CHANGED:
        runner.finish(plan, as_json=json, message="plan: nothing to change" if plan.code == runner.OK else None)
    if not runner.confirm("Apply this plan?", yes):
        runner.finish(runner.REFUSED, as_json=json,
                      message="not applied: confirm at the prompt, or pass --yes (nothing was changed)")
    apply_vars = dict(extra_vars or {}, **(expect(plan) if expect else {}))
    run = runner.run_playbook(c, playbook, apply_vars, limit=limit, check=False, as_json=json, inventory=inv)
    return plan, run
