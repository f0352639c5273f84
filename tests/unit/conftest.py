# -*- coding: utf-8 -*-
"""Fixtures for the remedies module tests.

The modules run for real: each call is a subprocess of the venv python that
executes library/<module>.py with an ANSIBLE_MODULE_ARGS file, with this
repo's module_utils added to ``ansible.module_utils`` (as ansible.cfg's
``module_utils = module_utils`` does under ansible). The databases are the real
local MariaDB and PostgreSQL; every test gets freshly created tables in the
``remedies_test`` database.
"""

import contextlib
import datetime
import decimal
import json
import os
import subprocess
import sys

import ansible.module_utils
import pytest
import sqlalchemy
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
LIBRARY = os.path.join(REPO, 'library')
MODULE_UTILS = os.path.join(REPO, 'module_utils')
SQL_ROOT = os.path.join(REPO, 'tests', 'fixtures', 'sql')
_VENV_PYTHON = os.path.join(REPO, '.venv', 'bin', 'python')
PYTHON = _VENV_PYTHON if os.path.exists(_VENV_PYTHON) else sys.executable
TEST_DB = 'remedies_test'
SYSTEM = 'labtest'

# The test process reads archives with the same helpers the modules use.
if MODULE_UTILS not in ansible.module_utils.__path__:
    ansible.module_utils.__path__.append(MODULE_UTILS)

# The lab (`python -m lab up`, run first by tests/run-all.sh) creates this
# login on both servers; a fresh Debian allows root only on the socket.
sys.path.insert(0, REPO)
from lab import backends  # noqa: E402

backends.ensure_mariadb()
backends.ensure_postgresql()
backends.ensure_admin_accounts()
_ADMIN = backends.admin_secrets()

SERVERS = {
    'mysql': dict(drivername='mysql+pymysql', host='127.0.0.1', port=3306, username=_ADMIN['user'],
                  password=_ADMIN['password'], admin_db='mysql', name='MariaDB'),
    'postgresql': dict(drivername='postgresql+psycopg2', host='127.0.0.1', port=5432,
                       username=_ADMIN['user'], password=_ADMIN['password'], admin_db='postgres',
                       name='PostgreSQL'),
}

# Runs one module file the way AnsiballZ would leave it: module_utils importable
# as ansible.module_utils.<name>, args read from the file given as argv[1].
RUNNER = r'''
import runpy, sys
import ansible.module_utils
ansible.module_utils.__path__.append(sys.argv[1])
module_path, args_path = sys.argv[2], sys.argv[3]
sys.argv = [module_path, args_path]
runpy.run_path(module_path, run_name="__main__")
'''

SCHEMA = {
    'mysql': [
        'DROP FUNCTION IF EXISTS remedies_bump',
        'DROP TABLE IF EXISTS widget, secret_table',
        """CREATE TABLE widget (
             widgetId INT NOT NULL PRIMARY KEY,
             name VARCHAR(64) NOT NULL,
             status VARCHAR(32) NOT NULL,
             note VARCHAR(64) NOT NULL DEFAULT '',
             amount DECIMAL(10,2) NULL,
             updated_at DATETIME(6) NULL,
             payload VARBINARY(64) NULL
           ) ENGINE=InnoDB""",
        'CREATE TABLE secret_table (widgetId INT NOT NULL PRIMARY KEY, secret VARCHAR(64)) ENGINE=InnoDB',
        """CREATE FUNCTION remedies_bump(s VARCHAR(32)) RETURNS INT MODIFIES SQL DATA
           BEGIN
             DELETE FROM widget WHERE status = s;
             RETURN ROW_COUNT();
           END""",
    ],
    'postgresql': [
        'DROP TABLE IF EXISTS widget, secret_table',
        """CREATE TABLE widget (
             "widgetId" integer PRIMARY KEY,
             name varchar(64) NOT NULL,
             status varchar(32) NOT NULL,
             note varchar(64) NOT NULL DEFAULT '',
             amount numeric(10,2),
             updated_at timestamp(6),
             payload bytea
           )""",
        'CREATE TABLE secret_table ("widgetId" integer PRIMARY KEY, secret varchar(64))',
    ],
}

