# -*- coding: utf-8 -*-
# remedies: plan, guarded apply, archive and undo.
#
# A change is always planned first with plain SELECTs in a read-only snapshot.
# Applying it locks the planned rows, re-checks every guard, runs the keyed
# change statement, writes the before/after images to an append-only archive
# and only then commits. Undo reads that archive back.

from __future__ import absolute_import, division, print_function

import base64
import datetime
import decimal
import hashlib
import json
import os
import re
import secrets
import uuid

from ansible.module_utils.remedies_audit import redact, utc_now, who
from ansible.module_utils.remedies_db import (
    IDENTIFIER_RE,
    TABLE_RE,
    RemediesError,
    bind_values,
    canonical_json,
    check_params_used,
    json_safe,
    load_allowed_tables,
    load_query,
    port_of,
    quote_identifier,
    refuse,
    rollback_quietly,
    validate_params,
)

try:
    from sqlalchemy import bindparam, text
    from sqlalchemy import exc as sa_exc
except ImportError:
    pass  # require_drivers() reports it before anything here runs

ARCHIVE_FORMAT = 1
CHANGE_ID_RE = re.compile(r'^[0-9A-Za-z-]{1,64}$')
KEYS_SHOWN = 100


# ---------------------------------------------------------------------------
# Values in the archive: tagged so they round-trip exactly
# ---------------------------------------------------------------------------

