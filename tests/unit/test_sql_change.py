# -*- coding: utf-8 -*-
"""remedies_sql_change: plan, guards, apply and archive, against the real databases."""

import json
import os
import stat

from sqlalchemy import text

from ansible.module_utils.remedies_safety import from_archive

MODULE = 'remedies_sql_change'
INJECTION = "x'; DROP TABLE widget; --"


def change_args(archive_dir, **over):
    args = dict(target='stuck_widgets', change='mark_widgets', table='widget', key_column='widgetId',
                params={'status': 'stuck', 'new_status': 'done'}, max_rows=10,
                archive_dir=archive_dir)
    args.update(over)
    return args


def assert_intact(lab, before, archive_dir=None):
    assert lab.rows() == before
    assert lab.tables() == ['secret_table', 'widget']
    if archive_dir:
        assert [f for f in os.listdir(archive_dir)] == []


def decode(images):
    return [dict((k, from_archive(v)) for k, v in image.items()) for image in images]


def test_plan_in_check_mode_changes_nothing(lab, archive_dir):
    before = lab.rows()
    result = lab.run(MODULE, check_mode=True, diff=True, sample_size=2, **change_args(archive_dir))
    assert result.rc == 0, result
    assert result['outcome'] == 'planned' and result['changed'] is True
    plan = result['plan']
    assert plan['count'] == 4 and plan['keys'] == [1, 2, 3, 4] and plan['max_rows'] == 10
    assert [row['widgetId'] for row in plan['sample']] == [1, 2]
    assert len(plan['plan_hash']) == 64
    assert json.loads(result['diff']['before'])[0]['status'] == 'stuck'
    assert_intact(lab, before, archive_dir)


def test_nothing_to_do(lab, archive_dir):
    before = lab.rows()
    result = lab.run(MODULE, **change_args(archive_dir, params={'status': 'gone', 'new_status': 'x'}))
    assert result.rc == 0, result
    assert result['outcome'] == 'nothing_to_do' and result['changed'] is False
    assert result['plan']['count'] == 0
    assert_intact(lab, before, archive_dir)


def test_apply_changes_exactly_the_plan_and_archives_before_images(lab, archive_dir, tmp_path):
    before = lab.rows()
    audit = tmp_path / 'audit.jsonl'
    plan = lab.run(MODULE, check_mode=True, **change_args(archive_dir))['plan']
    result = lab.run(MODULE, diff=True, catalog_id='T6', audit_log=str(audit),
                     expected_rows=plan['count'], expected_plan_hash=plan['plan_hash'],
                     **change_args(archive_dir))
    assert result.rc == 0, result
    assert result['outcome'] == 'changed' and result['changed'] is True
    assert result['rows_changed'] == 4 and result['kind'] == 'update'
    assert result['plan']['plan_hash'] == plan['plan_hash']

    after = lab.rows()
    for key in range(1, 11):
        if key <= 4:
            assert after[key]['status'] == 'done'
            assert after[key]['updated_at'] != before[key]['updated_at']
            assert dict(after[key], status='stuck', updated_at=None) == dict(before[key], updated_at=None)
        else:
            assert after[key] == before[key]

    path = result['archive_path']
    assert path == os.path.join(archive_dir, result['change_id'] + '.json')
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o440
    assert sorted(os.listdir(archive_dir)) == [result['change_id'] + '.json']
    record = json.load(open(path))
    assert record['format'] == 1 and record['kind'] == 'update'
    assert record['catalog_id'] == 'T6' and record['system'] == 'labtest'
    assert record['dialect'] == lab.dialect and record['database'] == 'remedies_test'
    assert record['target'] == 'stuck_widgets' and record['change'] == 'mark_widgets'
    assert record['table'] == 'widget' and record['key_column'] == 'widgetId'
    assert record['plan_hash'] == plan['plan_hash']
    assert 'login_password' not in json.dumps(record)
    assert decode(record['before']) == [before[k] for k in range(1, 5)]
    assert decode(record['after']) == [after[k] for k in range(1, 5)]
    assert json.loads(result['diff']['after'])[0]['status'] == 'done'

    line = json.loads(audit.read_text())
    assert line['outcome'] == 'changed' and line['change_id'] == result['change_id']
    assert line['rows_planned'] == 4 and line['rows_changed'] == 4
    assert line['plan_hash'] == plan['plan_hash'] and line['catalog_id'] == 'T6'

    again = lab.run(MODULE, **change_args(archive_dir))
    assert again['outcome'] == 'nothing_to_do' and again['changed'] is False


