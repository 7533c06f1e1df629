"""Shared fixtures: small hand-built frames, params for them, a private copy of the project."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from helpers import command, copy_project, git, make_tabular, params_for_tabular

from {{ cookiecutter.package_name }}.core.config import Params


@pytest.fixture
def project_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the project in tmp_path, as the working directory."""
    copy = copy_project(tmp_path)
    monkeypatch.chdir(copy)
    return copy


@pytest.fixture(scope="session")
def reproduced(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the project with the pipeline reproduced and everything committed.

    Shared by the tests that need a trained model: each puts back what it changes.
    """
    copy = copy_project(tmp_path_factory.mktemp("reproduced"))
    repro = command(copy, "-m", "dvc", "repro")
    assert repro.returncode == 0, repro.stdout + repro.stderr
    git(copy, "add", "-A")
    git(copy, "commit", "-q", "--allow-empty", "-m", "Reproduced")
    return copy


@pytest.fixture
def tabular() -> pd.DataFrame:
    """A small, learnable frame: the label follows x, the number follows x and y."""
    return make_tabular(90)


@pytest.fixture
def tabular_params() -> Params:
    return params_for_tabular()


@pytest.fixture
def params_with():
    """``params_with(section__key=value, section=mapping)``: tabular params, changed."""
    return params_for_tabular