def to_archive(value):
    """Encode a database value as JSON; non-JSON types become {"$type", "value"}."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if value != value or value in (float('inf'), float('-inf')):
            return {'$type': 'float', 'value': repr(value)}
        return value
    if isinstance(value, decimal.Decimal):
        return {'$type': 'decimal', 'value': str(value)}
    if isinstance(value, datetime.datetime):
        return {'$type': 'datetime', 'value': value.isoformat()}
    if isinstance(value, datetime.date):
        return {'$type': 'date', 'value': value.isoformat()}
    if isinstance(value, datetime.time):
        return {'$type': 'time', 'value': value.isoformat()}
    if isinstance(value, datetime.timedelta):
        return {'$type': 'timedelta', 'value': [value.days, value.seconds, value.microseconds]}
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, (bytes, bytearray)):
        return {'$type': 'bytes', 'value': base64.b64encode(bytes(value)).decode('ascii')}
    if isinstance(value, uuid.UUID):
        return {'$type': 'uuid', 'value': str(value)}
    if isinstance(value, dict):
        return {'$type': 'json', 'value': json_safe(value)}
    if isinstance(value, (list, tuple)):
        return {'$type': 'array', 'value': [to_archive(v) for v in value]}
    return {'$type': 'str', 'value': str(value)}


def from_archive(value):
    """Decode what to_archive() wrote back into the Python value."""
    if not isinstance(value, dict):
        return value
    kind, data = value.get('$type'), value.get('value')
    if kind == 'float':
        return float(data)
    if kind == 'decimal':
        return decimal.Decimal(data)
    if kind == 'datetime':
        return datetime.datetime.fromisoformat(data)
    if kind == 'date':
        return datetime.date.fromisoformat(data)
    if kind == 'time':
        return datetime.time.fromisoformat(data)
    if kind == 'timedelta':
        return datetime.timedelta(days=data[0], seconds=data[1], microseconds=data[2])
    if kind == 'bytes':
        return base64.b64decode(data)
    if kind == 'uuid':
        return uuid.UUID(data)
    if kind == 'json':
        return data
    if kind == 'array':
        return [from_archive(v) for v in data]
    if kind == 'str':
        return data
    raise RemediesError('archive holds an unknown value type')


def _comparable(value):
    if isinstance(value, memoryview):
        return value.tobytes()
    if isinstance(value, bytearray):
        return bytes(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def _bindable(value):
    # JSON documents are bound as text; the database casts them back.
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return value


def _sort_key(value):
    if isinstance(value, (int, float, decimal.Decimal)) and not isinstance(value, bool):
        return (0, value, '')
    return (1, 0, canonical_json(value))


def row_images(rows, columns):
    return [dict((c, to_archive(row[c])) for c in columns) for row in rows]


def plan_hash(system, target, change, keys, params):
    """sha256 over the system, query names, sorted key values and canonical params."""
    payload = {
        'system': system,
        'target': target,
        'change': change,
        'keys': [json_safe(k) for k in sorted(keys, key=_sort_key)],
        'params': json_safe(params or {}),
    }
    return hashlib.sha256(canonical_json(payload).encode('utf-8')).hexdigest()


# ---------------------------------------------------------------------------
# The archive: one JSON file per change, never overwritten or deleted
# ---------------------------------------------------------------------------

def new_change_id(now=None):
    now = now or utc_now()
    return '%s-%s' % (now.strftime('%Y%m%dT%H%M%SZ'), secrets.token_hex(3))


def ensure_archive_dir(archive_dir):
    if not archive_dir:
        raise RemediesError('archive_dir is required')
    if os.path.exists(archive_dir) and not os.path.isdir(archive_dir):
        raise RemediesError('archive_dir %s is not a directory' % archive_dir)
    if not os.path.isdir(archive_dir):
        try:
            os.makedirs(archive_dir, 0o750)
        except OSError as exc:
            raise RemediesError('cannot create archive_dir %s: %s; nothing changed'
                                % (archive_dir, exc.strerror or exc))


def _fsync_dir(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_archive(archive_dir, record):
    """Write <archive_dir>/<change_id>.json once, completely, read-only (0440).

    The bytes go to a hidden temporary file created with O_EXCL and fsync'd;
    a hard link then publishes it under its final name, which fails rather
    than overwrite an existing archive. So an archive is either absent or
    complete. Returns the final path; raises OSError.
    """
    change_id = record['change_id']
    final = os.path.join(archive_dir, change_id + '.json')
    temp = os.path.join(archive_dir, '.%s.json.tmp' % change_id)
    data = (json.dumps(record, indent=2, ensure_ascii=True) + '\n').encode('utf-8')
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o440)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.link(temp, final)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)
    _fsync_dir(archive_dir)
    return final


def read_archive(archive_dir, change_id):
    """Load an archive record by change_id."""
    if not isinstance(change_id, str) or not CHANGE_ID_RE.match(change_id):
        raise RemediesError('change_id must match ^[0-9A-Za-z-]+$ (at most 64 characters)')
    path = os.path.join(archive_dir, change_id + '.json')
    if not os.path.isfile(path):
        raise RemediesError("no archived change '%s' in %s" % (change_id, archive_dir))
    try:
        with open(path, 'r', encoding='utf-8') as handle:
            record = json.load(handle)
    except (OSError, ValueError):
        raise RemediesError("archive of change '%s' is unreadable" % change_id)
    needed = ('format', 'change_id', 'kind', 'dialect', 'system', 'database', 'table',
              'key_column', 'columns', 'keys', 'before', 'after')
    if not isinstance(record, dict) or any(k not in record for k in needed) \
            or record['format'] != ARCHIVE_FORMAT or record['change_id'] != change_id:
        raise RemediesError("archive of change '%s' is not a remedies archive (format %s)"
                            % (change_id, ARCHIVE_FORMAT))
    return record, path


def base_record(params, kind, table, change_id=None):
    return {
        'format': ARCHIVE_FORMAT,
        'change_id': change_id or new_change_id(),
        'created_at': utc_now().isoformat().replace('+00:00', 'Z'),
        'who': who(),
        'catalog_id': params.get('catalog_id'),
        'kind': kind,
        'dialect': params['dialect'],
        'system': params['system'],
        'database': params['database'],
        'login_host': params['login_host'],
        'login_port': port_of(params),
        'table': table.name,
        'key_column': table.key_column,
        'columns': table.columns,
        'undo_of': None,
        'target': None,
        'change': None,
        'params': {},
    }


def archive_then_commit(db, tx, archive_dir, record):
    """Archive the images, then commit; an archive failure leaves the transaction to roll back."""
    path = archive_or_fail(archive_dir, record)
    try:
        tx.commit()
    except sa_exc.DBAPIError as exc:
        error = db.error(exc, 'commit')
        raise RemediesError('%s; the database rolled back, so archive %s describes a change '
                            'that did not happen' % (error.msg, record['change_id']))
    return path


def archive_or_fail(archive_dir, record):
    try:
        return write_archive(archive_dir, record)
    except OSError as exc:
        raise RemediesError('archive write failed (%s: %s); rolled back, nothing changed'
                            % (archive_dir, exc.strerror or exc))


# ---------------------------------------------------------------------------
# Tables: allow-list, real columns, unique key
# ---------------------------------------------------------------------------

def check_table_allowed(params, table):
    """Refuse a table that is not listed in the system's tables.yml."""
    if not isinstance(table, str) or not TABLE_RE.match(table):
        raise refuse('table must be a plain table name ([A-Za-z_][A-Za-z0-9_]*), optionally '
                     'schema-qualified (schema.table)')
    allowed = load_allowed_tables(params['sql_root'], params['dialect'], params['system'])
    if table not in allowed:
        raise refuse("table '%s' is not in allowed_tables of %s/%s (tables.yml); allowed: %s"
                     % (table, params['system'], params['dialect'], ', '.join(allowed) or '(none)'))
    return table


