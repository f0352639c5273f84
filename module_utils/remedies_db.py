# -*- coding: utf-8 -*-
# remedies: shared database access for the remedies_* modules.
#
# Connection options and their defaults, named queries loaded from reviewed
# .sql files, bound parameters, identifier allow-listing, per-session timeouts
# and one clear message per database failure the user can fix.
#
# Nothing in this file formats a value into SQL text, and no message built here
# contains a password or a bound parameter value.

from __future__ import absolute_import, division, print_function

import datetime
import decimal
import json
import math
import os
import re
import time
import traceback
import uuid

from ansible.module_utils.basic import env_fallback, missing_required_lib
from ansible.module_utils.remedies_audit import redact

try:
    import sqlalchemy
    from sqlalchemy import bindparam, text
    from sqlalchemy import exc as sa_exc
    from sqlalchemy import inspect as sa_inspect
    from sqlalchemy.engine import URL
    from sqlalchemy.pool import NullPool
    HAS_SQLALCHEMY = True
    SQLALCHEMY_IMPORT_ERROR = None
except ImportError:
    HAS_SQLALCHEMY = False
    SQLALCHEMY_IMPORT_ERROR = traceback.format_exc()

try:
    import pymysql  # noqa: F401  (the mysql+pymysql driver)
    HAS_PYMYSQL = True
    PYMYSQL_IMPORT_ERROR = None
except ImportError:
    HAS_PYMYSQL = False
    PYMYSQL_IMPORT_ERROR = traceback.format_exc()

try:
    import psycopg2  # noqa: F401  (the postgresql+psycopg2 driver)
    HAS_PSYCOPG2 = True
    PSYCOPG2_IMPORT_ERROR = None
except ImportError:
    HAS_PSYCOPG2 = False
    PSYCOPG2_IMPORT_ERROR = traceback.format_exc()

try:
    import yaml
    HAS_YAML = True
except ImportError:
    HAS_YAML = False


NAME_RE = re.compile(r'^[a-z][a-z0-9_]*$')
IDENTIFIER_RE = re.compile(r'^[A-Za-z_][A-Za-z0-9_]{0,62}$')
# A table name, optionally schema-qualified (PostgreSQL schemas: receiving.manifest).
TABLE_RE = re.compile(r'^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$')
DEFAULT_PORTS = {'mysql': 3306, 'postgresql': 5432}
DRIVERS = {'mysql': 'mysql+pymysql', 'postgresql': 'postgresql+psycopg2'}
TABLES_FILE = 'tables.yml'
READ_KEYWORDS = ('SELECT', 'WITH', 'SHOW', 'EXPLAIN', 'DESCRIBE', 'DESC', 'VALUES', 'TABLE')
OUTCOMES = ('nothing_to_do', 'planned', 'changed', 'refused', 'failed')


class RemediesError(Exception):
    """A failure with one clear, secret-free message.

    ``refused`` marks a guard that stopped the action on purpose (the Invoke
    layer maps it to exit code 3); ``result`` carries extra keys for the
    module result, such as the plan that was refused.
    """

    def __init__(self, msg, refused=False, **result):
        super(RemediesError, self).__init__(msg)
        self.msg = msg
        self.refused = refused
        self.result = result

    @property
    def outcome(self):
        return 'refused' if self.refused else 'failed'

    def fail_kwargs(self):
        out = dict(self.result)
        out.update(msg=self.msg, outcome=self.outcome, refused=self.refused)
        out.setdefault('changed', False)
        return out


def refuse(msg, **result):
    """Build the error for a guard that stopped the action on purpose."""
    return RemediesError(msg, refused=True, **result)


# ---------------------------------------------------------------------------
# Options
# ---------------------------------------------------------------------------