def test_delete_apply(lab, archive_dir):
    before = lab.rows()
    result = lab.run(MODULE, **change_args(archive_dir, change='delete_widgets', kind='delete',
                                           params={'status': 'stuck'}))
    assert result.rc == 0, result
    assert result['kind'] == 'delete' and result['rows_changed'] == 4
    assert sorted(lab.rows()) == [5, 6, 7, 8, 9, 10]
    record = json.load(open(result['archive_path']))
    assert decode(record['before']) == [before[k] for k in range(1, 5)] and record['after'] == []


def test_guard_max_rows(lab, archive_dir, tmp_path):
    before = lab.rows()
    audit = tmp_path / 'audit.jsonl'
    for check_mode in (True, False):
        result = lab.run(MODULE, check_mode=check_mode, audit_log=str(audit),
                         **change_args(archive_dir, max_rows=3))
        assert result.rc == 1
        assert result['refused'] is True and result['outcome'] == 'refused'
        assert result['msg'] == 'guard: 4 rows exceed max_rows 3'
        assert result['plan'] == {'count': 4, 'max_rows': 3}
    assert [json.loads(l)['outcome'] for l in audit.read_text().splitlines()] == ['refused', 'refused']
    assert_intact(lab, before, archive_dir)


def test_expected_rows_mismatch_after_insert(lab, archive_dir):
    plan = lab.run(MODULE, check_mode=True, **change_args(archive_dir))['plan']
    lab.execute("INSERT INTO widget (%s, name, status) VALUES (11, 'w11', 'stuck')" % lab.q_key)
    before = lab.rows()
    result = lab.run(MODULE, expected_rows=plan['count'], **change_args(archive_dir))
    assert result.rc == 1 and result['refused'] is True
    assert result['msg'] == 'guard: 5 rows match now but expected_rows is 4'
    assert_intact(lab, before, archive_dir)


def test_expected_plan_hash_mismatch_same_count(lab, archive_dir):
    plan = lab.run(MODULE, check_mode=True, **change_args(archive_dir))['plan']
    # Same number of rows, different rows: only the hash notices.
    lab.execute("UPDATE widget SET status = 'ok' WHERE %s = 4" % lab.q_key)
    lab.execute("UPDATE widget SET status = 'stuck' WHERE %s = 9" % lab.q_key)
    before = lab.rows()
    result = lab.run(MODULE, expected_rows=4, expected_plan_hash=plan['plan_hash'],
                     **change_args(archive_dir))
    assert result.rc == 1 and result['refused'] is True
    assert result['msg'] == ('guard: the matching rows differ from the approved plan '
                             '(plan_hash != expected_plan_hash)')
    bogus = lab.run(MODULE, expected_plan_hash=INJECTION, **change_args(archive_dir))
    assert bogus.rc == 1 and bogus['refused'] is True
    assert_intact(lab, before, archive_dir)


def test_archive_write_failure_changes_nothing(lab, unwritable_dir):
    before = lab.rows()
    result = lab.run(MODULE, **change_args(unwritable_dir))
    assert result.rc == 1 and result['outcome'] == 'failed'
    assert result['msg'].startswith('archive write failed (%s: ' % unwritable_dir)
    assert result['msg'].endswith('rolled back, nothing changed')
    assert_intact(lab, before, unwritable_dir)


def test_lock_timeout_changes_nothing(lab, archive_dir):
    before = lab.rows()
    with lab.engine.connect() as holder:
        holder.execute(text('SELECT * FROM widget WHERE %s = 2 FOR UPDATE' % lab.q_key))
        result = lab.run(MODULE, lock_timeout_ms=500, **change_args(archive_dir))
        holder.rollback()
    assert result.rc == 1, result
    assert result['msg'] == ("target 'stuck_widgets' (lock): lock wait timed out after 500 ms: "
                             "another session holds the rows; rolled back")
    assert_intact(lab, before, archive_dir)


def test_statement_shape_is_refused(lab, archive_dir):
    before = lab.rows()
    cases = [
        (dict(target='all_widgets'),
         "target 'all_widgets' has no bounding predicate (WHERE); refusing a change over a whole table"),
        (dict(change='delete_unbounded', params={'status': 'stuck'}),
         "change 'delete_unbounded' must bound its rows with '<key_column> IN :keys'"),
        (dict(target='partial_widgets'),
         "target 'partial_widgets' must return full rows of table 'widget' (every column once); "
         "missing: name, note, amount, updated_at, payload"),
        (dict(change='mark_other_table'),
         "change 'mark_other_table' must write table 'widget' (UPDATE widget ... / DELETE FROM widget ...)"),
        (dict(kind='delete'), "kind is delete but change 'mark_widgets' is a update"),
    ]
    for over, message in cases:
        result = lab.run(MODULE, **change_args(archive_dir, **over))
        assert result.rc == 1, result
        assert result['msg'] == message
    assert_intact(lab, before, archive_dir)


