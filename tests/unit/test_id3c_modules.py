# -*- coding: utf-8 -*-
"""The modules and filters the id3c role added: documented options match the code,
remedies_report's refusal, and the S15 / S3 filters."""

import json
import os
import runpy
import subprocess

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
MODULES = ['remedies_report', 'remedies_pg_cancel', 'remedies_sql_insert']
BIN = os.path.join(REPO, '.venv', 'bin')
# loaded by path: filter_plugins/ on sys.path would shadow the remedies package
filters = runpy.run_path(os.path.join(REPO, 'filter_plugins', 'id3c.py'))
filters = type('filters', (), {k: staticmethod(v) for k, v in filters.items() if k.startswith('id3c_')})


@pytest.fixture(scope='module')
def docs():
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, 'ansible.cfg'), ANSIBLE_LOAD_CALLBACK_PLUGINS='0')
    env.pop('PYTHONPATH', None)
    proc = subprocess.run([os.path.join(BIN, 'ansible-doc'), '-t', 'module', '--json'] + MODULES,
                          capture_output=True, text=True, cwd=REPO, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.parametrize('module', MODULES)
def test_documented_options_match_argument_spec(docs, module):
    spec = runpy.run_path(os.path.join(REPO, 'library', module + '.py'))['build_argument_spec']()
    documented = docs[module]['doc']['options']
    assert sorted(documented) == sorted(spec)
    for name, option in spec.items():
        doc = documented[name]
        assert doc.get('type', 'str') == option.get('type', 'str'), name
        assert bool(doc.get('required', False)) == bool(option.get('required', False)), name
        assert doc.get('default') == option.get('default'), name
    assert docs[module]['doc']['attributes']['check_mode']['support'] == 'full'


def test_report_refuses_and_reports(run_module):
    res = run_module('remedies_report', {'refuse': True, 'msg': 'two sets found'})
    assert res.rc != 0 and res['refused'] is True and res['outcome'] == 'refused' and res['msg'] == 'two sets found'
    res = run_module('remedies_report', {'title': 't', 'lines': ['a'], 'attention': True}, check_mode=True)
    assert res.rc == 0 and res['report'] == ['t', 'a'] and res['attention'] is True and res['changed'] is False


def test_json_diff_normalises_key_order_and_whitespace():
    a = '{"samples": [{"sampleId": 1, "targetResults": [{"testResult": "Positive", "geneTarget": "RSVA"}]}]}'
    b = '{\n "samples": [\n  {"targetResults": [{"geneTarget": "RSVA", "testResult": "Fail"}],\n "sampleId": 1}]}'
    diff = filters.id3c_json_diff(a, b, 'a', 'b')
    changed = [line for line in diff if line[:1] in '+-' and not line.startswith(('---', '+++'))]
    assert changed == ['-          "testResult": "Positive"', '+          "testResult": "Fail"']
    assert filters.id3c_json_diff(a, a) == []


def test_sample_results_and_csv_column():
    doc = {"samples": [{"investigatorId": "ABCDEF12", "sampleId": 7,
                        "targetResults": [{"geneTarget": "RSVA", "testResult": "Fail"}]}]}
    got = filters.id3c_sample_results(json.dumps(doc), 'abcdef12')
    assert got == {"found": True, "lims_id": "7", "results": {"RSVA": "Fail"}, "failed": True}
    assert filters.id3c_sample_results(doc, 'zzzzzzzz')['found'] is False
    text = 'sample_id,box\n abcdef12 ,1\n,2\nbcdef123,3\n'
    assert filters.id3c_csv_column(text, 'sample_id') == ['abcdef12', 'bcdef123']
    with pytest.raises(ValueError):
        filters.id3c_csv_column(text, 'barcode')