def db_argument_spec():
    """The connection and catalogue options every remedies SQL module takes."""
    return dict(
        dialect=dict(type='str', required=True, choices=['mysql', 'postgresql']),
        login_host=dict(type='str', default='127.0.0.1',
                        fallback=(env_fallback, ['REMEDIES_DB_HOST'])),
        login_port=dict(type='int', fallback=(env_fallback, ['REMEDIES_DB_PORT'])),
        login_user=dict(type='str', fallback=(env_fallback, ['REMEDIES_DB_USER'])),
        login_password=dict(type='str', no_log=True,
                            fallback=(env_fallback, ['REMEDIES_DB_PASSWORD'])),
        database=dict(type='str', required=True,
                      fallback=(env_fallback, ['REMEDIES_DB_NAME'])),
        connect_timeout=dict(type='int', default=5),
        statement_timeout_ms=dict(type='int', default=30000),
        lock_timeout_ms=dict(type='int', default=5000),
        sql_root=dict(type='path', required=True),
        system=dict(type='str', required=True),
        catalog_id=dict(type='str'),
        audit_log=dict(type='path'),
    )


def require_drivers(module, auditor=None):
    """Fail with missing_required_lib() when SQLAlchemy or the dialect's driver is absent.

    ``auditor`` (a remedies_audit.Auditor) gets its one line before the module fails.
    """
    dialect = module.params.get('dialect')
    if not HAS_SQLALCHEMY:
        msg, trace = missing_required_lib('sqlalchemy'), SQLALCHEMY_IMPORT_ERROR
    elif dialect == 'mysql' and not HAS_PYMYSQL:
        msg, trace = missing_required_lib('pymysql'), PYMYSQL_IMPORT_ERROR
    elif dialect == 'postgresql' and not HAS_PSYCOPG2:
        msg, trace = missing_required_lib('psycopg2 (psycopg2-binary)'), PSYCOPG2_IMPORT_ERROR
    else:
        return
    if auditor is not None:
        auditor.write('failed', msg, params=module.params.get('params'))
    if isinstance(module.params.get('params'), dict):
        # Ansible echoes module_args as `invocation`; keep secret-named params out of it.
        module.params['params'] = redact(module.params['params'])
    module.fail_json(msg=msg, exception=trace, outcome='failed', refused=False)


def validate_common(params):
    """Check the shared options that need no database. Raises RemediesError."""
    for name in ('connect_timeout',):
        if params.get(name) is None or params[name] < 1:
            raise RemediesError('%s must be a positive number of seconds' % name)
    for name in ('statement_timeout_ms', 'lock_timeout_ms'):
        if params.get(name) is None or params[name] < 0:
            raise RemediesError('%s must be 0 (no limit) or a positive number of milliseconds' % name)
    port = params.get('login_port')
    if port is not None and not 0 < port < 65536:
        raise RemediesError('login_port must be between 1 and 65535')
    system_dir(params['sql_root'], params['dialect'], params['system'])
    audit_log = params.get('audit_log')
    if audit_log:
        parent = os.path.dirname(os.path.abspath(audit_log))
        if not os.path.isdir(parent):
            raise RemediesError('audit_log directory %s does not exist' % parent)
        if os.path.isdir(audit_log):
            raise RemediesError('audit_log %s is a directory; give a file path' % audit_log)


def port_of(params):
    return params.get('login_port') or DEFAULT_PORTS[params['dialect']]


# ---------------------------------------------------------------------------
# Catalogue: systems, named queries, table allow-list
# ---------------------------------------------------------------------------

def system_dir(sql_root, dialect, system):
    """Return sql_root/<dialect>/<system> after validating every part."""
    if not system or not NAME_RE.match(system):
        raise RemediesError('system must match ^[a-z][a-z0-9_]*$')
    if not sql_root or not os.path.isdir(sql_root):
        raise RemediesError('sql_root %s is not a directory' % sql_root)
    if dialect not in DRIVERS:
        raise RemediesError('dialect must be one of: %s' % ', '.join(sorted(DRIVERS)))
    path = os.path.join(sql_root, dialect, system)
    if not os.path.isdir(path):
        raise RemediesError("unknown system '%s' for dialect %s: no folder %s"
                            % (system, dialect, path))
    return path