def test_tables_and_keys_are_allow_listed(lab, archive_dir):
    before = lab.rows()
    cases = [
        (dict(table='secret_table'),
         "table 'secret_table' is not in allowed_tables of labtest/%s (tables.yml); allowed: widget, ghost"
         % lab.dialect),
        (dict(table='ghost', change='mark_ghost'), "table 'ghost' does not exist in database remedies_test"),
        (dict(key_column='status'),
         "key_column 'status' is not the primary key or a single-column unique key of table 'widget'"),
        (dict(key_column='nope'), "key_column 'nope' is not a column of table 'widget'"),
    ]
    for over, message in cases:
        result = lab.run(MODULE, **change_args(archive_dir, **over))
        assert result.rc == 1, result
        assert result['msg'] == message
    assert_intact(lab, before, archive_dir)


def test_injection_in_every_string_option(lab, archive_dir):
    before = lab.rows()
    cases = [
        (dict(target=INJECTION), 'query names must match'),
        (dict(change=INJECTION), 'query names must match'),
        (dict(system=INJECTION), 'system must match'),
        (dict(table=INJECTION), 'table must be a plain table name'),
        (dict(table='widget; DROP TABLE widget'), 'table must be a plain table name'),
        (dict(key_column=INJECTION), 'key_column must be a plain column name of table widget'),
        (dict(key_column='widgetId) OR (1=1'), 'key_column must be a plain column name of table widget'),
        (dict(params={'status': 'stuck', 'new_status': 'done', 'keys': [1]}), "param 'keys' is reserved"),
        (dict(database=INJECTION), 'database %s does not exist' % INJECTION),
        (dict(login_host=INJECTION), 'cannot reach database at %s:' % INJECTION),
        (dict(login_user=INJECTION), 'authentication failed for user %s on ' % INJECTION),
    ]
    for over, message in cases:
        result = lab.run(MODULE, **change_args(archive_dir, **over))
        assert result.rc == 1, result
        assert result['msg'].startswith(message), result['msg']
        assert lab.tables() == ['secret_table', 'widget']
    # As a value it is only data: matches nothing, or is stored verbatim.
    nothing = lab.run(MODULE, **change_args(archive_dir, params={'status': INJECTION, 'new_status': 'x'}))
    assert nothing['outcome'] == 'nothing_to_do'
    assert_intact(lab, before, archive_dir)
    stored = lab.run(MODULE, **change_args(archive_dir, params={'status': 'stuck', 'new_status': INJECTION}))
    assert stored.rc == 0 and stored['rows_changed'] == 4
    assert [lab.rows()[k]['status'] for k in range(1, 5)] == [INJECTION] * 4
    assert lab.tables() == ['secret_table', 'widget']


def test_secrets_redacted_in_archive_and_audit(lab, archive_dir, tmp_path):
    audit = tmp_path / 'audit.jsonl'
    token = 'tok-never-written-42'
    result = lab.run(MODULE, audit_log=str(audit), **change_args(
        archive_dir, target='stuck_widgets_token',
        params={'status': 'stuck', 'new_status': 'done', 'api_token': token}))
    assert result.rc == 0, result
    archived = open(result['archive_path']).read()
    logged = audit.read_text()
    assert token not in archived and token not in logged and token not in result.stdout
    assert json.loads(archived)['params'] == {'status': 'stuck', 'new_status': 'done', 'api_token': '********'}
    assert json.loads(logged)['params']['api_token'] == '********'


def test_empty_and_non_empty_expanding_lists(lab, archive_dir):
    # Like P6: "NOT IN :failed_too_often" may get an empty list; ORDER BY precedes FOR UPDATE.
    empty = lab.run(MODULE, check_mode=True,
                    **change_args(archive_dir, target='stuck_except',
                                  params={'status': 'stuck', 'exclude': [], 'new_status': 'done'}))
    assert empty.rc == 0, empty
    assert empty['plan']['keys'] == [1, 2, 3, 4]
    applied = lab.run(MODULE, **change_args(archive_dir, target='stuck_except',
                                            params={'status': 'stuck', 'exclude': [2], 'new_status': 'done'}))
    assert applied.rc == 0, applied
    assert applied['rows_changed'] == 3
    assert [lab.rows()[k]['status'] for k in range(1, 5)] == ['done', 'stuck', 'done', 'done']
