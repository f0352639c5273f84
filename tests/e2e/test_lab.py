"""The lab's hosts are isolated Linux hosts reached over real SSH, and
`lab down` leaves no process behind."""
import json
import os
import shutil
import socket
import subprocess

import pytest

from labtools import BIN, REPO, on_host


def test_each_host_has_its_own_pid_mount_and_uts_namespace(lab_up):
    tr = on_host("taskrunner1", "hostname; cat /proc/1/comm; ls /etc/init.d; ps -e --no-headers | wc -l")
    be = on_host("backend1", "hostname; ls /etc/init.d; pgrep -u www-data -fc 'index.py video' || true")
    assert tr.returncode == 0 and be.returncode == 0
    tr_lines, be_lines = tr.stdout.split(), be.stdout.split()
    assert tr_lines[0] == "taskrunner1" and be_lines[0] == "backend1"
    assert tr_lines[1] == "sshd", "sshd is the host's PID 1"
    assert {"queue-daemon", "video-daemon"} <= set(tr_lines)
    assert "video-daemon" not in be_lines and be_lines[-1] == "0", "backend hosts run process and sqs only"
    assert "mariadb" not in tr_lines, "/etc/init.d is the host's own"
    assert int(tr_lines[-1]) < 60, "only the host's own processes are visible"


def test_private_directories_do_not_leak_between_hosts(lab_up):
    on_host("backend1", "echo backend1 > /opt/whoami")
    assert on_host("backend2", "cat /opt/whoami").returncode != 0
    assert on_host("backend1", "cat /opt/whoami").stdout.strip() == "backend1"


@pytest.fixture
def scratch_lab_dir():
    # Not under /tmp: each lab host mounts its own /tmp over the real one.
    d = REPO / "var" / f"test-lab-{os.getpid()}"
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_ten_hosts_come_up_and_go_down_leaving_nothing(scratch_lab_dir):
    tmp_path = scratch_lab_dir
    # Permanent's 3 hosts plus fillers: the count stays 10 however many systems the topology grows.
    env = dict(os.environ, REMEDIES_LAB_DIR=str(tmp_path / "lab"), REMEDIES_LAB_SSH_PORT_BASE="2601",
               REMEDIES_LAB_SYSTEMS="permanent",
               REMEDIES_LAB_INVENTORY=str(tmp_path / "inventory"))
    run = lambda *a: subprocess.run([str(BIN / "python"), "-m", "lab", *a], cwd=REPO, env=env,  # noqa: E731
                                    capture_output=True, text=True, check=True)
    up = json.loads(run("up", "--hosts-only", "--size", "10").stdout)
    assert up["hosts"] == 10
    state = json.loads((tmp_path / "lab" / "hosts.json").read_text())
    ports = [e["port"] for e in state.values()]
    for port in ports:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            assert s.recv(64).startswith(b"SSH-2.0-")
    inventory = (tmp_path / "inventory" / "hosts.yml").read_text()
    assert "permanent_taskrunner" in inventory and "fanout" in inventory
    run("down")
    leftovers = subprocess.run(["pgrep", "-f", str(tmp_path / "lab")], capture_output=True, text=True).stdout
    assert leftovers.strip() == "", f"processes left behind: {leftovers}"
    for port in ports:
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0