# Test modules must not import from conftest (other conftest.py files share the
# module name), so shared helpers are handed out as fixtures at the end.


def seed_rows():
    rows = []
    for i in range(1, 11):
        rows.append({
            'widgetId': i,
            'name': 'w%02d' % i,
            'status': 'stuck' if i <= 4 else 'ok',
            'note': "it's :tricky" if i == 3 else 'n%d' % i,
            'amount': None if i == 2 else decimal.Decimal('12.50') * i,
            'updated_at': datetime.datetime(2024, 1, i, 10, 30, 15, 123456),
            'payload': None if i == 3 else b'\x00\xff' + bytes([i]),
        })
    return rows


class Lab(object):
    """One real database server, with helpers to reset, inspect and run modules."""

    def __init__(self, dialect):
        self.dialect = dialect
        self.server = SERVERS[dialect]
        self.key = 'widgetId'
        self.q_key = '"widgetId"' if dialect == 'postgresql' else 'widgetId'
        self.engine = None

    def url(self, database):
        s = self.server
        return URL.create(s['drivername'], username=s['username'], password=s['password'],
                          host=s['host'], port=s['port'], database=database)

    def ensure_database(self):
        admin = sqlalchemy.create_engine(self.url(self.server['admin_db']), poolclass=NullPool,
                                         isolation_level='AUTOCOMMIT',
                                         connect_args={'connect_timeout': 3})
        try:
            with admin.connect() as conn:
                if self.dialect == 'mysql':
                    conn.execute(text('CREATE DATABASE IF NOT EXISTS %s' % TEST_DB))
                else:
                    found = conn.execute(text('SELECT 1 FROM pg_database WHERE datname = :d'),
                                         {'d': TEST_DB}).first()
                    if not found:
                        conn.execute(text('CREATE DATABASE %s' % TEST_DB))
        except sqlalchemy.exc.OperationalError as exc:
            pytest.fail('%s at %s:%s is not reachable (%s). Start it first: the suite needs the real '
                        'server.' % (self.server['name'], self.server['host'], self.server['port'],
                                     exc.orig), pytrace=False)
        finally:
            admin.dispose()
        self.engine = sqlalchemy.create_engine(self.url(TEST_DB), poolclass=NullPool)

    def reset(self):
        with self.engine.begin() as conn:
            for statement in SCHEMA[self.dialect]:
                conn.execute(text(statement))
            conn.execute(text('INSERT INTO widget (%s, name, status, note, amount, updated_at, payload) '
                              'VALUES (:widgetId, :name, :status, :note, :amount, :updated_at, :payload)'
                              % self.q_key), seed_rows())
            conn.execute(text('INSERT INTO secret_table (%s, secret) VALUES (1, :s)' % self.q_key),
                         {'s': 'keep me'})

    def execute(self, sql, params=None):
        with self.engine.begin() as conn:
            return conn.execute(text(sql), params or {}).rowcount

    def rows(self):
        """{widgetId: row dict} with bytes normalised, for exact comparisons."""
        with self.engine.connect() as conn:
            result = conn.execute(text('SELECT * FROM widget ORDER BY %s' % self.q_key))
            out = {}
            for row in result.mappings():
                row = dict(row)
                if isinstance(row['payload'], memoryview):
                    row['payload'] = row['payload'].tobytes()
                out[row['widgetId']] = row
            return out

    def tables(self):
        return sorted(sqlalchemy.inspect(self.engine).get_table_names())

    def conn_args(self):
        s = self.server
        args = dict(dialect=self.dialect, login_host=s['host'], login_port=s['port'],
                    login_user=s['username'], database=TEST_DB, sql_root=SQL_ROOT, system=SYSTEM,
                    connect_timeout=3)
        if s['password'] is not None:
            args['login_password'] = s['password']
        return args

    def run(self, module, check_mode=False, diff=False, env=None, pythonpath=None, **args):
        full = self.conn_args()
        full.update(args)
        return run_module(module, full, check_mode=check_mode, diff=diff, env=env,
                          pythonpath=pythonpath)