class TableInfo(object):
    """A table's real columns and unique key, read with SQLAlchemy's inspector."""

    def __init__(self, db, table, key_column):
        self.db = db
        self.name = table
        # 'schema.table' (PostgreSQL schemas); a plain name means the default schema.
        self.schema, _, self.bare = table.rpartition('.')
        self.schema = self.schema or None
        bare, schema = self.bare, self.schema
        insp = db.inspector()
        try:
            if not insp.has_table(bare, schema=schema):
                raise RemediesError("table '%s' does not exist in database %s" % (table, db.database))
            columns = insp.get_columns(bare, schema=schema)
            primary = insp.get_pk_constraint(bare, schema=schema).get('constrained_columns') or []
            uniques = [u.get('column_names') for u in insp.get_unique_constraints(bare, schema=schema)]
            uniques += [i.get('column_names') for i in insp.get_indexes(bare, schema=schema)
                        if i.get('unique')]
        except sa_exc.DBAPIError as exc:
            raise db.error(exc, "inspect table '%s'" % table)
        finally:
            try:
                db.conn.rollback()  # end the inspector's implicit transaction
            except sa_exc.DBAPIError:
                pass
        self.columns = [c['name'] for c in columns]
        self.computed = set(c['name'] for c in columns if c.get('computed'))
        # GENERATED ALWAYS AS IDENTITY: an INSERT of its archived value needs OVERRIDING
        # SYSTEM VALUE, and an UPDATE may not set it.
        self.identity_always = set(c['name'] for c in columns
                                   if (c.get('identity') or {}).get('always'))
        self.key_column = self.real_name(key_column)
        if self.key_column is None:
            if isinstance(key_column, str) and IDENTIFIER_RE.match(key_column):
                raise refuse("key_column '%s' is not a column of table '%s'" % (key_column, table))
            raise refuse('key_column must be a plain column name of table %s' % table)
        if [self.key_column] != list(primary) and [self.key_column] not in uniques:
            raise refuse("key_column '%s' is not the primary key or a single-column unique key "
                         "of table '%s'" % (self.key_column, table))
        self.q_table = quote_identifier(db.conn.dialect, bare, [bare])
        if schema:
            self.q_table = '%s.%s' % (quote_identifier(db.conn.dialect, schema, [schema]), self.q_table)
        self.q_key = self.quote(self.key_column)

    def real_name(self, name):
        if not isinstance(name, str):
            return None
        if name in self.columns:
            return name
        if self.db.dialect == 'mysql':  # MySQL column names are case-insensitive
            for column in self.columns:
                if column.lower() == name.lower():
                    return column
        return None

    def quote(self, column):
        return quote_identifier(self.db.conn.dialect, column, self.columns)

    def rows(self, result, source):
        """Result rows as dicts keyed by the table's real column names."""
        names = list(result.keys())
        real = [self.real_name(n) for n in names]
        missing = [c for c in self.columns if c not in real]
        extra = [n for n, r in zip(names, real) if r is None]
        if missing or extra or len(set(real)) != len(real):
            raise refuse("%s must return full rows of table '%s' (every column once)%s%s"
                         % (source, self.name,
                            '; missing: %s' % ', '.join(missing) if missing else '',
                            '; not columns of the table: %s' % ', '.join(extra) if extra else ''))
        return [dict(zip(real, row)) for row in result]

    def by_key(self, keys, what, lock=False):
        """{key: row} for the rows whose key is in ``keys`` (optionally FOR UPDATE)."""
        if not keys:
            return {}
        sql = 'SELECT * FROM %s WHERE %s IN :keys' % (self.q_table, self.q_key)
        if lock:
            sql += ' FOR UPDATE'
        clause = text(sql).bindparams(bindparam('keys', expanding=True))
        rows = self.rows(self.db.run(clause, {'keys': list(keys)}, what), what)
        return dict((row[self.key_column], row) for row in rows)

    def same(self, current, image):
        """Does the current row equal an archived image (over the image's columns)?"""
        if current is None or image is None:
            return current is None and image is None
        return all(_comparable(current.get(c)) == _comparable(v) for c, v in image.items())


def _diff(before, after, before_header, after_header):
    return {
        'before': json.dumps(json_safe(before), indent=2, sort_keys=True) + '\n',
        'after': json.dumps(json_safe(after), indent=2, sort_keys=True) + '\n',
        'before_header': before_header,
        'after_header': after_header,
    }


# ---------------------------------------------------------------------------
# Guarded change
# ---------------------------------------------------------------------------

