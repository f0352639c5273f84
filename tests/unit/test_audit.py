# -*- coding: utf-8 -*-
"""remedies_audit module and module_utils/remedies_audit.py."""

import json
import stat
import os

from ansible.module_utils.remedies_audit import redact, who

MODULE = 'remedies_audit'


def audit_args(path, **over):
    args = dict(audit_log=str(path), catalog_id='P3', action='restart:tomcat', hosts=['app1', 'app2'],
                outcome='changed', message='restarted',
                params={'service': 'tomcat', 'db': {'password': 'hunter2'},
                        'items': [{'api_token': 'abc123', 'n': 1}], 'client_secret': 's'})
    args.update(over)
    return args


def test_appends_redacted_line(tmp_path, run_module):
    path = tmp_path / 'audit.jsonl'
    first = run_module(MODULE, audit_args(path), tmpdir=str(tmp_path))
    second = run_module(MODULE, audit_args(path, outcome='nothing_to_do'), tmpdir=str(tmp_path))
    assert first.rc == 0 and second.rc == 0
    assert first['changed'] is False and first['outcome'] == 'changed'
    text = path.read_text()
    for secret in ('hunter2', 'abc123'):
        assert secret not in text and secret not in first.stdout
    lines = [json.loads(line) for line in text.splitlines()]
    assert len(lines) == 2
    record = lines[0]
    assert list(record)[:12] == ['ts', 'who', 'catalog_id', 'action', 'params', 'plan_hash', 'rows_planned',
                                 'rows_changed', 'hosts', 'outcome', 'change_id', 'message']
    assert record['ts'].endswith('Z')
    assert record['params'] == {'service': 'tomcat', 'db': {'password': '********'},
                                'items': [{'api_token': '********', 'n': 1}], 'client_secret': '********'}
    assert record['hosts'] == ['app1', 'app2'] and record['check_mode'] is False
    assert lines[1]['outcome'] == 'nothing_to_do'
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o640


def test_check_mode_records_planned_not_changed(tmp_path, run_module):
    path = tmp_path / 'audit.jsonl'
    result = run_module(MODULE, audit_args(path), check_mode=True, tmpdir=str(tmp_path))
    assert result.rc == 0 and result['outcome'] == 'planned' and result['changed'] is False
    record = json.loads(path.read_text())
    assert record['outcome'] == 'planned' and record['check_mode'] is True


def test_who(tmp_path, run_module):
    path = tmp_path / 'audit.jsonl'
    run_module(MODULE, audit_args(path), env={'AWX_JOB_ID': '42', 'CI': 'true'}, tmpdir=str(tmp_path))
    run_module(MODULE, audit_args(path), env={'CI': 'true', 'GITHUB_RUN_ID': '7'}, tmpdir=str(tmp_path))
    run_module(MODULE, audit_args(path), env={'SUDO_USER': 'alice'}, tmpdir=str(tmp_path))
    assert [json.loads(l)['who'] for l in path.read_text().splitlines()] == ['awx:job/42', 'ci:7', 'alice']
    assert who({'CI': 'true'}) == 'ci:unknown'
    assert who({'TOWER_JOB_ID': '9'}) == 'awx:job/9'


def test_missing_directory_is_a_clear_failure(tmp_path, run_module):
    result = run_module(MODULE, audit_args(tmp_path / 'nope' / 'audit.jsonl'), tmpdir=str(tmp_path))
    assert result.rc == 1 and result['msg'] == 'audit_log directory %s does not exist' % (tmp_path / 'nope')


def test_redact_is_recursive_and_leaves_input_alone():
    data = {'Password': 'x', 'a': [{'b': {'SECRET_key': 'y'}}, 'plain'], 'tokens': ['t1']}
    assert redact(data) == {'Password': '********', 'a': [{'b': {'SECRET_key': '********'}}, 'plain'],
                            'tokens': '********'}
    assert data['Password'] == 'x'
