# -*- coding: utf-8 -*-
"""remedies_sql_query against the real MariaDB and PostgreSQL."""

import json


MODULE = 'remedies_sql_query'
INJECTION = "x'; DROP TABLE widget; --"


def assert_intact(lab, before):
    assert lab.rows() == before
    assert lab.tables() == ['secret_table', 'widget']


def test_rows_are_json_safe_and_nothing_changes(lab):
    before = lab.rows()
    result = lab.run(MODULE, query='list_by_status', params={'status': 'stuck'})
    assert result.rc == 0, result
    assert result['changed'] is False
    assert result['outcome'] == 'nothing_to_do'
    assert result['rowcount'] == 4
    assert isinstance(result['execution_time_ms'], int)
    first, second, third = result['rows'][:3]
    assert first == {'widgetId': 1, 'name': 'w01', 'status': 'stuck', 'note': 'n1', 'amount': 12.5,
                     'updated_at': '2024-01-01T10:30:15.123456', 'payload': '0x00ff01'}
    assert second['amount'] is None
    assert third['note'] == "it's :tricky" and third['payload'] is None
    assert_intact(lab, before)


def test_aggregates_and_expanding_list(lab):
    summary = lab.run(MODULE, query='status_summary')
    assert summary.rc == 0, summary
    assert summary['rows'] == [
        {'status': 'ok', 'n': 6, 'total': 562.5, 'last_update': '2024-01-10T10:30:15.123456'},
        {'status': 'stuck', 'n': 4, 'total': 100, 'last_update': '2024-01-04T10:30:15.123456'},
    ]
    named = lab.run(MODULE, query='widgets_named', params={'names': ['w01', 'w03', INJECTION]})
    assert named.rc == 0, named
    assert named['rows'] == [{'widgetId': 1, 'name': 'w01'}, {'widgetId': 3, 'name': 'w03'}]


def test_runs_in_check_mode(lab):
    result = lab.run(MODULE, check_mode=True, query='list_by_status', params={'status': 'ok'})
    assert result.rc == 0 and result['rowcount'] == 6 and result['changed'] is False


def test_injection_in_param_value_is_data(lab):
    before = lab.rows()
    result = lab.run(MODULE, query='list_by_status', params={'status': INJECTION})
    assert result.rc == 0, result
    assert result['rows'] == []
    assert_intact(lab, before)


def test_unknown_and_malicious_query_names(lab):
    unknown = lab.run(MODULE, query='no_such_query')
    assert unknown.rc == 1
    assert unknown['msg'].startswith("unknown query 'no_such_query' for labtest/%s; known: " % lab.dialect)
    assert 'list_by_status' in unknown['msg'] and 'stuck_widgets' in unknown['msg']
    for name in (INJECTION, '../mysql/labtest/list_by_status', 'List_By_Status'):
        bad = lab.run(MODULE, query=name)
        assert bad.rc == 1 and bad['outcome'] == 'failed'
        assert bad['msg'].startswith('query names must match ^[a-z][a-z0-9_]*$')
        assert 'DROP' not in bad['msg']
    assert lab.tables() == ['secret_table', 'widget']


def test_malicious_or_unknown_system(lab):
    bad = lab.run(MODULE, system=INJECTION, query='list_by_status')
    assert bad.rc == 1 and bad['msg'] == 'system must match ^[a-z][a-z0-9_]*$'
    missing = lab.run(MODULE, system='nosuch', query='list_by_status')
    assert missing.rc == 1 and missing['msg'].startswith("unknown system 'nosuch'")
    assert lab.tables() == ['secret_table', 'widget']


def test_param_errors_are_clear(lab):
    missing = lab.run(MODULE, query='list_by_status')
    assert missing['msg'] == "query 'list_by_status' needs params: status"
    extra = lab.run(MODULE, query='list_by_status', params={'status': 'ok', 'limit': 3})
    assert extra['msg'] == "unused params: limit; 'list_by_status' use: status"
    nested = lab.run(MODULE, query='list_by_status', params={'status': {'a': 1}})
    assert nested['msg'] == "param 'status' must be a scalar or a list of scalars"
    bad_name = lab.run(MODULE, query='list_by_status', params={'status': 'ok', INJECTION: 1})
    assert bad_name['msg'].startswith('param names must be plain identifiers')
    for result in (missing, extra, nested, bad_name):
        assert result.rc == 1 and result['outcome'] == 'failed' and result['refused'] is False


def test_write_refused_before_reaching_the_database(lab):
    before = lab.rows()
    for name, keyword in (('delete_unbounded', 'DELETE'), ('drop_attempt', 'DROP')):
        result = lab.run(MODULE, query=name, params={'status': 'stuck'} if keyword == 'DELETE' else {})
        assert result.rc == 1
        assert result['msg'].startswith("query '%s' is not read-only: it starts with %s" % (name, keyword))
    multi = lab.run(MODULE, query='multi_statement')
    assert multi.rc == 1 and 'must hold exactly one statement' in multi['msg']
    assert_intact(lab, before)


