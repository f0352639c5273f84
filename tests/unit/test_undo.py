# -*- coding: utf-8 -*-
"""remedies_undo: exact restore, conflicts, idempotence, against the real databases."""

import json
import os
import shutil

CHANGE = 'remedies_sql_change'
UNDO = 'remedies_undo'
INJECTION = "x'; DROP TABLE widget; --"


def apply_change(lab, archive_dir, delete=False):
    args = dict(target='stuck_widgets', change='delete_widgets' if delete else 'mark_widgets',
                table='widget', key_column='widgetId', max_rows=10, archive_dir=archive_dir,
                params={'status': 'stuck'} if delete else {'status': 'stuck', 'new_status': 'done'})
    result = lab.run(CHANGE, **args)
    assert result.rc == 0, result
    return result['change_id']


def test_undo_update_restores_exactly_and_is_idempotent(lab, archive_dir, tmp_path):
    original = lab.rows()
    change_id = apply_change(lab, archive_dir)
    changed = lab.rows()
    assert changed != original

    plan = lab.run(UNDO, check_mode=True, diff=True, change_id=change_id, archive_dir=archive_dir)
    assert plan.rc == 0, plan
    assert plan['outcome'] == 'planned' and plan['changed'] is True
    assert plan['plan']['count'] == 4 and plan['plan']['keys'] == [1, 2, 3, 4]
    assert plan['plan']['conflicts'] == []
    assert lab.rows() == changed                       # check mode changed nothing
    assert len(os.listdir(archive_dir)) == 1

    audit = tmp_path / 'audit.jsonl'
    undo = lab.run(UNDO, change_id=change_id, archive_dir=archive_dir, audit_log=str(audit))
    assert undo.rc == 0, undo
    assert undo['outcome'] == 'changed' and undo['rows_changed'] == 4
    assert undo['undo_of'] == change_id and undo['change_id'] != change_id
    assert lab.rows() == original                      # every column, exactly

    record = json.load(open(undo['archive_path']))
    assert record['kind'] == 'undo' and record['undo_of'] == change_id
    line = json.loads(audit.read_text())
    assert line['action'] == 'undo:%s' % change_id and line['change_id'] == undo['change_id']

    again = lab.run(UNDO, change_id=change_id, archive_dir=archive_dir)
    assert again.rc == 0 and again['outcome'] == 'nothing_to_do' and again['changed'] is False
    assert again['plan']['already_restored'] == 4
    assert lab.rows() == original

    # The undo is itself a change: undoing it re-applies the original change.
    redo = lab.run(UNDO, change_id=undo['change_id'], archive_dir=archive_dir)
    assert redo.rc == 0, redo
    assert lab.rows() == changed


def test_undo_refuses_conflicting_later_edit(lab, archive_dir):
    original = lab.rows()
    change_id = apply_change(lab, archive_dir)
    lab.execute("UPDATE widget SET note = 'edited later' WHERE %s = 2" % lab.q_key)
    edited = lab.rows()

    for check_mode in (True, False):
        refused = lab.run(UNDO, check_mode=check_mode, change_id=change_id, archive_dir=archive_dir)
        assert refused.rc == 1 and refused['refused'] is True and refused['outcome'] == 'refused'
        assert refused['msg'] == ('undo refused: 1 of 4 rows conflict with later edits (see plan.conflicts); '
                                  'force=true overwrites them')
        assert refused['plan']['conflicts'] == [{'key': 2, 'reason': 'row was changed since the change'}]
        assert lab.rows() == edited
    assert len(os.listdir(archive_dir)) == 1

    forced = lab.run(UNDO, change_id=change_id, archive_dir=archive_dir, force=True)
    assert forced.rc == 0, forced
    assert forced['rows_changed'] == 4
    assert lab.rows() == original
    overwritten = json.load(open(forced['archive_path']))
    assert any(row['note'] == 'edited later' for row in overwritten['before'])


def test_undo_delete_reinserts_exact_rows(lab, archive_dir):
    original = lab.rows()
    change_id = apply_change(lab, archive_dir, delete=True)
    assert sorted(lab.rows()) == [5, 6, 7, 8, 9, 10]
    undo = lab.run(UNDO, change_id=change_id, archive_dir=archive_dir)
    assert undo.rc == 0, undo
    assert lab.rows() == original
    assert lab.run(UNDO, change_id=change_id, archive_dir=archive_dir)['outcome'] == 'nothing_to_do'


def test_undo_delete_refuses_key_that_exists_again(lab, archive_dir):
    change_id = apply_change(lab, archive_dir, delete=True)
    lab.execute("INSERT INTO widget (%s, name, status) VALUES (1, 'w01-new', 'fresh')" % lab.q_key)
    current = lab.rows()
    result = lab.run(UNDO, change_id=change_id, archive_dir=archive_dir)
    assert result.rc == 1 and result['refused'] is True
    assert result['plan']['conflicts'] == [{'key': 1, 'reason': 'row exists again'}]
    assert lab.rows() == current


def test_undo_guards_and_validation(lab, archive_dir):
    change_id = apply_change(lab, archive_dir)
    changed = lab.rows()
    cases = [
        (dict(change_id=change_id, max_rows=2), 'guard: 4 rows exceed max_rows 2'),
        (dict(change_id=INJECTION), 'change_id must match ^[0-9A-Za-z-]+$ (at most 64 characters)'),
        (dict(change_id='../../etc/passwd'), 'change_id must match ^[0-9A-Za-z-]+$'),
        (dict(change_id='20990101T000000Z-abcdef'), "no archived change '20990101T000000Z-abcdef' in "),
        (dict(change_id=change_id, database='other_db'),
         'change %s was made on database remedies_test but this run targets database other_db' % change_id),
        (dict(change_id=change_id, system=INJECTION), 'system must match'),
    ]
    for over, message in cases:
        result = lab.run(UNDO, archive_dir=archive_dir, **over)
        assert result.rc == 1, result
        assert result['msg'].startswith(message), result['msg']
        assert lab.rows() == changed
        assert lab.tables() == ['secret_table', 'widget']


def test_undo_archive_failure_changes_nothing(lab, archive_dir, tmp_path, locked_directory):
    change_id = apply_change(lab, archive_dir)
    changed = lab.rows()
    # The undo reads the archived change but cannot write its own record.
    locked = tmp_path / 'locked'
    locked.mkdir()
    shutil.copy(os.path.join(archive_dir, change_id + '.json'), str(locked))
    with locked_directory(locked):
        result = lab.run(UNDO, change_id=change_id, archive_dir=str(locked))
    assert result.rc == 1
    assert result['msg'].startswith('archive write failed (%s: ' % locked)
    assert result['msg'].endswith('rolled back, nothing changed')
    assert lab.rows() == changed
    assert os.listdir(str(locked)) == [change_id + '.json']
