"""Seattle Flu Study's backoffice host in the lab (runbooks/seattleflu-id3c.md):
husky-musher under a real uWSGI, the scan-switchboard with its `make -B`
data, a Metabase stand-in, and Debian's cron running the repo's crontabs
(linelists, switchboard). Everything runs under LSB init scripts."""
import json
import os
import pwd
import shutil
import subprocess
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path

from lab import hosts, paths

HERE = Path(__file__).resolve().parent
CRONTABS = paths.REPO / "crontabs" / "seattleflu"
CRON_PREFIX = "backoffice-"
WWW_DATA = 33
SERVICES = ("uwsgi@husky-musher", "scan-switchboard", "metabase", "cron")
ENV_D = "/opt/backoffice/id3c-production/env.d"
SWITCHBOARD = "/opt/scan-switchboard"
LINELIST_OUT = "/home/ubuntu/linelists/wa-doh"
LINELIST_UPLOAD = "/data/wa-doh-sftp/incoming"
MUSHER_MERCY = 5  # uWSGI's worker-reload-mercy in the lab (Debian's default is 60)
# The stale-switchboard incident's hung make: it holds cron's flock.
HUNG_MAKE = "sleep 86399"
KILL_HUNG_MAKE = f"pkill -KILL -f '^[f]lock .make.lock {HUNG_MAKE}'; pkill -KILL -f '^[s]leep 86399$'"


def ports():
    """Loopback ports for the host's web services: the lab hosts share one
    network namespace, so each lab (worktree, CI clone) takes its own."""
    base = paths.SSH_PORT_BASE + 700
    return {"metabase": base, "switchboard": base + 1, "husky_musher": base + 2}


def backoffice_hosts(topology):
    return [n for n, s in topology.items() if s.get("lab_system") == "seattleflu"]


