"""catalog/<system>.yml: every runbook problem the collection handles, by catalog id."""
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIELDS = ("id", "system", "symptom", "severity", "diagnose", "fix", "fix_kind")
FIX_KINDS = ("read-only", "reversible", "destructive", "manual")


def load_catalog(path=REPO / "catalog"):
    """Entries of one catalog file, or of every file in a catalog folder."""
    import yaml
    path = Path(path)
    files = sorted(path.glob("*.yml")) if path.is_dir() else [path]
    return [e for f in files for e in yaml.safe_load(f.read_text())["entries"]]


def render_catalog(entries):
    lines, system = [], None
    for e in sorted(entries, key=lambda e: (e["system"], e["id"])):
        if e["system"] != system:
            system = e["system"]
            lines.append(f"\n{system}")
        lines.append(f"  {e['id']:<4} sev {e['severity']}  {e['fix_kind']:<11} {e['symptom']}")
        for kind in ("diagnose", "fix"):
            point = e.get(kind)
            if point:
                where = f"playbooks/{point['playbook']}" if point.get("playbook") else "(no playbook)"
                lines.append(f"       {kind:<8} inv {point['task']:<34} {where}")
        if e.get("note"):  # what the collection leaves to a person
            lines.append(f"       note     {e['note']}")
    return "\n".join(lines).lstrip("\n")
