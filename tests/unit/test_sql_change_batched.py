# -*- coding: utf-8 -*-
"""remedies_sql_change in batched mode (batch_size): keyset batches, one archive each,
resumable, undoable; and the unbatched behaviour is unchanged without it."""

import json
import os

MODULE = 'remedies_sql_change'


def batch_args(archive_dir, **over):
    args = dict(target='widgets_batch', change='delete_widgets', table='widget', key_column='widgetId',
                params={'status': 'ok'}, max_rows=10, batch_size=2, archive_dir=archive_dir)
    args.update(over)
    return args


def test_plan_counts_the_whole_run_and_changes_nothing(lab, archive_dir):
    before = lab.rows()
    result = lab.run(MODULE, check_mode=True, **batch_args(archive_dir))
    assert result.rc == 0, result
    plan = result['plan']
    assert plan['count'] == 6 and plan['batches'] == 3 and plan['batch_size'] == 2
    assert plan['keys'] == [5, 6]
    assert 'in 3 batches' in result['msg']
    assert lab.rows() == before and os.listdir(archive_dir) == []


def test_apply_in_batches_each_archived_then_undo(lab, archive_dir):
    before = lab.rows()
    result = lab.run(MODULE, **batch_args(archive_dir))
    assert result.rc == 0, result
    assert result['rows_changed'] == 6 and result['batches'] == 3 and result['finished'] is True
    assert sorted(lab.rows()) == [1, 2, 3, 4]
    assert sorted(os.listdir(archive_dir)) == sorted(c + '.json' for c in result['change_ids'])
    keys = []
    for change_id in result['change_ids']:
        record = json.load(open(os.path.join(archive_dir, change_id + '.json')))
        assert record['run_id'] == result['run_id'] and len(record['keys']) <= 2
        keys += record['keys']
    assert keys == [5, 6, 7, 8, 9, 10]
    for change_id in result['change_ids']:
        undo = lab.run('remedies_undo', change_id=change_id, archive_dir=archive_dir)
        assert undo.rc == 0, undo
    assert lab.rows() == before


def test_max_batches_stops_and_a_rerun_finishes(lab, archive_dir):
    first = lab.run(MODULE, max_batches=1, **batch_args(archive_dir))
    assert first.rc == 0, first
    assert first['rows_changed'] == 2 and first['finished'] is False and 'run it again' in first['msg']
    second = lab.run(MODULE, **batch_args(archive_dir))
    assert second['rows_changed'] == 4 and second['finished'] is True
    third = lab.run(MODULE, **batch_args(archive_dir))
    assert third['outcome'] == 'nothing_to_do' and third['changed'] is False
    assert sorted(lab.rows()) == [1, 2, 3, 4]


def test_guards(lab, archive_dir):
    before = lab.rows()
    over = lab.run(MODULE, **batch_args(archive_dir, max_rows=5, batch_size=2))
    assert over.rc != 0 and over['refused'] is True and 'max_rows' in over['msg']
    expected = lab.run(MODULE, **batch_args(archive_dir, expected_rows=5))
    assert expected['refused'] is True and 'expected_rows' in expected['msg']
    big = lab.run(MODULE, **batch_args(archive_dir, batch_size=11))
    assert big.failed and 'must not exceed max_rows' in big['msg']
    reserved = lab.run(MODULE, **batch_args(archive_dir, params={'status': 'ok', 'after_key': 1}))
    assert reserved.failed and 'reserved' in reserved['msg']
    unbatched_target = lab.run(MODULE, **batch_args(archive_dir, target='stuck_widgets'))
    assert unbatched_target.failed and ':after_key' in unbatched_target['msg']
    no_batch = lab.run(MODULE, **batch_args(archive_dir, batch_size=None, max_batches=2))
    assert no_batch.failed and 'needs batch_size' in no_batch['msg']
    assert lab.rows() == before and os.listdir(archive_dir) == []
