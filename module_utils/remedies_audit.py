# -*- coding: utf-8 -*-
# remedies: the audit trail. One JSON object per line, appended with O_APPEND
# and fsync'd, secrets redacted recursively before anything is written.

from __future__ import absolute_import, division, print_function

import datetime
import getpass
import json
import os
import re

REDACTED = '********'
SECRET_KEY_RE = re.compile(r'password|passwd|secret|token', re.IGNORECASE)

AUDIT_FIELDS = ('ts', 'who', 'catalog_id', 'action', 'params', 'plan_hash', 'rows_planned',
                'rows_changed', 'hosts', 'outcome', 'change_id', 'message', 'check_mode')


def redact(value):
    """Copy ``value`` with every dict entry whose key names a secret replaced."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if SECRET_KEY_RE.search(str(key)):
                out[key] = REDACTED
            else:
                out[key] = redact(item)
        return out
    if isinstance(value, (list, tuple)):
        return [redact(item) for item in value]
    return value


def who(environ=None):
    """Who is acting: the AWX job, the CI run, or the (sudo) user."""
    env = os.environ if environ is None else environ
    job = env.get('AWX_JOB_ID') or env.get('TOWER_JOB_ID')
    if job:
        return 'awx:job/%s' % job
    if str(env.get('CI', '')).lower() == 'true':
        return 'ci:%s' % (env.get('GITHUB_RUN_ID') or env.get('CI_JOB_ID') or 'unknown')
    if env.get('SUDO_USER'):
        return env['SUDO_USER']
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return 'uid:%s' % os.getuid()


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


def _default(value):
    # Audit values come from module results; anything unusual is stored as text.
    return str(value)


def append_audit(path, **fields):
    """Append one audit record to ``path`` and return it.

    Known fields: ts (default now, UTC ISO 8601), who (default who()),
    catalog_id, action, params (redacted), plan_hash, rows_planned,
    rows_changed, hosts, outcome, change_id, message, check_mode.
    Raises ValueError for an unknown field and OSError when the write fails.
    """
    unknown = sorted(set(fields) - set(AUDIT_FIELDS))
    if unknown:
        raise ValueError('unknown audit fields: %s' % ', '.join(unknown))
    record = {}
    for name in AUDIT_FIELDS:
        record[name] = fields.get(name)
    if not record['ts']:
        record['ts'] = utc_now().isoformat().replace('+00:00', 'Z')
    if not record['who']:
        record['who'] = who()
    record['params'] = redact(record['params'] or {})
    if record['check_mode'] is None:
        del record['check_mode']
    line = (json.dumps(record, sort_keys=False, default=_default, ensure_ascii=True) + '\n').encode('utf-8')

    existed = os.path.exists(path)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        view = memoryview(line)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)
    if not existed:
        _fsync_dir(os.path.dirname(os.path.abspath(path)))
    return record


def _fsync_dir(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Auditor(object):
    """Writes the one audit line a SQL module owes per invocation, if audit_log is set."""

    def __init__(self, params, action, check_mode):
        self.path = params.get('audit_log')
        self.catalog_id = params.get('catalog_id')
        self.action = action
        self.check_mode = check_mode
        self.hosts = ['%s:%s/%s' % (params.get('login_host'),
                                    params.get('login_port') or
                                    {'mysql': 3306, 'postgresql': 5432}.get(params.get('dialect')),
                                    params.get('database'))]

    def write(self, outcome, message, params=None, plan_hash=None, rows_planned=None,
              rows_changed=None, change_id=None):
        """Append the line; return None, or an error text if the write failed."""
        if not self.path:
            return None
        try:
            append_audit(self.path, catalog_id=self.catalog_id, action=self.action,
                         params=params or {}, plan_hash=plan_hash, rows_planned=rows_planned,
                         rows_changed=rows_changed, hosts=self.hosts, outcome=outcome,
                         change_id=change_id, message=message, check_mode=self.check_mode)
        except OSError as exc:
            return 'audit write to %s failed: %s' % (self.path, exc.strerror or exc)
        return None

    def finish(self, module, result, params=None):
        """exit_json/fail_json with ``result`` after writing its audit line."""
        plan = result.get('plan') or {}
        problem = self.write(result.get('outcome'), result.get('msg', ''), params=params,
                             plan_hash=plan.get('plan_hash'), rows_planned=plan.get('count'),
                             rows_changed=result.get('rows_changed'),
                             change_id=result.get('change_id'))
        failed = result.pop('failed', False)
        # Ansible echoes module_args as `invocation`; keep secrets out of it too.
        if isinstance(module.params.get('params'), dict):
            module.params['params'] = redact(module.params['params'])
        if problem:
            result['msg'] = '%s; %s' % (result['msg'], problem) if result.get('msg') else problem
            if result.get('outcome') != 'refused':
                result['outcome'] = 'failed'
            module.fail_json(**result)
        if failed:
            module.fail_json(**result)
        module.exit_json(**result)