class ModuleResult(dict):
    """The module's JSON result, plus rc and raw output for assertions."""

    def __init__(self, data, rc, stdout, stderr):
        super(ModuleResult, self).__init__(data)
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr

    @property
    def failed(self):
        return bool(self.get('failed'))


# A fork server: imports the heavy libraries once, then forks a fresh child per
# module run, which executes the module file exactly as RUNNER does. It turns a
# 0.35 s interpreter start into a few milliseconds. Runs that need a different
# PYTHONPATH (the missing-driver stubs) use a cold subprocess instead.
ZYGOTE = r'''
import json, os, runpy, sys, time, traceback
import ansible.module_utils
import ansible.module_utils.basic
import sqlalchemy, sqlalchemy.dialects.mysql.pymysql, sqlalchemy.dialects.postgresql.psycopg2
import pymysql, psycopg2, yaml
ansible.module_utils.__path__.append(sys.argv[1])
sys.stdout.write("ready\n"); sys.stdout.flush()
for line in iter(sys.stdin.readline, ""):
    job = json.loads(line)
    sys.stdout.flush(); sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.environ.clear()
            os.environ.update(job["env"])
            for fd, path in ((1, job["out"]), (2, job["err"])):
                target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                os.dup2(target, fd)
                os.close(target)
            sys.argv = [job["module"], job["args"]]
            runpy.run_path(job["module"], run_name="__main__")
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:
            traceback.print_exc()
        finally:
            try:
                sys.stdout.flush(); sys.stderr.flush()
            finally:
                os._exit(code)
    deadline = time.monotonic() + job["timeout"]
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            rc = os.waitstatus_to_exitcode(status)
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            rc = -9
            break
        time.sleep(0.005)
    sys.stdout.write(json.dumps({"rc": rc}) + "\n"); sys.stdout.flush()
'''


class Zygote(object):
    def __init__(self):
        self.proc = subprocess.Popen([PYTHON, '-c', ZYGOTE, MODULE_UTILS], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=clean_env())
        if self.proc.stdout.readline().strip() != 'ready':
            raise RuntimeError('the module fork server did not start')

    def run(self, module_path, args_path, env, tmpdir, timeout=60):
        out = os.path.join(tmpdir, 'module-%d.out' % os.getpid())
        err = os.path.join(tmpdir, 'module-%d.err' % os.getpid())
        self.proc.stdin.write(json.dumps({'module': module_path, 'args': args_path, 'env': env,
                                          'out': out, 'err': err, 'timeout': timeout}) + '\n')
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline()
        if not reply:
            raise RuntimeError('the module fork server died')
        rc = json.loads(reply)['rc']
        with open(out) as o, open(err) as e:
            stdout, stderr = o.read(), e.read()
        os.unlink(out)
        os.unlink(err)
        return rc, stdout, stderr

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


_zygote = []


def clean_env(extra=None):
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith('REMEDIES_DB_'))
    for name in ('AWX_JOB_ID', 'TOWER_JOB_ID', 'CI', 'SUDO_USER', 'PYTHONPATH', 'GITHUB_RUN_ID',
                 'CI_JOB_ID'):
        env.pop(name, None)
    env.update(extra or {})
    return env


_args_counter = [0]


