"""Where the lab keeps its state. Everything lives under var/lab (gitignored)."""
import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STATE = Path(os.environ.get("REMEDIES_LAB_DIR", REPO / "var" / "lab"))
HOSTS = STATE / "hosts"
INVENTORY = Path(os.environ.get("REMEDIES_LAB_INVENTORY", REPO / "inventories" / "lab"))
SSH_KEY = STATE / "id_ed25519"
# Database logins are per machine, not per lab: the servers are shared, and a
# second lab (a test's scratch lab, a CI clone) must not rotate them.
SECRETS = Path(os.environ.get("REMEDIES_LAB_SECRETS_DIR", "/var/lib/remedies-lab"))
SSH_PORT_BASE = int(os.environ.get("REMEDIES_LAB_SSH_PORT_BASE", "2201"))
SQS_PORT = int(os.environ.get("REMEDIES_LAB_SQS_PORT", "4566"))

# Directories each host gets privately: (name under the host dir, mount point).
PRIVATE_DIRS = (
    ("etc-init.d", "/etc/init.d"),
    ("var-log", "/var/log"),
    ("var-spool-cron", "/var/spool/cron"),
    ("var-lib-remedies", "/var/lib/remedies"),
    ("opt", "/opt"),
    ("data", "/data"),
    ("root", "/root"),
    ("tmp", "/tmp"),
    ("etc-cron.d", "/etc/cron.d"),
    ("home", "/home"),
    ("var-groupon", "/var/groupon"),  # Backbeat's JBoss (runbooks/backbeat.md)
)


def host_dir(name):
    return HOSTS / name


def host_path(name, inside):
    """Map a path inside lab host `name` to the controller's view of it."""
    for sub, mount in PRIVATE_DIRS:
        if inside == mount or inside.startswith(mount + "/"):
            return host_dir(name) / sub / inside[len(mount):].lstrip("/")
    raise ValueError(f"{inside} is not private to lab hosts")
