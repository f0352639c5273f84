# -*- coding: utf-8 -*-
"""The safety core on schema-qualified tables (schema.table) with GENERATED ALWAYS
identity keys, citext and jsonb: plan, apply, archive and a byte-for-byte undo."""

import sqlalchemy
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

import pytest

DB = 'remedies_schema_test'
SCHEMA = [
    'DROP SCHEMA IF EXISTS inbox CASCADE',
    'CREATE EXTENSION IF NOT EXISTS citext',
    'CREATE SCHEMA inbox',
    "CREATE TABLE inbox.item (item_id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
    "barcode citext NOT NULL UNIQUE, state text NOT NULL, document json NOT NULL, "
    "log jsonb NOT NULL DEFAULT '[]', received timestamptz NOT NULL DEFAULT now())",
    # the same name in the default schema must not be what the change touches
    'DROP TABLE IF EXISTS public.item',
    'CREATE TABLE public.item (item_id integer PRIMARY KEY, state text)',
    "INSERT INTO public.item VALUES (1, 'stale')",
]


@pytest.fixture
def pg(repo_paths, tmp_path, monkeypatch):
    monkeypatch.setenv('REMEDIES_TEST_TMP', str(tmp_path))
    s = repo_paths['servers']['postgresql']
    admin = sqlalchemy.create_engine(URL.create(s['drivername'], s['username'], s['password'], s['host'],
                                                s['port'], s['admin_db']),
                                     poolclass=NullPool, isolation_level='AUTOCOMMIT')
    with admin.connect() as conn:
        if not conn.execute(text('SELECT 1 FROM pg_database WHERE datname = :d'), {'d': DB}).first():
            conn.execute(text('CREATE DATABASE %s' % DB))
    admin.dispose()
    engine = sqlalchemy.create_engine(URL.create(s['drivername'], s['username'], s['password'], s['host'],
                                                 s['port'], DB), poolclass=NullPool)
    with engine.begin() as conn:
        for statement in SCHEMA:
            conn.execute(text(statement))
        for i in range(1, 9):
            conn.execute(text("INSERT INTO inbox.item (barcode, state, document, log) VALUES "
                              "(:b, :s, :d, '[{\"etl\": \"x\", \"revision\": 1}]')"),
                         {'b': 'AbC%05d' % i, 's': 'stale' if i % 2 else 'fresh',
                          'd': '{"z": 1,  "a": [1, 2], "t": "caf\u00e9"}'})
    args = dict(dialect='postgresql', login_host=s['host'], login_port=s['port'], login_user=s['username'],
                login_password=s['password'], database=DB, sql_root=repo_paths['sql_root'],
                system='schematest', connect_timeout=3)
    yield engine, args
    engine.dispose()


def dump(engine, table='inbox.item'):
    # item_id::text and document::text: the exact stored bytes, json whitespace included
    with engine.connect() as conn:
        return conn.execute(text('SELECT item_id, barcode::text, state, document::text, log::text, '
                                 'received::text FROM %s ORDER BY item_id' % table)).fetchall()


def test_delete_from_a_schema_table_and_undo_byte_for_byte(pg, run_module, archive_dir):
    engine, args = pg
    original, public = dump(engine), dump_public(engine)
    plan = run_module('remedies_sql_change', dict(args, target='stale_items', change='delete_items',
                                                  table='inbox.item', key_column='item_id', max_rows=10,
                                                  params={'state': 'stale'}, archive_dir=archive_dir),
                      check_mode=True)
    assert plan['outcome'] == 'planned', plan
    assert plan['plan']['keys'] == [1, 3, 5, 7]
    assert dump(engine) == original
    done = run_module('remedies_sql_change', dict(args, target='stale_items', change='delete_items',
                                                  table='inbox.item', key_column='item_id', max_rows=10,
                                                  params={'state': 'stale'}, archive_dir=archive_dir))
    assert done['outcome'] == 'changed' and done['rows_changed'] == 4, done
    assert [r[0] for r in dump(engine)] == [2, 4, 6, 8]
    assert dump_public(engine) == public  # public.item is another table
    undo = run_module('remedies_undo', dict(args, change_id=done['change_id'], archive_dir=archive_dir))
    assert undo["outcome"] == "changed", undo["msg"]  # needs OVERRIDING SYSTEM VALUE for the identity key
    assert dump(engine) == original


def test_update_of_a_schema_table_and_undo(pg, run_module, archive_dir):
    engine, args = pg
    original = dump(engine)
    done = run_module('remedies_sql_change', dict(args, target='stale_items', change='mark_items',
                                                  table='inbox.item', key_column='item_id', max_rows=10,
                                                  params={'state': 'stale', 'new_state': 'skipped'},
                                                  archive_dir=archive_dir))
    assert done['rows_changed'] == 4, done
    assert dump(engine) != original
    undo = run_module('remedies_undo', dict(args, change_id=done['change_id'], archive_dir=archive_dir))
    assert undo["outcome"] == "changed", undo["msg"]
    assert dump(engine) == original


def test_change_must_write_the_qualified_table(pg, run_module, archive_dir):
    engine, args = pg
    original = dump(engine)
    res = run_module('remedies_sql_change', dict(args, target='stale_items', change='delete_unqualified',
                                                 table='inbox.item', key_column='item_id', max_rows=10,
                                                 params={'state': 'stale'}, archive_dir=archive_dir))
    assert res['outcome'] == 'refused' and "must write table 'inbox.item'" in res['msg']
    assert dump(engine) == original


@pytest.mark.parametrize('table', ['inbox.item; drop', 'a.b.c', 'inbox."item"', 'public.item'])
def test_bad_or_unlisted_qualified_names_are_refused(pg, run_module, archive_dir, table):
    engine, args = pg
    res = run_module('remedies_sql_change', dict(args, target='stale_items', change='delete_items',
                                                 table=table, key_column='item_id', max_rows=10,
                                                 params={'state': 'stale'}, archive_dir=archive_dir))
    assert res['outcome'] == 'refused', res


def dump_public(engine):
    with engine.connect() as conn:
        return conn.execute(text('SELECT * FROM public.item ORDER BY item_id')).fetchall()