class GuardedChange(object):
    """Plan, then (unless in check mode) apply one keyed UPDATE or DELETE."""

    def __init__(self, params):
        self.p = params
        self.params = validate_params(params.get('params') or {})
        self.target = load_query(params['sql_root'], params['dialect'], params['system'],
                                 params['target'])
        self.change = load_query(params['sql_root'], params['dialect'], params['system'],
                                 params['change'])
        self.table_name = check_table_allowed(params, params['table'])
        if params['max_rows'] is None or params['max_rows'] < 1:
            raise RemediesError('max_rows must be a positive integer')
        if params.get('expected_rows') is not None and params['expected_rows'] < 0:
            raise RemediesError('expected_rows must be 0 or more')
        if params.get('sample_size') is None or params['sample_size'] < 0:
            raise RemediesError('sample_size must be 0 or more')
        self.kind = self._check_statements()
        check_params_used(self.params, [self.target, self.change], provided=('keys',))
        self.table = None
        self.db = None

    def _check_statements(self):
        target, change = self.target, self.change
        if target.keyword not in ('SELECT', 'WITH'):
            raise RemediesError("target '%s' must be a SELECT returning the rows to change" % target.name)
        if not target.has_where():
            raise refuse("target '%s' has no bounding predicate (WHERE); refusing a change "
                         "over a whole table" % target.name)
        if 'keys' in target.binds:
            raise RemediesError("target '%s' must not use :keys; the module binds it for the change"
                                % target.name)
        kind = {'UPDATE': 'update', 'DELETE': 'delete'}.get(change.keyword)
        if kind is None:
            raise RemediesError("change '%s' must be an UPDATE or a DELETE" % change.name)
        if self.p.get('kind') and self.p['kind'] != kind:
            raise RemediesError("kind is %s but change '%s' is a %s" % (self.p['kind'], change.name, kind))
        if not change.has_where():
            raise refuse("change '%s' has no bounding predicate (WHERE)" % change.name)
        if 'keys' not in change.binds:
            raise refuse("change '%s' must bound its rows with '<key_column> IN :keys'" % change.name)
        match = re.match(r'\s*(?:UPDATE|DELETE\s+FROM)\s+(?:[`"]?([A-Za-z_][A-Za-z0-9_$]*)[`"]?\s*\.\s*)?'
                         r'[`"]?([A-Za-z_][A-Za-z0-9_$]*)[`"]?(\s|$)', change.structure, re.IGNORECASE)
        written = '.'.join(g for g in match.groups()[:2] if g) if match else None
        if written != self.table_name:
            raise refuse("change '%s' must write table '%s' (UPDATE %s ... / DELETE FROM %s ...)"
                         % (change.name, self.table_name, self.table_name, self.table_name))
        return kind

    def bind(self, db):
        """Attach a connection and check the table and key column against the database."""
        self.db = db
        self.table = TableInfo(db, self.table_name, self.p['key_column'])
        db.raw_json()  # archive json/jsonb as stored text, so undo restores it byte for byte
        key = re.escape(self.table.key_column)
        pattern = r'[`"]?\b%s\b[`"]?\s+IN\s*\(?\s*:keys\b' % key
        flags = re.IGNORECASE if db.dialect == 'mysql' else 0
        if not re.search(pattern, self.change.structure, flags):
            raise refuse("change '%s' must bound its rows with '%s IN :keys'"
                         % (self.change.name, self.table.key_column))

    def _hash(self, keys):
        return plan_hash(self.p['system'], self.target.name, self.change.name, keys, self.params)

    def _keys(self, rows, source):
        keys = [row[self.table.key_column] for row in rows]
        if len(set(canonical_json(k) for k in keys)) != len(keys):
            raise refuse("%s returned the same %s twice; it must return each row once"
                         % (source, self.table.key_column))
        return keys

    # -- plan ---------------------------------------------------------------
    def plan(self):
        db, target, max_rows = self.db, self.target, self.p['max_rows']
        values = bind_values(target, self.params)
        tx = db.begin_read_only(snapshot=True)
        try:
            count = db.run(target.statement(values, wrap_count=True), values,
                           "target '%s' (count)" % target.name).scalar()
            if count > max_rows:
                raise refuse('guard: %d rows exceed max_rows %d' % (count, max_rows),
                             plan={'count': count, 'max_rows': max_rows})
            rows = self.table.rows(db.run(target.statement(values), values,
                                          "target '%s'" % target.name),
                                   "target '%s'" % target.name)
        finally:
            rollback_quietly(tx)
        rows.sort(key=lambda r: _sort_key(r[self.table.key_column]))
        keys = self._keys(rows, "target '%s'" % target.name)
        plan = {
            'count': len(rows),
            'sample': json_safe(rows[:self.p['sample_size']]),
            'keys': json_safe(keys[:KEYS_SHOWN]),
            'plan_hash': self._hash(keys),
            'max_rows': max_rows,
        }
        self.planned_rows = rows
        if plan['count']:
            self._check_expected(plan['count'], plan['plan_hash'], plan)
        return plan

    def _check_expected(self, count, digest, plan):
        expected_rows = self.p.get('expected_rows')
        expected_hash = self.p.get('expected_plan_hash')
        if expected_rows is not None and count != expected_rows:
            raise refuse('guard: %d rows match now but expected_rows is %d' % (count, expected_rows),
                         plan=plan)
        if expected_hash and digest != expected_hash:
            raise refuse('guard: the matching rows differ from the approved plan '
                         '(plan_hash != expected_plan_hash)', plan=plan)

    # -- apply --------------------------------------------------------------
    def apply(self, plan):
        db, target, change, table = self.db, self.target, self.change, self.table
        ensure_archive_dir(self.p['archive_dir'])
        values = bind_values(target, self.params)
        tx = db.begin()
        try:
            rows = table.rows(db.run(target.statement(values, suffix='FOR UPDATE'), values,
                                     "target '%s' (lock)" % target.name),
                              "target '%s'" % target.name)
            rows.sort(key=lambda r: _sort_key(r[table.key_column]))
            keys = self._keys(rows, "target '%s'" % target.name)
            recount, digest = len(rows), self._hash(keys)
            if recount > self.p['max_rows']:
                raise refuse('guard: %d rows exceed max_rows %d; rolled back'
                             % (recount, self.p['max_rows']), plan=plan)
            self._check_expected(recount, digest, plan)
            if recount != plan['count'] or digest != plan['plan_hash']:
                raise refuse('guard: the rows changed between plan (%d) and lock (%d); rolled back, '
                             'nothing changed' % (plan['count'], recount), plan=plan)
            change_values = bind_values(change, self.params, provided={'keys': keys})
            result = db.run(change.statement(change_values), change_values, "change '%s'" % change.name)
            if result.rowcount != recount:
                raise refuse("guard: change '%s' touched %d rows but %d were locked; rolled back, "
                             "nothing changed" % (change.name, result.rowcount, recount), plan=plan)
            after = table.by_key(keys, "change '%s' (after images)" % change.name) \
                if self.kind == 'update' else {}
            after_rows = [after[k] for k in keys if k in after]
            record = base_record(self.p, self.kind, table)
            record.update({
                'target': target.name,
                'change': change.name,
                'params': redact(json_safe(self.params)),
                'plan_hash': digest,
                'row_count': recount,
                'keys': [to_archive(k) for k in keys],
                'before': row_images(rows, table.columns),
                'after': row_images(after_rows, table.columns),
            })
            path = archive_then_commit(db, tx, self.p['archive_dir'], record)
        finally:
            rollback_quietly(tx)
        out = {
            'changed': True,
            'outcome': 'changed',
            'msg': "%s %d rows of %s (change %s)" % ('updated' if self.kind == 'update' else 'deleted',
                                                     recount, table.name, record['change_id']),
            'change_id': record['change_id'],
            'archive_path': path,
            'rows_changed': recount,
            'kind': self.kind,
            'plan': plan,
        }
        sample = keys[:self.p['sample_size']]
        before_by_key = dict((r[table.key_column], r) for r in rows)
        out['_diff'] = _diff([before_by_key[k] for k in sample], [after[k] for k in sample if k in after],
                             'before (%d sample rows)' % len(sample),
                             'after change %s' % record['change_id'])
        return out

    def check_mode_diff(self, plan):
        sample = self.planned_rows[:self.p['sample_size']]
        if self.kind == 'delete':
            return _diff(sample, [], 'before (%d sample rows)' % len(sample), 'after (deleted)')
        return _diff(sample, 'not evaluated in check mode', 'before (%d sample rows)' % len(sample),
                     "after change '%s'" % self.change.name)