def run_module(module, args, check_mode=False, diff=False, env=None, pythonpath=None, tmpdir=None):
    """Run library/<module>.py as Ansible would and return its parsed result."""
    payload = dict(args)
    payload['_ansible_check_mode'] = check_mode
    payload['_ansible_diff'] = diff
    tmpdir = tmpdir or os.environ.get('REMEDIES_TEST_TMP') or '/tmp'
    _args_counter[0] += 1
    args_path = os.path.join(tmpdir, 'args-%d-%d.json' % (os.getpid(), _args_counter[0]))
    with open(args_path, 'w') as handle:
        json.dump({'ANSIBLE_MODULE_ARGS': payload}, handle, default=str)
    run_env = clean_env(env)
    module_path = os.path.join(LIBRARY, module + '.py')
    try:
        if pythonpath:
            run_env['PYTHONPATH'] = pythonpath
            proc = subprocess.run([PYTHON, '-c', RUNNER, MODULE_UTILS, module_path, args_path],
                                  capture_output=True, text=True, env=run_env, timeout=60)
            rc, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
        else:
            if not _zygote:
                _zygote.append(Zygote())
            rc, stdout, stderr = _zygote[0].run(module_path, args_path, run_env, tmpdir)
    finally:
        os.unlink(args_path)
    data = None
    for line in reversed(stdout.strip().splitlines()):
        line = line.strip()
        if line.startswith('{'):
            try:
                data = json.loads(line)
                break
            except ValueError:
                continue
    if data is None:
        raise AssertionError('module %s printed no JSON result (rc=%s)\nstdout:\n%s\nstderr:\n%s'
                             % (module, rc, stdout, stderr))
    return ModuleResult(data, rc, stdout, stderr)


def pytest_sessionfinish(session, exitstatus):
    while _zygote:
        _zygote.pop().close()


_labs = {}


@pytest.fixture(scope='session')
def labs():
    for dialect in ('mysql', 'postgresql'):
        lab = Lab(dialect)
        lab.ensure_database()
        _labs[dialect] = lab
    return _labs


@pytest.fixture(params=['mysql', 'postgresql'])
def lab(request, labs, tmp_path, monkeypatch):
    """A freshly seeded database of one dialect."""
    monkeypatch.setenv('REMEDIES_TEST_TMP', str(tmp_path))
    lab = labs[request.param]
    lab.reset()
    return lab


@pytest.fixture
def mysql_lab(labs, tmp_path, monkeypatch):
    monkeypatch.setenv('REMEDIES_TEST_TMP', str(tmp_path))
    labs['mysql'].reset()
    return labs['mysql']


@pytest.fixture
def archive_dir(tmp_path):
    path = tmp_path / 'archive'
    path.mkdir()
    return str(path)


@contextlib.contextmanager
def locked_directory(path):
    """Make ``path`` a directory nobody (not even root) can create files in."""
    path = str(path)
    if os.geteuid() == 0:
        subprocess.run(['chattr', '+i', path], check=True, capture_output=True)
    else:
        os.chmod(path, 0o555)
    try:
        probe = os.path.join(path, 'probe')
        try:
            with open(probe, 'w'):
                pass
        except OSError:
            pass
        else:
            pytest.fail('could not make %s unwritable for the archive-failure test' % path)
        yield path
    finally:
        if os.geteuid() == 0:
            subprocess.run(['chattr', '-i', path], check=True, capture_output=True)
        else:
            os.chmod(path, 0o755)


@pytest.fixture
def unwritable_dir(tmp_path):
    path = tmp_path / 'locked-archive'
    path.mkdir()
    with locked_directory(path) as locked:
        yield locked


@pytest.fixture
def driver_stubs(tmp_path):
    """A PYTHONPATH dir where importing a driver fails, as if it were not installed."""
    root = tmp_path / 'stubs'
    for name in ('pymysql', 'psycopg2', 'sqlalchemy'):
        (root / name).mkdir(parents=True)
        (root / name / '__init__.py').write_text('raise ImportError("%s is not installed (stub)")\n' % name)

    def path_for(*names):
        only = tmp_path / ('stubs-' + '-'.join(names))
        only.mkdir(exist_ok=True)
        for name in names:
            target = only / name
            if not target.exists():
                target.symlink_to(root / name)
        return str(only)
    return path_for


@pytest.fixture(name='run_module')
def run_module_fixture():
    """run_module(module, args, check_mode=False, diff=False, env=None, tmpdir=None)."""
    return run_module


@pytest.fixture(name='locked_directory')
def locked_directory_fixture():
    """locked_directory(path): context manager making path unwritable, even for root."""
    return locked_directory


@pytest.fixture(scope='session')
def repo_paths():
    return dict(repo=REPO, library=LIBRARY, python=PYTHON, sql_root=SQL_ROOT, test_db=TEST_DB,
                servers=SERVERS)
