"""Seattle Flu backoffice services end to end, against the lab's backoffice host
over SSH: a real uWSGI, scan-switchboard, a Metabase stand-in and Debian's cron.
Each test starts from the planted failure (python -m lab incident ...)."""
import subprocess
import time
from datetime import date, timedelta

import pytest

from labtools import BIN, REPO, inv, lab, wait_until
from services import audit, http, lab_vars, results, sh, sha

HOST = "backoffice"
CRONTAB = "/etc/cron.d/backoffice-wa-doh-linelists"
UPLOAD = "/data/wa-doh-sftp/incoming"

pytestmark = pytest.mark.usefixtures("lab_up")


def musher_pids():
    """(master pid, sorted worker pids) of husky-musher."""
    master = int(sh(HOST, "cat /run/uwsgi/app/husky-musher/pid").strip())
    workers = sorted(int(p) for p in sh(HOST, f"pgrep -P {master}").split())
    return master, workers


@pytest.fixture
def fresh_musher():
    sh(HOST, "rm -f /var/lib/remedies/restarts/uwsgi@husky-musher.json; service uwsgi@husky-musher restart")
    port = lab_vars()["seattleflu_musher_http_port"]
    wait_until(lambda: http(port, "/health")[0] == 200, what="husky-musher up")
    wait_until(lambda: len(musher_pids()[1]) == 3, what="3 workers")
    return musher_pids()


# --- S19 husky-musher ------------------------------------------------------

def test_s19_nothing_stuck_nothing_reloaded(fresh_musher, state_dir):
    code, doc, err = inv("seattleflu.reload-musher", "--yes", "--json", state_dir=state_dir)
    assert code == 0, err
    assert musher_pids() == fresh_musher
    assert not [a for a in audit(state_dir) if a.get("catalog_id") == "S19"]


def test_s19_stuck_threads_found_then_reloaded_and_idempotent(fresh_musher, state_dir):
    lab("incident", "stuck-musher")
    master, workers = musher_pids()
    code, doc, err = inv("seattleflu.musher-workers", "--json", state_dir=state_dir)
    assert code == 4, err
    found = results(doc, "S19 husky-musher worker threads (stats socket and /proc, sampled)")[0]["report"]
    stuck_lines = [line for line in found if "read(" in line and "<unfinished ...>" in line]
    assert len(stuck_lines) == 2, found

    code, doc, err = inv("seattleflu.reload-musher", "--yes", "--json", state_dir=state_dir)
    assert code == 2, err
    report = results(doc, "S19 before and after, per worker and thread")[-1]["msg"]
    after = report[report.index("after:"):]
    assert sum("<unfinished ...>" in line for line in report[:report.index("after:")]) == 2
    assert all("0 thread(s) stuck" in line for line in after if line.startswith("worker")), report
    new_master, new_workers = musher_pids()
    assert new_master == master  # a reload, not a restart
    assert not set(new_workers) & set(workers)
    assert [a["outcome"] for a in audit(state_dir) if a.get("catalog_id") == "S19"] == ["planned", "changed"]

    code, _, err = inv("seattleflu.reload-musher", "--yes", "--json", state_dir=state_dir)
    assert code == 0, err
    assert musher_pids() == (new_master, new_workers)


def test_s19_restart_when_the_reload_does_not_clear_them(fresh_musher, state_dir):
    lab("incident", "stuck-musher")
    master, _ = musher_pids()
    # The lab's uWSGI gives busy workers 5 s on a reload; allow the reload only 2.
    code, doc, err = inv("seattleflu.reload-musher", "--reload-timeout", "2", "--yes", "--json", state_dir=state_dir)
    assert code == 2, err
    assert musher_pids()[0] != master
    restarts = [a for a in audit(state_dir) if a["action"].startswith("service_control uwsgi@husky-musher")
                and a["outcome"] != "planned"]
    assert restarts and restarts[0]["outcome"] == "changed"
    assert "reload did not clear" in restarts[0]["params"]["reason"]


def test_s19_unknown_app_is_refused_and_nothing_changes(fresh_musher, state_dir):
    code, doc, err = inv("seattleflu.reload-musher", "--app", "nosuch-app", "--yes", "--json", state_dir=state_dir)
    assert code == 1
    assert "unknown uWSGI app nosuch-app; known on backoffice: husky-musher" in err
    assert musher_pids() == fresh_musher


# --- S17 Switchboard -------------------------------------------------------