# ---------------------------------------------------------------------------
# Undo
# ---------------------------------------------------------------------------

class Undo(object):
    """Restore the before-images of an archived change, refusing on conflicts."""

    def __init__(self, params):
        self.p = params
        self.record, self.path = read_archive(params['archive_dir'], params['change_id'])
        rec = self.record
        for field in ('dialect', 'system', 'database'):
            if rec[field] != params[field]:
                raise refuse("change %s was made on %s %s but this run targets %s %s"
                             % (rec['change_id'], field, rec[field], field, params[field]))
        check_table_allowed(params, rec['table'])
        self.keys = [from_archive(k) for k in rec['keys']]
        if params.get('max_rows') is None:
            self.max_rows = len(self.keys)
        elif params['max_rows'] < 1:
            raise RemediesError('max_rows must be a positive integer')
        else:
            self.max_rows = params['max_rows']
        self.table = None
        self.db = None

    def bind(self, db):
        self.db = db
        rec = self.record
        self.table = TableInfo(db, rec['table'], rec['key_column'])
        db.raw_json()
        if self.table.key_column != rec['key_column']:
            raise refuse("archived key column '%s' no longer matches table '%s'"
                         % (rec['key_column'], rec['table']))
        gone = [c for c in rec['columns'] if c not in self.table.columns]
        if gone:
            raise refuse("table '%s' no longer has archived columns: %s" % (rec['table'], ', '.join(gone)))
        key = self.table.key_column
        self.before, self.after = {}, {}
        for images, into in ((rec['before'], self.before), (rec['after'], self.after)):
            for image in images:
                if set(image) - set(rec['columns']):
                    raise RemediesError('archive of change %s is inconsistent' % rec['change_id'])
                into[from_archive(image[key])] = dict((c, from_archive(v)) for c, v in image.items())

    def classify(self, current):
        """Sort keys into restore / already restored / conflicts, given current rows."""
        restore, already, conflicts = [], [], []
        for key in self.keys:
            row = current.get(key)
            goal, expected = self.before.get(key), self.after.get(key)
            if self.table.same(row, goal):
                already.append(key)
            elif self.table.same(row, expected):
                restore.append(key)
            else:
                if row is None:
                    reason = 'row was deleted since the change'
                elif expected is None:
                    reason = 'row exists again'
                else:
                    reason = 'row was changed since the change'
                conflicts.append({'key': key, 'reason': reason})
        return restore, already, conflicts

    def _plan(self, current):
        restore, already, conflicts = self.classify(current)
        todo = restore + ([c['key'] for c in conflicts] if self.p.get('force') else [])
        todo.sort(key=_sort_key)
        plan = {
            'count': len(todo),
            'keys': json_safe(todo[:KEYS_SHOWN]),
            'already_restored': len(already),
            'conflicts': json_safe(conflicts[:KEYS_SHOWN]),
            'conflict_count': len(conflicts),
            'plan_hash': plan_hash(self.p['system'], 'undo', self.record['change_id'], todo, {}),
            'max_rows': self.max_rows,
        }
        return todo, conflicts, plan

    def plan(self):
        tx = self.db.begin_read_only(snapshot=True)
        try:
            current = self.table.by_key(self.keys, 'read current rows')
        finally:
            rollback_quietly(tx)
        todo, conflicts, plan = self._plan(current)
        self.current = current
        self._guards(todo, conflicts, plan)
        return todo, plan

    def _guards(self, todo, conflicts, plan):
        if conflicts and not self.p.get('force'):
            raise refuse('undo refused: %d of %d rows conflict with later edits (see plan.conflicts); '
                         'force=true overwrites them' % (len(conflicts), len(self.keys)), plan=plan)
        if len(todo) > self.max_rows:
            raise refuse('guard: %d rows exceed max_rows %d' % (len(todo), self.max_rows), plan=plan)

    def apply(self, todo, plan):
        db, table = self.db, self.table
        ensure_archive_dir(self.p['archive_dir'])
        tx = db.begin()
        try:
            current = table.by_key(self.keys, 'lock current rows', lock=True)
            locked_todo, conflicts, locked_plan = self._plan(current)
            self._guards(locked_todo, conflicts, locked_plan)
            if locked_plan['plan_hash'] != plan['plan_hash']:
                raise refuse('guard: the rows changed between plan and lock; rolled back, nothing changed',
                             plan=locked_plan)
            for key in todo:
                self._restore(key, current.get(key), self.before.get(key))
            after = table.by_key(todo, 'read restored rows')
            record = base_record(self.p, 'undo', table)
            record.update({
                'undo_of': self.record['change_id'],
                'params': {'force': bool(self.p.get('force'))},
                'plan_hash': plan['plan_hash'],
                'row_count': len(todo),
                'keys': [to_archive(k) for k in todo],
                'before': row_images([current[k] for k in todo if k in current], table.columns),
                'after': row_images([after[k] for k in todo if k in after], table.columns),
            })
            path = archive_then_commit(db, tx, self.p['archive_dir'], record)
        finally:
            rollback_quietly(tx)
        sample = todo[:5]
        return {
            'changed': True,
            'outcome': 'changed',
            'msg': 'restored %d rows of %s from change %s (undo archived as %s)'
                   % (len(todo), table.name, self.record['change_id'], record['change_id']),
            'change_id': record['change_id'],
            'undo_of': self.record['change_id'],
            'archive_path': path,
            'rows_changed': len(todo),
            'plan': plan,
            '_diff': _diff([current.get(k) for k in sample], [after.get(k) for k in sample],
                           'current (%d sample rows)' % len(sample),
                           'restored from change %s' % self.record['change_id']),
        }

    def check_mode_diff(self, todo):
        sample = todo[:5]
        return _diff([self.current.get(k) for k in sample], [self.before.get(k) for k in sample],
                     'current (%d sample rows)' % len(sample),
                     'restored from change %s' % self.record['change_id'])

    def _restore(self, key, current, goal):
        db, table = self.db, self.table
        what = 'restore a row of %s' % table.name
        if goal is None:
            sql = 'DELETE FROM %s WHERE %s = :key' % (table.q_table, table.q_key)
            values = {'key': key}
        else:
            columns = [c for c in self.record['columns'] if c in goal and c not in table.computed]
            if current is None:
                overriding = ' OVERRIDING SYSTEM VALUE' \
                    if db.dialect == 'postgresql' and table.identity_always & set(columns) else ''
                sql = 'INSERT INTO %s (%s)%s VALUES (%s)' % (
                    table.q_table, ', '.join(table.quote(c) for c in columns), overriding,
                    ', '.join(':v%d' % i for i in range(len(columns))))
            else:
                columns = [c for c in columns if c != table.key_column and c not in table.identity_always]
                sql = 'UPDATE %s SET %s WHERE %s = :key' % (
                    table.q_table, ', '.join('%s = :v%d' % (table.quote(c), i)
                                             for i, c in enumerate(columns)), table.q_key)
            values = dict(('v%d' % i, _bindable(goal[c])) for i, c in enumerate(columns))
            if current is not None:
                values['key'] = key
        result = db.run(text(sql), values, what)
        if result.rowcount != 1:
            raise refuse('guard: %s touched %d rows instead of 1; rolled back, nothing changed'
                         % (what, result.rowcount))


