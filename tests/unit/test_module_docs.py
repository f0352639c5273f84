# -*- coding: utf-8 -*-
"""The documented options are exactly the code's options, and ansible itself can run the modules."""

import json
import os
import runpy
import subprocess

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
LIBRARY = os.path.join(REPO, 'library')
MODULES = ['remedies_sql_query', 'remedies_sql_change', 'remedies_undo', 'remedies_audit']
PYTHON = os.path.join(REPO, '.venv', 'bin', 'python')
BIN = os.path.dirname(PYTHON)


def ansible_env():
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, 'ansible.cfg'),
               ANSIBLE_LOAD_CALLBACK_PLUGINS='0', ANSIBLE_DEPRECATION_WARNINGS='0',
               ANSIBLE_LOCAL_TEMP=os.environ.get('REMEDIES_TEST_TMP', '/tmp'))
    env.pop('PYTHONPATH', None)
    return env


@pytest.fixture(scope='module')
def docs():
    proc = subprocess.run([os.path.join(BIN, 'ansible-doc'), '-t', 'module', '--json'] + MODULES,
                          capture_output=True, text=True, cwd=REPO, env=ansible_env(), timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.parametrize('module', MODULES)
def test_documented_options_match_argument_spec(docs, module):
    spec = runpy.run_path(os.path.join(LIBRARY, module + '.py'))['build_argument_spec']()
    documented = docs[module]['doc']['options']
    assert sorted(documented) == sorted(spec)
    for name, option in spec.items():
        doc = documented[name]
        assert doc.get('type', 'str') == option.get('type', 'str'), name
        assert bool(doc.get('required', False)) == bool(option.get('required', False)), name
        assert doc.get('default') == option.get('default'), name
        assert doc.get('choices') == option.get('choices'), name
        assert doc.get('elements') == option.get('elements'), name
    assert docs[module]['doc']['attributes']['check_mode']['support'] == 'full'
    assert docs[module]['examples'].strip() and docs[module]['return']


def test_ansible_runs_the_module_with_its_module_utils(labs, repo_paths):
    """A real ansible ad-hoc run: AnsiballZ must find module_utils and the module must work."""
    server = repo_paths['servers']['postgresql']
    args = dict(dialect='postgresql', login_host=server['host'], login_port=server['port'],
                login_user=server['username'], database=repo_paths['test_db'],
                sql_root=repo_paths['sql_root'], system='labtest',
                query='status_summary')
    labs['postgresql'].reset()
    proc = subprocess.run(
        [os.path.join(BIN, 'ansible'), 'localhost', '-i', 'localhost,', '-c', 'local',
         '-e', 'ansible_python_interpreter=%s' % PYTHON, '-m', 'remedies_sql_query', '-a', json.dumps(args)],
        capture_output=True, text=True, cwd=REPO, env=ansible_env(), timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(proc.stdout.split('=>', 1)[1])
    assert result['rowcount'] == 2 and result['changed'] is False
