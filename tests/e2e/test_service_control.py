"""P4 and the service-control role against real daemons on a lab host."""
import time

from labtools import daemon_pid, inv, on_host, wait_until

HOST = "taskrunner1"


def hang(daemon):
    on_host(HOST, f"echo hang > /data/www/daemon/faults/{daemon}; chown www-data /data/www/daemon/faults/{daemon}")
    wait_until(lambda: on_host(HOST, f"test ! -e /data/www/daemon/faults/{daemon}").returncode == 0,
               what=f"{daemon}-daemon to read its fault")


def log_age(daemon):
    res = on_host(HOST, f"echo $(( $(date +%s) - $(stat -c %Y /var/log/permanent/{daemon}-daemon.out.log) ))")
    return int(res.stdout)


def test_healthy_daemon_is_left_alone(healthy_taskrunner, state_dir):
    before = daemon_pid(HOST, "video")
    code, doc, err = inv("permanent.restart-daemon", "--daemon", "video", "--limit", HOST, "--yes", "--json",
                         state_dir=state_dir)
    assert code == 0, err
    assert doc["outcome"] == "nothing to do"
    assert daemon_pid(HOST, "video") == before


def test_hung_daemon_is_restarted_and_progresses(healthy_taskrunner, state_dir):
    hang("video")
    old = daemon_pid(HOST, "video")
    wait_until(lambda: log_age("video") > 16, timeout=25, what="video-daemon log to go stale")
    code, doc, err = inv("permanent.restart-daemon", "--daemon", "video", "--limit", HOST, "--yes", "--json",
                         state_dir=state_dir)
    assert code == 2, err
    new = daemon_pid(HOST, "video")
    assert new and new != old
    assert on_host(HOST, f"test -d /proc/{old}").returncode != 0, "old pid still alive"
    assert log_age("video") < 5
    audit = (state_dir / "audit.jsonl").read_text().splitlines()
    assert any('"P4"' in line and '"changed"' in line for line in audit)


def test_check_mode_sends_no_signal(healthy_taskrunner, state_dir):
    old = daemon_pid(HOST, "sqs")
    code, doc, err = inv("permanent.restart-daemon", "--daemon", "sqs", "--force", "--check", "--limit", HOST,
                         "--json", state_dir=state_dir)
    assert code == 2, err  # would change
    assert any(r.get("outcome") == "planned" for r in doc["results"])
    time.sleep(0.5)
    assert daemon_pid(HOST, "sqs") == old
    assert on_host(HOST, f"test -d /proc/{old}").returncode == 0


def test_daemon_ignoring_term_is_killed_and_replaced(healthy_taskrunner, state_dir):
    on_host(HOST, "echo ignore-term > /data/www/daemon/faults/process; chown www-data /data/www/daemon/faults/process")
    wait_until(lambda: on_host(HOST, "test ! -e /data/www/daemon/faults/process").returncode == 0,
               what="process-daemon to read its fault")
    old = daemon_pid(HOST, "process")
    code, doc, err = inv("permanent.restart-daemon", "--daemon", "process", "--force", "--limit", HOST, "--yes",
                         "--json", state_dir=state_dir, timeout=120)
    assert code == 2, err
    actions = [a for r in doc["results"] for a in r.get("actions", [])] if doc else []
    assert any("KILL" in a for a in actions), actions
    new = daemon_pid(HOST, "process")
    assert new and new != old and on_host(HOST, f"test -d /proc/{old}").returncode != 0
    assert int(on_host(HOST, "pgrep -u www-data -fc 'index.py process'").stdout) == 1, "exactly one process-daemon runs"


def test_dead_daemon_with_stale_pidfile_is_started(healthy_taskrunner, state_dir):
    on_host(HOST, "echo die > /data/www/daemon/faults/video; chown www-data /data/www/daemon/faults/video")
    wait_until(lambda: on_host(HOST, "service video-daemon status").returncode == 1, what="video-daemon to die")
    code, doc, err = inv("permanent.restart-daemon", "--daemon", "video", "--limit", HOST, "--yes", "--json",
                         state_dir=state_dir)
    assert code == 2, err
    assert on_host(HOST, "service video-daemon status").returncode == 0


def test_circuit_breaker_refuses_and_says_escalate(healthy_taskrunner, state_dir):
    on_host(HOST, "mkdir -p /var/lib/remedies/restarts; "
                  "python3 -c 'import json,time; json.dump([{\"ts\": time.time()-300+i, \"reason\": \"t\"} "
                  "for i in range(3)], open(\"/var/lib/remedies/restarts/video-daemon.json\",\"w\"))'")
    old = daemon_pid(HOST, "video")
    code, doc, err = inv("permanent.restart-daemon", "--daemon", "video", "--force", "--limit", HOST, "--yes",
                         "--json", state_dir=state_dir)
    assert code == 3, err
    assert "escalate" in err.lower() or "escalate" in str(doc).lower()
    assert daemon_pid(HOST, "video") == old
