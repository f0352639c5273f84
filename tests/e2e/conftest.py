"""End-to-end fixtures: the real lab, driven the way a person drives it."""
import sys

import pytest

from labtools import REPO, daemon_pid, lab, on_host, wait_until  # noqa: F401


@pytest.fixture(scope="session")
def lab_up():
    return lab("up")


@pytest.fixture
def state_dir(tmp_path):
    """A private archive/audit/snapshot folder per test."""
    d = tmp_path / "state"
    d.mkdir()
    return d


@pytest.fixture
def perm_db(lab_up):
    sys.path.insert(0, str(REPO))
    from lab import permanent
    conn = permanent.connect()
    yield conn
    conn.close()


@pytest.fixture
def healthy_taskrunner(lab_up):
    """Every daemon on taskrunner1 running and progressing, breaker history cleared."""
    res = on_host("taskrunner1", "rm -f /var/lib/remedies/restarts/*.json /data/www/daemon/faults/*; "
                                 "pkill -KILL -u www-data -f daemon/index.py; rm -f /run/permanent/*.pid; "
                                 "for d in queue process sqs video; do service $d-daemon start; done")
    assert res.returncode == 0, res.stderr
    wait_until(lambda: all(daemon_pid("taskrunner1", d) for d in ("queue", "process", "sqs", "video")),
               what="daemons up")
    return "taskrunner1"
