"""Shared fixtures: small hand-built frames and a private copy of the project."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def project_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The project's files (with .git and .dvc) in tmp_path, as the working directory."""
    copy = tmp_path / PROJECT_ROOT.name
    shutil.copytree(
        PROJECT_ROOT,
        copy,
        ignore=shutil.ignore_patterns(".venv", "__pycache__", ".pytest_cache", ".ruff_cache"),
        symlinks=True,
    )
    monkeypatch.chdir(copy)
    return copy


@pytest.fixture
def tabular() -> pd.DataFrame:
    """A small, learnable frame: the label follows x, the number follows x and y."""
    rng = np.random.default_rng(0)
    n = 90
    x = rng.normal(size=n)
    y = rng.normal(size=n)
    return pd.DataFrame(
        {
            "x": x,
            "y": y,
            "colour": rng.choice(["red", "green", "blue"], size=n),
            "label": np.where(x > 0.3, "high", np.where(x < -0.3, "low", "mid")),
            "amount": 3 * x - 2 * y + rng.normal(scale=0.1, size=n),
        }
    )