def _write(path, text, mode=0o644, owner=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    if owner is not None:
        os.chown(path, owner, owner)


def _mkdir(path, owner=0, mode=0o755):
    path.mkdir(parents=True, exist_ok=True)
    os.chown(path, owner, owner)
    path.chmod(mode)


def ensure_user(name, home):
    """The crontab's user (real-systems.md: the linelists run as ubuntu)."""
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        subprocess.run(["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", home,
                        "--shell", "/bin/bash", name], check=True, capture_output=True)
        return pwd.getpwnam(name).pw_uid


def simple_init(name, program, user, cwd, log, desc, stop_timeout=10):
    text = (HERE / "simple.init.d.sh").read_text()
    for k, v in {"NAME": name, "PROGRAM": program, "USER": user, "CWD": cwd, "LOG": log, "DESC": desc,
                 "STOP_TIMEOUT": str(stop_timeout)}.items():
        text = text.replace(f"@{k}@", v)
    return text


def redcap_records(project, count, start=1):
    prefix = {"SFS": "a", "SCAN": "c"}[project]
    return [{"record_id": str(i), "barcode": f"{prefix}{i:07x}"} for i in range(start, start + count)]


def deploy(name):
    hp = lambda inside: paths.host_path(name, inside)  # noqa: E731
    p = ports()
    ubuntu = ensure_user("ubuntu", "/home/ubuntu")
    # husky-musher
    _write(hp("/opt/husky-musher/app.py"), (HERE / "musher_app.py").read_text())
    _write(hp("/opt/husky-musher/uwsgi.ini"), (HERE / "uwsgi.ini").read_text()
           .replace("@PORT@", str(p["husky_musher"])).replace("@MERCY@", str(MUSHER_MERCY)))
    _write(hp("/etc/init.d/uwsgi@husky-musher"), (HERE / "uwsgi.init.d.sh").read_text(), 0o755)
    # scan-switchboard
    _write(hp(f"{SWITCHBOARD}/Makefile"), (HERE / "switchboard.Makefile").read_text())
    _write(hp(f"{SWITCHBOARD}/bin/export-redcap"), (HERE / "switchboard_export.py").read_text(), 0o755)
    _write(hp(f"{SWITCHBOARD}/bin/load-sqlite"), (HERE / "switchboard_load.py").read_text(), 0o755)
    _write(hp(f"{SWITCHBOARD}/server.py"), (HERE / "switchboard_server.py").read_text())
    _mkdir(hp(f"{SWITCHBOARD}/data"))
    for project in ("SFS", "SCAN"):
        export = hp(f"/opt/backoffice/redcap-export/{project.lower()}.json")
        if not export.exists():
            _write(export, json.dumps(redcap_records(project, 400)))
        envdir = hp(f"{ENV_D}/redcap-{project.lower()}")
        _write(envdir / f"REDCAP_API_URL_{project}", f"file:///opt/backoffice/redcap-export/{project.lower()}.json\n")
        _write(envdir / f"REDCAP_API_TOKEN_{project}", f"lab-{project.lower()}-token\n", 0o600)
    _write(hp("/etc/init.d/scan-switchboard"), simple_init(
        "scan-switchboard", f"/usr/bin/python3 {SWITCHBOARD}/server.py {p['switchboard']}", "www-data", SWITCHBOARD,
        "/var/log/scan-switchboard/scan-switchboard.log", "SFS Switchboard (datasette over sfs-redcap.sqlite)"), 0o755)
    # Metabase stand-in
    _write(hp("/opt/metabase/metabase.py"), (HERE / "metabase_server.py").read_text())
    _mkdir(hp("/opt/metabase/faults"), WWW_DATA)
    _write(hp("/etc/init.d/metabase"), simple_init(
        "metabase", f"/usr/bin/python3 /opt/metabase/metabase.py {p['metabase']}", "www-data", "/opt/metabase",
        "/var/log/metabase/metabase.log", "Metabase (lab stand-in for the metabase container)"), 0o755)
    # Linelists and cron
    _write(hp("/opt/backoffice/bin/wa-doh-linelists/generate"), (HERE / "linelist_generate.py").read_text(), 0o755)
    _mkdir(hp("/opt/backoffice/faults"))
    for d in ("/home/ubuntu", "/home/ubuntu/linelists", LINELIST_OUT, "/data/wa-doh-sftp", LINELIST_UPLOAD,
              "/var/log/linelists"):
        _mkdir(hp(d), ubuntu)
    _mkdir(hp("/var/log/scan-switchboard"))
    shutil.copyfile("/etc/init.d/cron", hp("/etc/init.d/cron"))
    hp("/etc/init.d/cron").chmod(0o755)
    crontabs = hp("/var/spool/cron/crontabs")
    crontabs.mkdir(parents=True, exist_ok=True)
    os.chown(crontabs, 0, _gid("crontab"))
    crontabs.chmod(0o1730)


def _gid(group):
    import grp
    return grp.getgrnam(group).gr_gid


def install_crontabs(name):
    """What production was set up with: the repo's crontab files in /etc/cron.d."""
    for f in sorted(CRONTABS.iterdir()):
        dest = paths.host_path(name, f"/etc/cron.d/{CRON_PREFIX}{f.name}")
        shutil.copyfile(f, dest)
        dest.chmod(0o644)


def _sh(name, script, check=True):
    return hosts.nsenter(name, ["sh", "-c", script], check=check, capture_output=True, text=True)


def private_etc_crontab(name):
    """cron also reads /etc/crontab, which lab hosts share with the machine:
    give this host an empty one of its own (the bind lives in its namespace)."""
    empty = paths.host_path(name, "/var/lib/remedies/lab-etc-crontab")
    empty.parent.mkdir(parents=True, exist_ok=True)
    empty.write_text("# lab host: no system-wide jobs\n")
    _sh(name, "grep -q ' /etc/crontab ' /proc/self/mountinfo || mount --bind /var/lib/remedies/lab-etc-crontab /etc/crontab")


def build_switchboard(name):
    _sh(name, f"envdir {ENV_D}/redcap-sfs/ envdir {ENV_D}/redcap-scan/ make -sBC {SWITCHBOARD}/ "
              ">>/var/log/scan-switchboard/make.log 2>&1")


def reset_services(name):
    """Lab plumbing: a fresh host. Kill whatever state the services are in,
    clear faults and the breaker's memory, and start them again."""
    _sh(name, "pkill -KILL -f '[u]wsgi --ini /opt/husky-musher' ; pkill -KILL -f '[/]opt/metabase/metabase.py'; "
              f"pkill -KILL -f '[/]opt/scan-switchboard/server.py'; {KILL_HUNG_MAKE}; "
              "rm -rf /run/uwsgi/app/husky-musher/pid /run/husky-musher/* /run/metabase.pid /run/scan-switchboard.pid "
              "/opt/metabase/faults/* /opt/backoffice/faults/* /var/lib/remedies/restarts/*; true", check=False)


def start_services(name):
    for service in SERVICES:
        _sh(name, f"service {service} start")


def wait_http(url, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


def provision(topology, reset=False):
    for name in backoffice_hosts(topology):
        deploy(name)
        private_etc_crontab(name)
        if reset or not paths.host_path(name, f"{SWITCHBOARD}/data/sfs-redcap.sqlite").exists():
            for project in ("SFS", "SCAN"):
                _write(paths.host_path(name, f"/opt/backoffice/redcap-export/{project.lower()}.json"),
                       json.dumps(redcap_records(project, 400)))
            build_switchboard(name)
        if reset:
            install_crontabs(name)
            for d in (LINELIST_OUT, LINELIST_UPLOAD):
                for f in paths.host_path(name, d).glob("*"):
                    f.unlink()
            for f in paths.host_path(name, "/var/spool/cron/crontabs").glob("*"):
                f.unlink()
            reset_services(name)
        elif not any(paths.host_path(name, "/etc/cron.d").glob(f"{CRON_PREFIX}*")):
            install_crontabs(name)
        start_services(name)
        p = ports()
        for port in (p["husky_musher"], p["metabase"], p["switchboard"]):
            wait_http(f"http://127.0.0.1:{port}/" + {p["metabase"]: "api/health", p["switchboard"]: "-/health.json"}
                      .get(port, "health"))


def inventory_vars():
    p = ports()
    return {"seattleflu_musher_http_port": p["husky_musher"], "seattleflu_metabase_port": p["metabase"],
            "seattleflu_switchboard_port": p["switchboard"],
            # The lab's switchboard runs make without pipenv (there is no Pipfile there).
            "seattleflu_switchboard_make_command": f"envdir {ENV_D}/redcap-sfs/ envdir {ENV_D}/redcap-scan/ "
                                                   f"make -BC {SWITCHBOARD}/",
            "seattleflu_metabase_service_manager": "service",
            # Lab makes take under a second: one holding the lock for 3 s is as hung
            # as a production one past the 30-minute cron interval.
            "seattleflu_switchboard_stale_lock_minutes": 0.05}


# --- incidents -------------------------------------------------------------

def _host():
    state = hosts.load_state()
    names = [n for n in state if n == "backoffice"]
    if not names:
        raise RuntimeError("the backoffice lab host is not up: python -m lab up")
    return names[0]


def musher_stats(name):
    out = _sh(name, "python3 -c \"import socket,sys; s=socket.socket(socket.AF_UNIX); "
                    "s.connect('/run/uwsgi/app/husky-musher/stats.sock'); b=b''\n"
                    "while True:\n c=s.recv(65536)\n if not c: break\n b+=c\nsys.stdout.write(b.decode())\"")
    return json.loads(out.stdout)


def stuck_musher(threads=2):
    """The alert "uWSGI workers available dropped": threads block in read()."""
    name = _host()
    _sh(name, "rm -f /var/lib/remedies/restarts/uwsgi@husky-musher.json; service uwsgi@husky-musher restart")
    port = ports()["husky_musher"]
    wait_http(f"http://127.0.0.1:{port}/health")
    for _ in range(threads):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/lab/block", timeout=0.3)
        except OSError:
            pass  # the request hangs: that is the point
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        busy = sum(c["in_request"] for w in musher_stats(name)["workers"] for c in w["cores"])
        if busy >= threads:
            return {"host": name, "blocked_threads": threads}
        time.sleep(0.2)
    raise RuntimeError("husky-musher threads did not block")


def stale_switchboard(new_records=5):
    """New REDCap records the Switchboard does not show: the last make hung
    holding the cron job's lock, so every cron run since has skipped."""
    name = _host()
    export = paths.host_path(name, "/opt/backoffice/redcap-export/sfs.json")
    records = json.loads(export.read_text())
    added = redcap_records("SFS", new_records, start=len(records) + 1)
    export.write_text(json.dumps(records + added))
    _sh(name, f"{KILL_HUNG_MAKE}; cd {SWITCHBOARD} && "
              f"(setsid flock .make.lock {HUNG_MAKE} </dev/null >/dev/null 2>&1 &) ; true")
    old = time.time() - 2 * 3600
    for f in paths.host_path(name, f"{SWITCHBOARD}/data").glob("*"):
        os.utime(f, (old, old))
    return {"host": name, "missing_barcodes": [r["barcode"] for r in added]}


def linelist_command(day):
    line = [ln for ln in (CRONTABS / "wa-doh-linelists").read_text().splitlines() if ln.startswith("0 6")][0]
    cmd = " ".join(line.split()[6:])
    return cmd.replace("$(date --date=yesterday --iso-8601=date)", day)


def failed_linelist(day=None):
    """This morning's linelist run failed at the upload (the destination was
    down), and has since been fixed: yesterday's linelist never arrived."""
    name = _host()
    day = day or (date.today() - timedelta(days=1)).isoformat()
    fault = paths.host_path(name, "/opt/backoffice/faults/wa-doh-upload")
    fault.write_text("destination down\n")
    for d in (LINELIST_UPLOAD, LINELIST_OUT):
        paths.host_path(name, f"{d}/wa-doh-linelist-{day}.csv").unlink(missing_ok=True)
    res = _sh(name, f"runuser -u ubuntu -- bash -c {json.dumps(linelist_command(day))}", check=False)
    fault.unlink()
    if res.returncode == 0:
        raise RuntimeError("the planted linelist failure did not fail")
    return {"host": name, "date": day}


def metabase_down():
    """Metabase stops answering /api/health (the process is still there)."""
    name = _host()
    _sh(name, "rm -f /var/lib/remedies/restarts/metabase.json; service metabase start")
    wait_http(f"http://127.0.0.1:{ports()['metabase']}/api/health")
    fault = paths.host_path(name, "/opt/metabase/faults/hang")
    fault.write_text("hang\n")
    os.chown(fault, WWW_DATA, WWW_DATA)
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{ports()['metabase']}/api/health", timeout=0.5)
    except OSError:
        pass  # this request wedges it
    if fault.exists():
        raise RuntimeError("Metabase did not take the fault")
    return {"host": name}


INCIDENTS = {"stuck-musher": stuck_musher, "stale-switchboard": stale_switchboard,
             "failed-linelist": failed_linelist, "metabase-down": metabase_down}