def test_write_refused_by_read_only_transaction(lab):
    # Starts like a read (SELECT fn() / WITH ... DELETE) so only the database can stop it.
    before = lab.rows()
    result = lab.run(MODULE, query='sneaky_write', params={'status': 'stuck'})
    assert result.rc == 1
    assert result['msg'] == ("query 'sneaky_write': the database refused a write inside a "
                             "read-only transaction: this query is not read-only")
    assert_intact(lab, before)


def test_statement_timeout(lab):
    before = lab.rows()
    result = lab.run(MODULE, query='slow', statement_timeout_ms=300)
    assert result.rc == 1
    assert result['msg'] == "query 'slow': statement timed out after 300 ms; rolled back"
    assert_intact(lab, before)


def test_wrong_credentials_never_echo_the_password(lab):
    before = lab.rows()
    password = 'S3cret-pw-Zq9'
    result = lab.run(MODULE, query='list_by_status', params={'status': 'ok'},
                     login_user='remedies_nobody', login_password=password)
    assert result.rc == 1
    assert result['msg'] == 'authentication failed for user remedies_nobody on 127.0.0.1:%s/remedies_test' \
        % lab.server['port']
    assert password not in result.stdout and password not in result.stderr
    assert_intact(lab, before)


def test_unreachable_database(lab):
    result = lab.run(MODULE, query='list_by_status', params={'status': 'ok'}, login_port=1,
                     connect_timeout=2)
    assert result.rc == 1
    assert result['msg'] == 'cannot reach database at 127.0.0.1:1 within 2s'


def test_unknown_database(lab):
    result = lab.run(MODULE, query='list_by_status', params={'status': 'ok'}, database='remedies_nope')
    assert result.rc == 1
    assert result['msg'] == 'database remedies_nope does not exist on 127.0.0.1:%s' % lab.server['port']


def test_connection_from_environment(lab, run_module):
    args = lab.conn_args()
    env = {'REMEDIES_DB_HOST': args.pop('login_host'), 'REMEDIES_DB_PORT': str(args.pop('login_port')),
           'REMEDIES_DB_USER': args.pop('login_user'), 'REMEDIES_DB_NAME': args.pop('database')}
    password = args.pop('login_password', None)
    if password is not None:
        env['REMEDIES_DB_PASSWORD'] = password
    result = run_module(MODULE, dict(args, query='list_by_status', params={'status': 'ok'}), env=env)
    assert result.rc == 0, result
    assert result['rowcount'] == 6


def test_missing_driver_is_a_clear_failure(lab, driver_stubs, tmp_path):
    driver = 'pymysql' if lab.dialect == 'mysql' else 'psycopg2'
    audit = tmp_path / 'audit.jsonl'
    token = 'tok-not-echoed-77'
    result = lab.run(MODULE, query='by_name_with_token', params={'name': 'w01', 'api_token': token},
                     audit_log=str(audit), pythonpath=driver_stubs(driver))
    assert result.rc == 1 and result['outcome'] == 'failed'
    assert result['msg'].startswith('Failed to import the required Python library (%s' % driver)
    assert 'Traceback' not in result['msg']
    assert token not in result.stdout and token not in audit.read_text()
    assert json.loads(audit.read_text())['outcome'] == 'failed'
    no_sqlalchemy = lab.run(MODULE, query='list_by_status', params={'status': 'ok'},
                            pythonpath=driver_stubs('sqlalchemy'))
    assert no_sqlalchemy.rc == 1
    assert no_sqlalchemy['msg'].startswith('Failed to import the required Python library (sqlalchemy)')


def test_audit_line_redacts_secrets(lab, tmp_path):
    audit = tmp_path / 'audit.jsonl'
    token = 'tok-VERY-secret-123'
    ok = lab.run(MODULE, query='by_name_with_token', params={'name': 'w01', 'api_token': token},
                 audit_log=str(audit), catalog_id='T1')
    assert ok.rc == 0 and ok['rows'] == [{'name': 'w01'}]
    failed = lab.run(MODULE, query='by_name_with_token', params={'name': 'w01'}, audit_log=str(audit))
    assert failed.rc == 1
    text = audit.read_text()
    assert token not in text and token not in ok.stdout
    lines = [json.loads(line) for line in text.splitlines()]
    assert len(lines) == 2
    assert lines[0]['params'] == {'name': 'w01', 'api_token': '********'}
    assert lines[0]['outcome'] == 'nothing_to_do' and lines[0]['catalog_id'] == 'T1'
    assert lines[0]['action'] == 'sql_query:labtest/by_name_with_token'
    assert lines[0]['hosts'] == ['127.0.0.1:%s/remedies_test' % lab.server['port']]
    assert lines[1]['outcome'] == 'failed' and 'needs params: api_token' in lines[1]['message']


def test_empty_list_param(lab):
    result = lab.run(MODULE, query='widgets_named', params={'names': []})
    if lab.dialect == 'mysql':
        assert result.rc == 0, result
        assert result['rows'] == []
    else:
        # SQLAlchemy renders an empty expanding IN as an empty INTEGER set on
        # PostgreSQL: fine against integer keys (see test_sql_change), a clear
        # error against a varchar column.
        assert result.rc == 1
        assert result['msg'] == ("query 'widgets_named': no operator or function matches the argument "
                                 "types (error 42883); note that an empty list param binds as an empty "
                                 "integer set on PostgreSQL")