def known_queries(sql_root, dialect, system):
    folder = system_dir(sql_root, dialect, system)
    names = []
    for entry in os.listdir(folder):
        if entry.endswith('.sql') and NAME_RE.match(entry[:-4]) \
                and os.path.isfile(os.path.join(folder, entry)):
            names.append(entry[:-4])
    return sorted(names)


def load_query(sql_root, dialect, system, name):
    """Load the reviewed statement <sql_root>/<dialect>/<system>/<name>.sql."""
    known = known_queries(sql_root, dialect, system)
    listing = ', '.join(known) or '(none)'
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise RemediesError('query names must match ^[a-z][a-z0-9_]*$; known for %s/%s: %s'
                            % (system, dialect, listing))
    if name not in known:
        raise RemediesError("unknown query '%s' for %s/%s; known: %s"
                            % (name, system, dialect, listing))
    path = os.path.join(system_dir(sql_root, dialect, system), name + '.sql')
    with open(path, 'r', encoding='utf-8') as handle:
        raw = handle.read()
    return NamedQuery(name, system, dialect, path, raw)


def load_allowed_tables(sql_root, dialect, system):
    """The tables change statements of a system may modify.

    Read from <sql_root>/<dialect>/<system>/tables.yml::

        allowed_tables:
          - record
          - receiving.manifest    # schema-qualified (PostgreSQL)
    """
    path = os.path.join(system_dir(sql_root, dialect, system), TABLES_FILE)
    if not os.path.isfile(path):
        raise RemediesError('no %s in %s/%s: list the tables changes may touch under allowed_tables'
                            % (TABLES_FILE, dialect, system))
    if not HAS_YAML:
        raise RemediesError('PyYAML is required to read %s' % path)
    with open(path, 'r', encoding='utf-8') as handle:
        try:
            data = yaml.safe_load(handle)
        except yaml.YAMLError:
            raise RemediesError('%s is not valid YAML' % path)
    tables = (data or {}).get('allowed_tables') if isinstance(data, dict) else None
    if not isinstance(tables, list) or not all(isinstance(t, str) and TABLE_RE.match(t)
                                               for t in tables):
        raise RemediesError('%s must hold allowed_tables: a list of table names (table or schema.table)'
                            % path)
    return list(tables)


def _split_sql(sql, dialect):
    """Split SQL into (structure, executable).

    ``structure`` has comments and string literals blanked out, for checks such
    as "one statement" or "has a WHERE". ``executable`` is the text for
    ``text()``: identical, except that ``:word`` inside comments and literals is
    escaped so SQLAlchemy does not take it for a bind parameter.
    """
    structure = []
    executable = []
    i = 0
    n = len(sql)

    def literal(chunk):
        executable.append(re.sub(r'(?<![:\w\\]):(\w+)(?!:)', r'\\:\1', chunk))
        structure.append(' ' * len(chunk))

    while i < n:
        c = sql[i]
        nxt = sql[i + 1] if i + 1 < n else ''
        if c == '-' and nxt == '-' or (c == '#' and dialect == 'mysql'):
            end = sql.find('\n', i)
            end = n if end < 0 else end
            literal(sql[i:end])
            i = end
        elif c == '/' and nxt == '*':
            end = sql.find('*/', i + 2)
            end = n if end < 0 else end + 2
            literal(sql[i:end])
            i = end
        elif c == "'":
            j = i + 1
            while j < n:
                if sql[j] == '\\' and dialect == 'mysql':
                    j += 2
                    continue
                if sql[j] == "'":
                    if j + 1 < n and sql[j + 1] == "'":
                        j += 2
                        continue
                    break
                j += 1
            end = min(j + 1, n)
            literal(sql[i:end])
            i = end
        elif c == '$' and dialect == 'postgresql':
            match = re.match(r'\$([A-Za-z_][A-Za-z0-9_]*)?\$', sql[i:])
            if match:
                tag = match.group(0)
                end = sql.find(tag, i + len(tag))
                end = n if end < 0 else end + len(tag)
                literal(sql[i:end])
                i = end
            else:
                structure.append(c)
                executable.append(c)
                i += 1
        else:
            structure.append(c)
            executable.append(c)
            i += 1
    return ''.join(structure), ''.join(executable)


