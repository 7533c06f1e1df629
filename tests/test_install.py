"""Layer 4: a baked project installs into a fresh environment from its own files."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from .conftest import bake, tool_env

pytestmark = pytest.mark.slow


def oldest_supported_python() -> str:
    """The default minimum (3.10, where pandas 2 is resolved) when uv finds it locally."""
    probe = subprocess.run(
        ["uv", "python", "find", "--no-python-downloads", "3.10"],
        env=tool_env(),
        capture_output=True,
        text=True,
    )
    return probe.stdout.strip() if probe.returncode == 0 else sys.executable


def test_fresh_environment_from_the_lock_file_runs_the_pipeline(tmp_path):
    """The one bake whose `uv lock` goes online, as a user's does."""
    baking = bake(tmp_path, env=tool_env())
    assert baking.returncode == 0, baking.stderr
    project = tmp_path / "penguins-ml"
    assert (project / "uv.lock").is_file(), baking.stdout
    python = oldest_supported_python()
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
            python,
        ],
        cwd=project,
        env=tool_env(),
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert sync.returncode == 0, f"with {python}:\n{sync.stderr}"
    venv_bin = project / ".venv" / "bin"
    # Only the new environment's tools: nothing from the template's environment leaks in.
    env = tool_env(PATH=os.pathsep.join([str(venv_bin), "/usr/bin", "/bin"]))
    env.pop("VIRTUAL_ENV", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a user's Python writes bytecode once
    repro = subprocess.run(
        ["dvc", "repro"], cwd=project, env=env, capture_output=True, text=True, timeout=900
    )
    assert repro.returncode == 0, repro.stdout + repro.stderr
    assert (venv_bin / "dvc").is_file()
    # The API runs on uvicorn's compiled HTTP parser and event loop, not its Python ones.
    probe = "from uvicorn.protocols.http.auto import AutoHTTPProtocol as http; import uvloop"
    probe += "; print(http.__name__, uvloop.__name__)"
    fast = subprocess.run(
        [str(venv_bin / "python"), "-c", probe], env=env, capture_output=True, text=True
    )
    assert fast.stdout.split() == ["HttpToolsProtocol", "uvloop"], fast.stderr
    metrics = json.loads((project / "reports/metrics.json").read_text())
    assert metrics["accuracy"] >= 0.95
    tests = subprocess.run(
        [
            str(venv_bin / "python"),
            "-m",
            "pytest",
            "-n",
            "2",
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
    hooks = subprocess.run(
        [str(venv_bin / "pre-commit"), "run", "--all-files"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert hooks.returncode == 0, hooks.stdout + hooks.stderr
    assert "ruff check" in hooks.stdout and "ruff format" in hooks.stdout
