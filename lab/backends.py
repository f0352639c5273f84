"""The lab's shared servers: MariaDB, PostgreSQL, Redis (system packages) and
an SQS endpoint (moto in server mode). Running servers are reused; stopped ones
are started with the same commands the machine image uses."""
import glob
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

from lab import paths


def port_open(port, host="127.0.0.1"):
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex((host, port)) == 0


def _wait(port, what, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(port):
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not start listening on 127.0.0.1:{port} within {timeout}s")


def _start(argv, what):
    if not shutil.which(argv[0]) and not os.path.exists(argv[0]):
        raise RuntimeError(f"{what} is not installed: run `bash bootstrap.sh` (it apt-installs it)")
    subprocess.run(argv, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)


def ensure_mariadb():
    if not port_open(3306):
        os.makedirs("/run/mysqld", exist_ok=True)
        shutil.chown("/run/mysqld", "mysql", "mysql")
        _start(["start-stop-daemon", "--start", "--oknodo", "--background", "--exec", "/usr/sbin/mariadbd"], "MariaDB")
        _wait(3306, "MariaDB")


def ensure_postgresql():
    if not port_open(5432):
        versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
        if not versions:
            raise RuntimeError("PostgreSQL is not installed: run `bash bootstrap.sh`")
        _start(["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "start"], "PostgreSQL")
        _wait(5432, "PostgreSQL")


def ensure_redis():
    if not port_open(6379):
        os.makedirs("/var/lib/redis", exist_ok=True)
        os.makedirs("/var/log/redis", exist_ok=True)
        _start(["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", "6379", "--save", "",
                "--appendonly", "no", "--dir", "/var/lib/redis", "--logfile", "/var/log/redis/ci.log"], "Redis")
        _wait(6379, "Redis")


def sqs_endpoint():
    return f"http://127.0.0.1:{paths.SQS_PORT}"


def ensure_sqs():
    """moto's server mode: a real HTTP SQS API that boto3 talks to."""
    if port_open(paths.SQS_PORT):
        return
    paths.STATE.mkdir(parents=True, exist_ok=True)
    server = os.path.join(os.path.dirname(sys.executable), "moto_server")
    log = open(paths.STATE / "moto.log", "ab")
    proc = subprocess.Popen([server, "-H", "127.0.0.1", "-p", str(paths.SQS_PORT)],
                            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    (paths.STATE / "moto.pid").write_text(str(proc.pid))
    _wait(paths.SQS_PORT, "moto SQS server", timeout=30)
    urllib.request.urlopen(sqs_endpoint() + "/moto-api/", timeout=5).read()


def stop_sqs():
    pidfile = paths.STATE / "moto.pid"
    if pidfile.exists():
        try:
            os.kill(int(pidfile.read_text()), 15)
        except (ProcessLookupError, ValueError):
            pass
        pidfile.unlink()


def ensure_all():
    ensure_mariadb()
    ensure_postgresql()
    ensure_redis()
    ensure_sqs()
    ensure_admin_accounts()


def admin_secrets():
    """An administrative login per server for the lab and the tests, over TCP
    with a password: a fresh Debian install allows root only on its socket."""
    import json
    import secrets
    f = paths.SECRETS / "admin.json"
    if not f.exists():
        paths.SECRETS.mkdir(parents=True, exist_ok=True, mode=0o700)
        f.write_text(json.dumps({"user": "remedies_admin", "password": secrets.token_urlsafe(18)}))
        f.chmod(0o600)
    return json.loads(f.read_text())


def ensure_admin_accounts():
    a = admin_secrets()
    mysql_root(f"""CREATE USER IF NOT EXISTS '{a["user"]}'@'127.0.0.1' IDENTIFIED BY '{a["password"]}';
ALTER USER '{a["user"]}'@'127.0.0.1' IDENTIFIED BY '{a["password"]}';
GRANT ALL PRIVILEGES ON *.* TO '{a["user"]}'@'127.0.0.1' WITH GRANT OPTION;""")
    psql_postgres(f"""DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{a["user"]}') THEN
    CREATE ROLE {a["user"]} LOGIN SUPERUSER;
  END IF;
END $$;
ALTER ROLE {a["user"]} WITH LOGIN SUPERUSER PASSWORD '{a["password"]}';""")


def psql_postgres(sql):
    subprocess.run(["runuser", "-u", "postgres", "--", "psql", "-q", "-v", "ON_ERROR_STOP=1", "-d", "postgres"],
                   input=sql.encode(), check=True, cwd="/", stdout=subprocess.DEVNULL)


def mysql_root(sql, database=None):
    argv = ["mariadb", "--protocol=socket", "-uroot"] + ([database] if database else [])
    subprocess.run(argv, input=sql.encode(), check=True)