def test_s17_stale_switchboard_captured_regenerated_and_serving(state_dir):
    missing = lab("incident", "stale-switchboard")["missing_barcodes"]
    port = lab_vars()["seattleflu_switchboard_port"]
    assert http(port, f"/sfs-redcap/barcode/{missing[0]}")[0] == 404
    time.sleep(3.5)  # the hung make has held cron's lock past the lab's limit
    code, doc, err = inv("seattleflu.switchboard-status", "--barcode", missing[0], "--json", state_dir=state_dir)
    assert code == 4, err
    problems = results(doc, "S17 report")[0]["data"]["problems"]
    assert any("hung make holds the cron lock" in p for p in problems), problems
    assert any("barcodes not found" in p for p in problems), problems

    args = [a for b in missing for a in ("--barcode", b)]
    code, doc, err = inv("seattleflu.fix-switchboard", *args, "--yes", "--json", state_dir=state_dir)
    assert code == 2, err
    captures = list((state_dir / "captures").glob("switchboard-backoffice-*"))
    assert len(captures) == 1
    cap = captures[0]
    assert "scan-switchboard is running" in (cap / "status").read_text()
    assert "flock .make.lock" in (cap / "ps").read_text()
    assert (cap / "data" / "sfs-redcap.sqlite").stat().st_size > 0
    for barcode in missing:
        assert http(port, f"/sfs-redcap/barcode/{barcode}")[0] == 200
    assert "sleep 86399" not in sh(HOST, "ps -eo args")

    code, _, err = inv("seattleflu.fix-switchboard", *args, "--yes", "--json", state_dir=state_dir)
    assert code == 0, err
    assert len(list((state_dir / "captures").glob("switchboard-backoffice-*"))) == 1


def test_s17_unknown_action_is_refused(state_dir):
    code, doc, err = inv("seattleflu.fix-switchboard", "--action", "reboot", "--yes", "--json", state_dir=state_dir)
    assert code == 1 and doc["message"] == "unknown action 'reboot': use regenerate or restart"


# --- S18 linelists ---------------------------------------------------------

def test_s18_direct_rerun_for_the_missed_day(state_dir):
    day = lab("incident", "failed-linelist")["date"]
    assert day == (date.today() - timedelta(days=1)).isoformat()
    before = sha(HOST, CRONTAB)
    assert sh(HOST, f"ls {UPLOAD}").split().count(f"wa-doh-linelist-{day}.csv") == 0
    code, doc, err = inv("seattleflu.rerun-linelist", "--yes", "--json", state_dir=state_dir)
    assert code == 2, err
    assert int(sh(HOST, f"wc -l < {UPLOAD}/wa-doh-linelist-{day}.csv")) == 26
    assert "uploaded" in sh(HOST, "tail -n 1 /var/log/linelists/wa-doh-linelists.log")
    assert sh(HOST, f"stat -c %U {UPLOAD}/wa-doh-linelist-{day}.csv").strip() == "ubuntu"  # as the crontab's user
    assert sha(HOST, CRONTAB) == before

    code, _, err = inv("seattleflu.rerun-linelist", "--yes", "--json", state_dir=state_dir)
    assert code == 0, err  # already uploaded: nothing to do


@pytest.mark.parametrize("bad, why", [("2026-02-30", "day is out of range"), ("yesterday", "use YYYY-MM-DD"),
                                      ((date.today() + timedelta(days=2)).isoformat(), "after today")])
def test_s18_invalid_date_is_refused(bad, why, state_dir):
    code, doc, err = inv("seattleflu.rerun-linelist", "--date", bad, "--yes", "--json", state_dir=state_dir)
    assert code == 1 and why in doc["message"], doc
    assert not audit(state_dir)


def test_s18_cron_mode_restores_the_crontab_exactly_even_when_the_run_fails(state_dir):
    day = (date.today() - timedelta(days=3)).isoformat()
    sh(HOST, f"rm -f {UPLOAD}/wa-doh-linelist-{day}.csv; echo down > /opt/backoffice/faults/wa-doh-upload")
    before = sha(HOST, CRONTAB)
    try:
        code, doc, err = inv("seattleflu.rerun-linelist", "--date", day, "--mode", "cron", "--wait", "4", "--yes",
                             "--json", state_dir=state_dir)
    finally:
        sh(HOST, "rm -f /opt/backoffice/faults/wa-doh-upload")
    assert code == 1, err
    assert sha(HOST, CRONTAB) == before
    installs = [a for a in audit(state_dir) if a["action"].startswith("crontabs install") and a["outcome"] != "planned"]
    assert [a["outcome"] for a in installs][-2:] == ["changed", "changed"]  # shifted, then restored


def test_s18_cron_mode_the_runbooks_way(state_dir):
    day = (date.today() - timedelta(days=2)).isoformat()
    sh(HOST, f"rm -f {UPLOAD}/wa-doh-linelist-{day}.csv")
    before = sha(HOST, CRONTAB)
    started = time.time()
    code, doc, err = inv("seattleflu.rerun-linelist", "--date", day, "--mode", "cron", "--yes", "--json",
                         state_dir=state_dir)
    assert code == 2, err
    assert time.time() - started < 90
    assert int(sh(HOST, f"wc -l < {UPLOAD}/wa-doh-linelist-{day}.csv")) == 26
    assert sha(HOST, CRONTAB) == before
    # cron ran it, as the crontab's user, with the shifted job's --date
    assert f"wrote /home/ubuntu/linelists/wa-doh/wa-doh-linelist-{day}.csv" in sh(
        HOST, "cat /var/log/linelists/wa-doh-linelists.log")


# --- X1 crontabs -----------------------------------------------------------