# ---------------------------------------------------------------------------
# Batched change: the same guarded change, in bounded, resumable batches
# ---------------------------------------------------------------------------

BATCH_BINDS = ('batch_size', 'after_key')


class BatchedChange(GuardedChange):
    """A guarded change applied in keyset batches, each its own transaction and archive.

    The target binds ``:after_key`` (NULL for the first batch, then the last key of the
    previous batch) and ``:batch_size``, and orders by the key column, e.g.::

        SELECT * FROM t WHERE <predicate>
          AND (:after_key IS NULL OR id > :after_key)
        ORDER BY id LIMIT :batch_size

    Each batch locks its rows (optionally SKIP LOCKED), runs the change for exactly those
    keys, writes ``<run_id>-b<n>.json`` and commits. A batch killed at any point either
    committed after its archive was complete, or rolled back; a re-run picks up the rows
    that are left. ``max_rows`` bounds the whole run.
    """

    def __init__(self, params):
        for name in BATCH_BINDS:
            if name in (params.get('params') or {}):
                raise RemediesError("param '%s' is reserved: the module binds it itself in batched mode" % name)
        super(BatchedChange, self).__init__(params)
        self.batch_size = params.get('batch_size')
        if self.batch_size is None or self.batch_size < 1:
            raise RemediesError('batch_size must be a positive integer')
        if self.batch_size > params['max_rows']:
            raise RemediesError('batch_size (%d) must not exceed max_rows (%d)' % (self.batch_size, params['max_rows']))
        for name in ('max_batches', 'max_seconds'):
            if params.get(name) is not None and params[name] < 1:
                raise RemediesError('%s must be a positive integer' % name)
        missing = [b for b in BATCH_BINDS if b not in self.target.binds]
        if missing:
            raise RemediesError("target '%s' must bind %s in batched mode (keyset: key > :after_key "
                                "ORDER BY key LIMIT :batch_size)" % (self.target.name, ', '.join(':' + m for m in missing)))

    def bind(self, db):
        super(BatchedChange, self).bind(db)
        key = re.escape(self.table.key_column)
        flags = re.IGNORECASE if db.dialect == 'mysql' else 0
        if not re.search(r'ORDER\s+BY\s+(?:\w+\.)?[`"]?\b%s\b[`"]?(\s+ASC)?\s+LIMIT\s+:batch_size\b' % key,
                         self.target.structure, flags | re.IGNORECASE):
            raise refuse("target '%s' must end with 'ORDER BY %s LIMIT :batch_size' in batched mode"
                         % (self.target.name, self.table.key_column))

    def _values(self, after_key, limit):
        return bind_values(self.target, self.params, provided={'after_key': after_key, 'batch_size': limit})

    def _run_hash(self, total, keys):
        return plan_hash(self.p['system'], self.target.name, self.change.name, keys,
                         dict(self.params, remedies_total=total, remedies_batch_size=self.batch_size))

    def plan(self):
        db, target, max_rows = self.db, self.target, self.p['max_rows']
        tx = db.begin_read_only(snapshot=True)
        try:
            everything = self._values(None, max_rows + 1)
            count = db.run(target.statement(everything, wrap_count=True), everything,
                           "target '%s' (count)" % target.name).scalar()
            if count > max_rows:
                raise refuse('guard: %d rows exceed max_rows %d' % (count, max_rows),
                             plan={'count': count, 'max_rows': max_rows})
            first = self._values(None, self.batch_size)
            rows = self.table.rows(db.run(target.statement(first), first, "target '%s'" % target.name),
                                   "target '%s'" % target.name)
        finally:
            rollback_quietly(tx)
        rows.sort(key=lambda r: _sort_key(r[self.table.key_column]))
        keys = self._keys(rows, "target '%s'" % target.name)
        plan = {
            'count': count,
            'sample': json_safe(rows[:self.p['sample_size']]),
            'keys': json_safe(keys[:KEYS_SHOWN]),
            'plan_hash': self._run_hash(count, keys),
            'max_rows': max_rows,
            'batch_size': self.batch_size,
            'batches': -(-count // self.batch_size),
        }
        self.planned_rows = rows
        if plan['count']:
            self._check_expected(plan['count'], plan['plan_hash'], plan)
        return plan

    def apply(self, plan):
        import time
        db, target, change, table = self.db, self.target, self.change, self.table
        ensure_archive_dir(self.p['archive_dir'])
        run_id = new_change_id()
        suffix = 'FOR UPDATE SKIP LOCKED' if self.p.get('skip_locked') else 'FOR UPDATE'
        started = time.monotonic()
        after, total, change_ids, stopped, statement_ms = None, 0, [], None, []
        sample_before, sample_after = [], []
        while True:
            if self.p.get('max_batches') and len(change_ids) >= self.p['max_batches']:
                stopped = 'max_batches'
                break
            if self.p.get('max_seconds') and time.monotonic() - started >= self.p['max_seconds']:
                stopped = 'max_seconds'
                break
            values = self._values(after, self.batch_size)
            tx = db.begin()
            try:
                t0 = time.monotonic()
                rows = table.rows(db.run(target.statement(values, suffix=suffix), values,
                                         "target '%s' (lock batch)" % target.name), "target '%s'" % target.name)
                statement_ms.append((time.monotonic() - t0) * 1000.0)
                if not rows:
                    break
                rows.sort(key=lambda r: _sort_key(r[table.key_column]))
                keys = self._keys(rows, "target '%s'" % target.name)
                done = {'rows_changed': total, 'change_ids': change_ids, 'run_id': run_id,
                        'changed': bool(total), 'plan': plan}
                if len(keys) > self.batch_size:
                    raise refuse("guard: target '%s' returned %d rows for a batch of %d; rolled back this batch"
                                 % (target.name, len(keys), self.batch_size), **done)
                if total + len(keys) > self.p['max_rows']:
                    raise refuse('guard: the next batch would take the run past max_rows %d; stopped after '
                                 '%d rows in %d batches (archived, run %s)'
                                 % (self.p['max_rows'], total, len(change_ids), run_id), **done)
                change_values = bind_values(change, self.params, provided={'keys': keys})
                t0 = time.monotonic()
                result = db.run(change.statement(change_values), change_values, "change '%s'" % change.name)
                statement_ms.append((time.monotonic() - t0) * 1000.0)
                if result.rowcount != len(keys):
                    raise refuse("guard: change '%s' touched %d rows but %d were locked; rolled back this batch"
                                 % (change.name, result.rowcount, len(keys)), **done)
                after_rows = table.by_key(keys, "change '%s' (after images)" % change.name) \
                    if self.kind == 'update' else {}
                change_id = '%s-b%05d' % (run_id, len(change_ids) + 1)
                record = base_record(self.p, self.kind, table, change_id=change_id)
                record.update({
                    'target': target.name,
                    'change': change.name,
                    'params': redact(json_safe(dict(self.params, after_key=after, batch_size=self.batch_size))),
                    'plan_hash': self._hash(keys),
                    'row_count': len(keys),
                    'keys': [to_archive(k) for k in keys],
                    'before': row_images(rows, table.columns),
                    'after': row_images([after_rows[k] for k in keys if k in after_rows], table.columns),
                    'run_id': run_id,
                })
                t0 = time.monotonic()
                archive_then_commit(db, tx, self.p['archive_dir'], record)
                statement_ms.append((time.monotonic() - t0) * 1000.0)
            finally:
                rollback_quietly(tx)
            if not sample_before:
                sample_before = rows[:self.p['sample_size']]
                sample_after = [after_rows[k] for k in keys[:self.p['sample_size']] if k in after_rows]
            total += len(keys)
            change_ids.append(change_id)
            after = keys[-1]
            if len(keys) < self.batch_size:
                break
        elapsed = time.monotonic() - started
        verb = 'updated' if self.kind == 'update' else 'deleted'
        msg = '%s %d rows of %s in %d batches of at most %d (run %s, %.1f s)' % (
            verb, total, table.name, len(change_ids), self.batch_size, run_id, elapsed)
        if stopped:
            msg += '; stopped at %s: run it again to finish' % stopped
        ordered = sorted(statement_ms)
        out = {
            'changed': total > 0,
            'outcome': 'changed' if total else 'nothing_to_do',
            'msg': msg,
            'run_id': run_id,
            'change_ids': change_ids,
            'rows_changed': total,
            'kind': self.kind,
            'plan': plan,
            'finished': stopped is None,
            'batches': len(change_ids),
            'seconds': round(elapsed, 3),
            'rows_per_second': round(total / elapsed, 1) if elapsed > 0 else None,
            'statement_ms': {
                'count': len(ordered),
                'max': round(ordered[-1], 2) if ordered else 0,
                'p99': round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2) if ordered else 0,
            },
        }
        out['_diff'] = _diff(sample_before, sample_after, 'before (%d sample rows)' % len(sample_before),
                             'after run %s' % run_id)
        return out
