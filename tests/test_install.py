"""Layer 4: a baked project installs into a fresh environment from its own files."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from .conftest import tool_env

pytestmark = pytest.mark.slow


def test_fresh_environment_from_the_lock_file_runs_the_pipeline(baked, copy_of):
    project = copy_of(baked())
    # `--locked` also fails if uv.lock no longer matches pyproject.toml.
    sync = subprocess.run(
        [
            "uv",
            "sync",
            "--locked",
            "--extra",
            "dev",
            "--no-python-downloads",
            "--python",
            sys.executable,
        ],
        cwd=project,
        env=tool_env(),
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert sync.returncode == 0, sync.stderr
    venv_bin = project / ".venv" / "bin"
    # Only the new environment's tools: nothing from the template's environment leaks in.
    env = tool_env(PATH=os.pathsep.join([str(venv_bin), "/usr/bin", "/bin"]))
    env.pop("VIRTUAL_ENV", None)
    repro = subprocess.run(
        ["dvc", "repro"], cwd=project, env=env, capture_output=True, text=True, timeout=900
    )
    assert repro.returncode == 0, repro.stdout + repro.stderr
    assert (venv_bin / "dvc").is_file()
    metrics = json.loads((project / "reports/metrics.json").read_text())
    assert metrics["accuracy"] >= 0.95
    tests = subprocess.run(
        [
            str(venv_bin / "python"),
            "-m",
            "pytest",
            "-q",
            "-m",
            "not slow",
            "-p",
            "no:cacheprovider",
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
