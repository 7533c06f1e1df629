"""Layer 2: inside baked projects, the project's own tests pass and ruff is clean."""

from __future__ import annotations

import sys

import pytest

from .conftest import run

pytestmark = pytest.mark.slow

# The generated suites' own end-to-end `dvc repro` test runs for the answers marked
# "all"; for the others, whose pipelines test_pipeline.py already reproduces, their fast
# layer runs (`-m "not slow"`), which is what differs between them.
COMBINATIONS = [
    pytest.param({}, id="defaults"),
    pytest.param({"task": "regression"}, id="regression"),
    pytest.param({"demo_data": "none"}, id="classification-no-data"),
    pytest.param(
        {"task": "regression", "demo_data": "none", "operations": "no"},
        id="regression-no-data-no-operations",
    ),
    pytest.param({"operations": "no"}, id="no-operations"),
    pytest.param(
        {
            "project_name": "Customer Churn Prediction Pipeline Experiments",
            "python_version": "3.13",
        },
        id="long-package-name",
    ),
]
# A long package name changes the length of lines (which the ruff test checks), not what
# runs: its config tests (every module's imports, the command line) are enough.
LAYERS = {"long-package-name": ["-m", "not slow", "tests/test_config.py"]}


# The defaults' whole suite runs as the checks workflow's `uv run pytest` step, in
# test_workflows.py; running it (or its fast layer) here as well would only repeat it.
# The other whole suites leave out the cases that run the same code on the same data as
# the defaults' (collecting them still checks their rendering): without operations, the
# dask engine's and the fault corpus's modules and the real-export reproduction; without
# demo data, the real-export reproduction.
SAME_AS_DEFAULTS = {
    "no-operations": [
        "tests/test_dask_engine.py",
        "tests/test_faults.py",
        "tests/test_real_exports.py::test_a_pandas_export_reproduces_without_hand_edits",
    ],
    "classification-no-data": [
        "tests/test_real_exports.py::"
        "test_a_pandas_export_reproduces_serves_and_monitors_without_hand_edits",
    ],
}
WHOLE_SUITE = {
    name: [option for path in paths for option in ("--deselect", path)]
    for name, paths in SAME_AS_DEFAULTS.items()
}


@pytest.mark.parametrize("answers", [c for c in COMBINATIONS if c.id != "defaults"])
def test_generated_tests_pass(baked, answers, request):
    project = baked(**answers)
    name = request.node.callspec.id
    layer = WHOLE_SUITE.get(name) or LAYERS.get(name) or ["-m", "not slow"]
    for left_out in SAME_AS_DEFAULTS.get(name, []):  # no stale names
        file, _, test = left_out.partition("::")
        assert (f"def {test}(" if test else "def test_") in (project / file).read_text()
    # On two workers, as the checks workflow runs them (`pytest -n auto`).
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2", *layer]
    result = run(command, cwd=project)
    summary = result.stdout.strip().splitlines()[-1]
    assert " passed" in summary
    assert "skipped" not in summary
    assert "warning" not in summary, result.stdout[-3000:]  # users would read them every run


@pytest.mark.parametrize("answers", COMBINATIONS)
def test_generated_code_is_ruff_clean(baked, answers):
    project = baked(**answers)
    run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=project)
    run([sys.executable, "-m", "ruff", "format", "--check", "--no-cache", "."], cwd=project)