class NamedQuery(object):
    """One reviewed statement from a .sql file, with the binds it needs."""

    def __init__(self, name, system, dialect, path, raw):
        self.name = name
        self.system = system
        self.dialect = dialect
        self.path = path
        body = raw.rstrip()
        if body.endswith(';'):
            body = body[:-1].rstrip()
        self.structure, self.sql = _split_sql(body, dialect)
        if not self.structure.strip():
            raise RemediesError("query '%s' (%s) is empty" % (name, path))
        if ';' in self.structure:
            raise RemediesError("query '%s' must hold exactly one statement "
                                "(no ';' except at the very end of the file)" % name)
        first = re.search(r'[A-Za-z]+', self.structure)
        self.keyword = first.group(0).upper() if first else ''
        self.binds = sorted(text(self.sql).compile().params) if HAS_SQLALCHEMY else []

    @property
    def label(self):
        return "query '%s'" % self.name

    def has_where(self):
        return re.search(r'\bWHERE\b', self.structure, re.IGNORECASE) is not None

    def statement(self, values, suffix=None, wrap_count=False):
        """A text() clause for these values; lists become expanding binds."""
        sql = self.sql
        if wrap_count:
            sql = 'SELECT COUNT(*) AS remedies_count FROM (\n%s\n) AS remedies_target' % sql
        if suffix:
            sql = '%s\n%s' % (sql, suffix)
        clause = text(sql)
        expanding = [bindparam(k, expanding=True) for k, v in values.items()
                     if isinstance(v, (list, tuple))]
        if expanding:
            clause = clause.bindparams(*expanding)
        return clause


def _is_scalar(value):
    return value is None or isinstance(value, (str, int, float, bool, decimal.Decimal,
                                               datetime.date, datetime.time,
                                               datetime.timedelta, uuid.UUID))


def validate_params(params):
    """Param values must be scalars or lists of scalars; names plain identifiers."""
    if not isinstance(params, dict):
        raise RemediesError('params must be a dictionary')
    for key, value in params.items():
        if not isinstance(key, str) or not re.match(r'^[A-Za-z_][A-Za-z0-9_]*$', key):
            raise RemediesError('param names must be plain identifiers ([A-Za-z_][A-Za-z0-9_]*)')
        if isinstance(value, (list, tuple)):
            if not all(_is_scalar(v) and v is not None for v in value):
                raise RemediesError("param '%s' must be a scalar or a list of scalars" % key)
        elif not _is_scalar(value):
            raise RemediesError("param '%s' must be a scalar or a list of scalars" % key)
    return params


def check_params_used(params, queries, provided=()):
    """Every param must be used by one of the queries; none may shadow a provided bind."""
    used = set()
    for query in queries:
        used.update(query.binds)
    for name in provided:
        if name in params:
            raise RemediesError("param '%s' is reserved: the module binds it itself" % name)
    extra = sorted(set(params) - used)
    if extra:
        raise RemediesError('unused params: %s; %s use: %s'
                            % (', '.join(extra),
                               ' and '.join("'%s'" % q.name for q in queries),
                               ', '.join(sorted(used - set(provided))) or '(none)'))


def bind_values(query, params, provided=None):
    """The values one statement needs: exactly its binds, no more."""
    provided = provided or {}
    values = {}
    missing = []
    for name in query.binds:
        if name in provided:
            values[name] = provided[name]
        elif name in params:
            values[name] = params[name]
        else:
            missing.append(name)
    if missing:
        raise RemediesError('%s needs params: %s' % (query.label, ', '.join(missing)))
    return values


# ---------------------------------------------------------------------------
# Identifiers
# ---------------------------------------------------------------------------