@pytest.fixture
def drifted_crontabs():
    """The linelist crontab edited by hand, an unrelated crontab, a user crontab
    and an old backoffice crontab the repo no longer has."""
    sh(HOST, f"sed -i 's/^0 6 /30 7 /' {CRONTAB}; "
             "printf '# someone else\\n5 4 * * * root /bin/true\\n' > /etc/cron.d/someone-else; "
             "printf '# legacy\\n1 1 * * * root /bin/true\\n' > /etc/cron.d/backoffice-legacy; "
             "printf '7 7 * * * /bin/true\\n' > /var/spool/cron/crontabs/ubuntu")
    others = {p: sha(HOST, p) for p in ("/etc/cron.d/someone-else", "/etc/cron.d/backoffice-legacy",
                                        "/var/spool/cron/crontabs/ubuntu")}
    yield others
    sh(HOST, "rm -f /etc/cron.d/someone-else /etc/cron.d/backoffice-legacy /var/spool/cron/crontabs/ubuntu")
    sh(HOST, f"cat > {CRONTAB} <<'EOF'\n{repo_crontab('wa-doh-linelists')}EOF")


def repo_crontab(name):
    return (REPO / "crontabs" / "seattleflu" / name).read_text()


def test_x1_reinstall_diff_backup_idempotent_and_others_untouched(drifted_crontabs, state_dir):
    drifted = sha(HOST, CRONTAB)
    code, doc, err = inv("crontabs.reinstall", "--check", "--json", state_dir=state_dir)
    assert code == 2, err
    assert "-30 7 * * * ubuntu" in err and "+0 6 * * * ubuntu" in err  # the diff
    assert sha(HOST, CRONTAB) == drifted  # the plan changed nothing

    code, doc, err = inv("crontabs.reinstall", "--yes", "--json", state_dir=state_dir)
    assert code == 2, err
    assert sh(HOST, f"cat {CRONTAB}") == repo_crontab("wa-doh-linelists")
    backups = sh(HOST, "ls /var/lib/remedies/backups/cron.d/").split()
    newest = sorted(b for b in backups if b.startswith("backoffice-wa-doh-linelists."))[-1]
    assert sha(HOST, f"/var/lib/remedies/backups/cron.d/{newest}") == drifted
    for path, digest in drifted_crontabs.items():
        assert sha(HOST, path) == digest, path
    report = results(doc, "X1 install crontabs (all are parsed first; one bad file and nothing is installed)")[0]
    assert "/etc/cron.d/backoffice-legacy: not in the repo; left alone" in report["report"]

    code, _, err = inv("crontabs.reinstall", "--yes", "--json", state_dir=state_dir)
    assert code == 0, err


def test_x1_a_crontab_that_does_not_parse_refuses_them_all(drifted_crontabs, state_dir, tmp_path):
    src = tmp_path / "crontabs"
    src.mkdir()
    for f in (REPO / "crontabs" / "seattleflu").iterdir():
        (src / f.name).write_text(f.read_text())
    (src / "broken").write_text("# a typo\n61 * * * * root /bin/true\n")
    drifted = sha(HOST, CRONTAB)
    code, doc, err = inv("crontabs.reinstall", "--source", str(src), "--yes", "--json", state_dir=state_dir)
    assert code == 3, err
    assert "broken:2: minute: '61' is outside 0-59" in err
    assert sha(HOST, CRONTAB) == drifted  # nothing installed, not even the good files
    assert "backoffice-broken" not in sh(HOST, "ls /etc/cron.d")


# --- S9 Metabase -----------------------------------------------------------

def test_s9_healthy_metabase_is_left_alone(state_dir):
    sh(HOST, "rm -f /var/lib/remedies/restarts/metabase.json; service metabase start")
    pid = sh(HOST, "cat /run/metabase.pid").strip()
    code, _, err = inv("seattleflu.restart-metabase", "--yes", "--json", state_dir=state_dir)
    assert code == 0, err
    assert sh(HOST, "cat /run/metabase.pid").strip() == pid


def test_s9_wedged_metabase_restarted_until_healthy(state_dir):
    lab("incident", "metabase-down")
    port = lab_vars()["seattleflu_metabase_port"]
    assert http(port, "/api/health", timeout=1)[0] is None
    pid = sh(HOST, "cat /run/metabase.pid").strip()
    code, doc, err = inv("seattleflu.metabase-status", "--json", state_dir=state_dir)
    assert code == 4, err
    code, doc, err = inv("seattleflu.restart-metabase", "--yes", "--json", state_dir=state_dir)
    assert code == 2, err
    assert http(port, "/api/health") == (200, '{"status": "ok"}')
    assert sh(HOST, "cat /run/metabase.pid").strip() != pid


def test_s9_docker_service_manager_is_refused():
    res = subprocess.run([str(BIN / "ansible-playbook"), "playbooks/seattleflu_metabase_restart.yml",
                          "-e", "seattleflu_metabase_service_manager=docker"], cwd=REPO, capture_output=True,
                         text=True)
    assert res.returncode != 0
    assert "docker is not supported: it cannot be tested without a docker engine" in res.stdout
