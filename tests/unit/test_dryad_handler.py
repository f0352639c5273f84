"""The delayed_jobs handler the remedies module writes is the one the app writes and reads,
and the one the named queries find a copy's job by."""
import importlib.util
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def app():
    return load("dryad_lab_app", REPO / "lab" / "dryad" / "app.py")


@pytest.fixture(scope="module")
def module():
    return load("dryad_enqueue_copy_jobs", REPO / "library" / "dryad_enqueue_copy_jobs.py")


@pytest.mark.parametrize("copy_type", ["data", "software", "software_publish", "supp", "supp_publish"])
def test_same_handler_as_the_app(app, module, copy_type):
    strip = lambda text: re.sub(r"job_id: \S+", "job_id: X", text)  # noqa: E731
    assert strip(module.handler_yaml(41, copy_type)) == strip(app.handler(41, copy_type))
    assert module.JOB_FOR[copy_type] == app.JOBS[copy_type]
    assert app.parse_handler(module.handler_yaml(41, copy_type)) == (app.JOBS[copy_type][0], 41)


def test_queries_find_a_copy_by_its_handler(module):
    """The LIKE pattern of the named queries matches copy 41's job and not copy 4's or 410's."""
    sql = (REPO / "sql" / "mysql" / "dryad" / "stalled_copies.sql").read_text()
    assert "CONCAT('%arguments:\\n  - ', c.id, '\\n%')" in sql
    text = module.handler_yaml(41, "data")
    pattern = lambda copy_id: f"arguments:\n  - {copy_id}\n"  # noqa: E731
    assert pattern(41) in text and pattern(4) not in text and pattern(410) not in text
