"""Helpers the tests share: small hand-built frames and params for them, and commands run
in a private copy of the project. Fixtures that use them are in conftest.py."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.dummy import {{ 'DummyClassifier' if cookiecutter.task == 'classification' else 'DummyRegressor' }}

from {{ cookiecutter.package_name }}.core.config import Params, parse, read_params

PROJECT_ROOT = Path(__file__).resolve().parents[1]
TABULAR_COLUMNS = {
    "x": {"source": "X value", "type": "float", "required": True, "min": -10, "max": 10},
    "y": {"source": "Y value", "type": "float"},
    "colour": {"source": "Colour", "type": "category", "allowed": ["red", "green", "blue"]},
    "label": {"source": "Label", "type": "category", "required": True},
    "amount": {"source": "Amount", "type": "float", "required": True},
}
# The project's task decides which of the two is the target.
TABULAR_TARGET = "{{ 'label' if cookiecutter.task == 'classification' else 'amount' }}"
# Two of the task's metrics: one where higher is better, one where lower is.
SCORE, LOSS = {{ '"f1_macro", "log_loss"' if cookiecutter.task == 'classification' else '"r2", "rmse"' }}


def copy_project(folder: Path) -> Path:
    """The project's files (with .git and .dvc, without caches) copied into ``folder``."""
    copy = folder / PROJECT_ROOT.name
    ignore = shutil.ignore_patterns(".venv", "__pycache__", ".pytest_cache", ".ruff_cache")
    shutil.copytree(PROJECT_ROOT, copy, ignore=ignore, symlinks=True)
    return copy


def command(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """``python *args`` in ``project``, importing the copy's own code."""
    environment = {**os.environ, "PYTHONPATH": str(project / "src"), "DVC_NO_ANALYTICS": "1"}
    return subprocess.run(
        [sys.executable, *args], cwd=project, env={**environment, **env},
        capture_output=True, text=True, errors="replace", timeout=300,
    )  # fmt: skip


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (for a server a test starts)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def git(project: Path, *args: str) -> str:
    identity = ["-c", "user.name=Project Tests", "-c", "user.email=tests@example.com"]
    done = subprocess.run(["git", *identity, *args], cwd=project, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def chart_sizes(page: str) -> list[tuple[int, int]]:
    """(width, height) of every inline SVG chart of an HTML page."""
    found = re.findall(r'<svg [^>]*width="([\d.]+)" height="([\d.]+)"', page)
    return [(round(float(width)), round(float(height))) for width, height in found]


def assert_self_contained(page: str) -> None:
    """The page loads nothing and runs nothing: it opens offline, without JavaScript."""
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page), "the page loads a resource"
    assert "<script" not in page and "@import" not in page


# A value as a hostile or careless export may hold it: it would end a table cell or a
# code span, start a new table row, open HTML or a script, notify everyone, or link out.
HOSTILE = (
    "x|y`z\n| a | b |\n</script><script>alert(1)</script> @everyone [go](https://evil.example)"
)
# Patterns that would act if they stood outside a code span (an escaped "\]" is inert).
INERT_OUTSIDE_CODE = [r"<script", r"@everyone", r"(?<!\\)\]\(https://evil", r"\n\| a \| b \|"]


def outside_code(markdown: str) -> str:
    """``markdown`` with its code spans and fenced blocks taken out."""
    unfenced = re.sub(r"(?ms)^```.*?^```", "", markdown)
    return re.sub(r"(`+)(?!`).*?(?<!`)\1(?!`)", "", unfenced)


def assert_markdown_holds(markdown: str) -> None:
    """No hostile part acts outside a code span, and each table keeps its columns."""
    free = outside_code(markdown)
    for pattern in INERT_OUTSIDE_CODE:
        assert not re.search(pattern, free), pattern
    table: list[int] = []
    for line in [*markdown.splitlines(), ""]:
        if line.startswith("|"):
            table.append(len(re.findall(r"(?<!\\)\|", line)))
        elif table:
            assert len(set(table)) == 1, f"a table row has other columns: {table}"
            table = []


def make_tabular(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
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


def params_for_tabular(**changes: object) -> Params:
    """This project's params.yaml with data and features describing ``tabular``."""
    raw = read_params(PROJECT_ROOT / "params.yaml")
    other = "amount" if TABULAR_TARGET == "label" else "label"
    columns = {k: v for k, v in TABULAR_COLUMNS.items() if k != other}
    data = {"raw_path": "raw.csv", "target": TABULAR_TARGET, "na_values": [], "columns": columns}
    raw["data"] = data
    raw["features"] = {"derived": {}, "numeric": ["x", "y"], "categorical": ["colour"]}
    raw["evaluate"] = {**raw["evaluate"], "slice_columns": ["colour"], "importance_repeats": 3}
    raw["tuning"] = {**raw["tuning"], "candidates": 4}
    for key, value in changes.items():
        section, _, name = key.partition("__")
        raw[section] = {**raw[section], name: value} if name else value
    return parse(Params, raw, "test params")


class OtherLibraryModel({{ 'DummyClassifier' if cookiecutter.task == 'classification' else 'DummyRegressor' }}):
    """An estimator from a library other than scikit-learn (this module, ``helpers``)."""