def quote_identifier(engine_or_dialect, name, allowed):
    """Quote ``name`` with the dialect's preparer, refusing names not in ``allowed``."""
    if not isinstance(name, str) or not IDENTIFIER_RE.match(name):
        raise RemediesError('identifiers must be plain names ([A-Za-z_][A-Za-z0-9_]*, max 63)')
    if name not in allowed:
        raise RemediesError("identifier '%s' is not allowed here" % name)
    dialect = getattr(engine_or_dialect, 'dialect', engine_or_dialect)
    return dialect.identifier_preparer.quote_identifier(name)


# ---------------------------------------------------------------------------
# JSON-safe values
# ---------------------------------------------------------------------------

def json_safe(value):
    """A JSON-friendly copy of a database value, for module results."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            return str(value)
        if value == value.to_integral_value():
            return int(value)
        as_float = float(value)
        if decimal.Decimal(repr(as_float)) == value:
            return as_float
        return str(value)
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return str(value)
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, (bytes, bytearray)):
        try:
            return bytes(value).decode('utf-8')
        except UnicodeDecodeError:
            return '0x' + bytes(value).hex()
    if isinstance(value, dict):
        return dict((str(k), json_safe(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((json_safe(v) for v in value), key=str)
    return str(value)


def canonical_json(value):
    return json.dumps(json_safe(value), sort_keys=True, separators=(',', ':'), ensure_ascii=True)


# ---------------------------------------------------------------------------
# Database sessions
# ---------------------------------------------------------------------------

class Database(object):
    """One connection with the session timeouts applied.

    Use as a context manager. ``run()`` executes a clause and turns driver
    errors into RemediesError with a message about ``what`` was running.
    """

    def __init__(self, params):
        self.params = params
        self.dialect = params['dialect']
        self.host = params['login_host']
        self.port = port_of(params)
        self.database = params['database']
        self.user = params.get('login_user')
        self.engine = None
        self.conn = None
        self.is_mariadb = False

    # -- connection -------------------------------------------------------
    def url(self):
        query = {'charset': 'utf8mb4'} if self.dialect == 'mysql' else {}
        return URL.create(DRIVERS[self.dialect], username=self.user,
                          password=self.params.get('login_password'),
                          host=self.host, port=self.port, database=self.database,
                          query=query)

    def __enter__(self):
        self.connect()
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def connect(self):
        connect_args = {'connect_timeout': int(self.params['connect_timeout'])}
        if self.dialect == 'postgresql':
            connect_args['application_name'] = 'remedies'
        try:
            self.engine = sqlalchemy.create_engine(self.url(), poolclass=NullPool,
                                                   connect_args=connect_args)
            self.conn = self.engine.connect()
            self.is_mariadb = bool(getattr(self.conn.dialect, 'is_mariadb', False))
        except sa_exc.DBAPIError as exc:
            raise self.error(exc, 'connect')
        self._session_timeouts()
        return self

    def close(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except sa_exc.DBAPIError:
                pass
            self.conn = None
        if self.engine is not None:
            self.engine.dispose()
            self.engine = None

    def _session_timeouts(self):
        lock_ms = int(self.params['lock_timeout_ms'])
        stmt_ms = int(self.params['statement_timeout_ms'])
        if self.dialect == 'postgresql':
            clause = text("SELECT set_config('lock_timeout', :lock_ms, false), "
                          "set_config('statement_timeout', :stmt_ms, false)")
            values = {'lock_ms': str(lock_ms), 'stmt_ms': str(stmt_ms)}
            self.run(clause, values, 'session setup')
        else:
            # InnoDB counts whole seconds; 0 would mean "fail at once", so ceil, min 1.
            lock_s = max(1, int(math.ceil(lock_ms / 1000.0))) if lock_ms else 31536000
            self.run(text('SET SESSION innodb_lock_wait_timeout = :lock_s, '
                          'SESSION lock_wait_timeout = :lock_s'),
                     {'lock_s': lock_s}, 'session setup')
            if self.is_mariadb:
                # MariaDB: max_statement_time, seconds, applies to every statement.
                self.run(text('SET SESSION max_statement_time = :stmt_s'),
                         {'stmt_s': stmt_ms / 1000.0}, 'session setup')
            else:
                # MySQL: max_execution_time, milliseconds, applies to SELECT (reads).
                self.run(text('SET SESSION max_execution_time = :stmt_ms'),
                         {'stmt_ms': stmt_ms}, 'session setup')
        self.conn.commit()

    # -- transactions -----------------------------------------------------
    def begin_read_only(self, snapshot=False):
        """Begin a READ ONLY transaction (optionally one consistent snapshot)."""
        tx = self.conn.begin()
        if self.dialect == 'postgresql':
            level = 'ISOLATION LEVEL REPEATABLE READ, ' if snapshot else ''
            self.run(text('SET TRANSACTION %sREAD ONLY' % level), {}, 'begin read-only transaction')
        else:
            if snapshot:
                self.run(text('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ'), {},
                         'begin read-only transaction')
                self.run(text('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY'), {},
                         'begin read-only transaction')
            else:
                self.run(text('START TRANSACTION READ ONLY'), {}, 'begin read-only transaction')
        return tx

    def begin(self):
        return self.conn.begin()

    def run(self, clause, values, what):
        try:
            return self.conn.execute(clause, values)
        except sa_exc.DBAPIError as exc:
            raise self.error(exc, what)
        except sa_exc.StatementError:
            # Raised before the database saw anything (binding failed); its
            # text would contain the SQL and the values, so it is not shown.
            raise RemediesError('%s: could not bind its parameters (check their types)' % what)

    def raw_json(self):
        """PostgreSQL: return json/jsonb values as their text, not parsed.

        The safety core archives and restores rows through this: a ``json`` column keeps
        its exact bytes (whitespace, key order) and a jsonb array is not mistaken for a
        PostgreSQL array on restore. No effect on MySQL.
        """
        if self.dialect != 'postgresql':
            return
        import psycopg2.extras
        raw = self.conn.connection.dbapi_connection
        psycopg2.extras.register_default_json(raw, loads=lambda value: value)
        psycopg2.extras.register_default_jsonb(raw, loads=lambda value: value)

    def inspector(self):
        try:
            return sa_inspect(self.conn)
        except sa_exc.DBAPIError as exc:
            raise self.error(exc, 'inspect tables')

    # -- errors -----------------------------------------------------------
    def error(self, exc, what):
        """Map a driver error to one clear message. Never includes SQL or values."""
        orig = getattr(exc, 'orig', None)
        where = '%s:%s' % (self.host, self.port)
        user = self.user or '(default user)'
        if self.dialect == 'mysql':
            code = orig.args[0] if orig is not None and orig.args and \
                isinstance(orig.args[0], int) else None
            return self._mysql_error(code, exc, what, where, user)
        return self._pg_error(orig, exc, what, where, user)

    def _common(self, kind, code, what, where, user):
        label = ' (error %s)' % code if code is not None else ''
        messages = {
            'auth': 'authentication failed for user %s on %s/%s' % (user, where, self.database),
            'denied_db': 'user %s may not use database %s on %s%s' % (user, self.database, where, label),
            'unreachable': 'cannot reach database at %s within %ss'
                           % (where, self.params['connect_timeout']),
            'unknown_db': 'database %s does not exist on %s' % (self.database, where),
            'lock': '%s: lock wait timed out after %s ms: another session holds the rows; '
                    'rolled back' % (what, self.params['lock_timeout_ms']),
            'timeout': '%s: statement timed out after %s ms; rolled back'
                       % (what, self.params['statement_timeout_ms']),
            'read_only': '%s: the database refused a write inside a read-only transaction: '
                         'this query is not read-only' % what,
            'undefined': '%s: refers to a table or column that does not exist in %s%s'
                         % (what, self.database, label),
            'syntax': '%s: SQL syntax error%s; check the .sql file' % (what, label),
            'operator': '%s: no operator or function matches the argument types%s; note that an '
                        'empty list param binds as an empty integer set on PostgreSQL'
                        % (what, label),
            'data': '%s: a parameter value is not valid for its column type%s' % (what, label),
            'duplicate': '%s: would duplicate a unique key%s; rolled back' % (what, label),
            'deadlock': '%s: deadlock with another session%s; rolled back, retry' % (what, label),
            'privilege': '%s: user %s lacks the privilege%s' % (what, user, label),
            'lost': '%s: lost the connection to %s%s' % (what, where, label),
            'server_read_only': '%s: the server is read-only (a replica?)%s' % (what, label),
        }
        return RemediesError(messages[kind])

    def _mysql_error(self, code, exc, what, where, user):
        kinds = {
            1045: 'auth', 1698: 'auth', 1044: 'denied_db', 1049: 'unknown_db',
            2002: 'unreachable', 2003: 'unreachable', 2005: 'unreachable',
            1205: 'lock', 3024: 'timeout', 1969: 'timeout', 3572: 'lock',
            1792: 'read_only', 1290: 'server_read_only', 1836: 'server_read_only',
            1146: 'undefined', 1054: 'undefined', 1064: 'syntax', 1149: 'syntax',
            1366: 'data', 1292: 'data', 1264: 'data', 1265: 'data', 1406: 'data',
            1048: 'data', 1411: 'data', 1062: 'duplicate', 1213: 'deadlock',
            1142: 'privilege', 1143: 'privilege', 1227: 'privilege',
            2006: 'lost', 2013: 'lost',
        }
        kind = kinds.get(code)
        if kind == 'lost' and what == 'connect':
            kind = 'unreachable'
        if kind:
            return self._common(kind, code, what, where, user)
        return RemediesError('%s: database error %s (%s)'
                             % (what, code, type(getattr(exc, 'orig', None) or exc).__name__))

    def _pg_error(self, orig, exc, what, where, user):
        code = getattr(orig, 'pgcode', None)
        kinds = {
            '28P01': 'auth', '28000': 'auth', '3D000': 'unknown_db', '42501': 'privilege',
            '55P03': 'lock', '57014': 'timeout', '25006': 'read_only',
            '42P01': 'undefined', '42703': 'undefined', '42883': 'operator',
            '42601': 'syntax', '23505': 'duplicate', '23502': 'data',
            '40P01': 'deadlock', '40001': 'deadlock',
        }
        kind = kinds.get(code)
        if kind is None and code and code.startswith('22'):
            kind = 'data'
        if kind is None and code is None:
            # Connection-time errors carry no SQLSTATE; classify by libpq text.
            detail = str(orig or exc).lower()
            if 'authentication failed' in detail or 'no pg_hba.conf entry' in detail \
                    or ('role' in detail and 'does not exist' in detail):
                kind = 'auth'
            elif 'database' in detail and 'does not exist' in detail:
                kind = 'unknown_db'
            elif what == 'connect' or 'could not connect' in detail or 'connection refused' in detail \
                    or 'timeout expired' in detail or 'could not translate host name' in detail:
                kind = 'unreachable'
            elif 'server closed the connection' in detail or 'connection already closed' in detail:
                kind = 'lost'
        if kind:
            return self._common(kind, code, what, where, user)
        return RemediesError('%s: database error %s (%s)' % (what, code, type(orig or exc).__name__))


def rollback_quietly(tx):
    """Roll back ``tx`` if still open; a lost connection is rolled back by the server."""
    try:
        if tx.is_active:
            tx.rollback()
    except sa_exc.DBAPIError:
        pass


def timed(func, *args, **kwargs):
    """Run func, returning (result, elapsed milliseconds)."""
    start = time.monotonic()
    result = func(*args, **kwargs)
    return result, int(round((time.monotonic() - start) * 1000))
