"""Template updates with cruft: create from one commit, update to a later one.

The template is a temporary git repository made from this checkout's tracked files, so
the test controls its history: commit A generates the project, commit B changes the
template, and `cruft update` must bring B's change into the project without losing the
project's own edits, after which the pipeline still reproduces.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from .conftest import BIN, copy_of_template, dvc, git, run

pytestmark = pytest.mark.slow

MODEL_CONF = "conf/model/logistic_regression.yaml"
SPLIT_CONF = "{{cookiecutter.project_slug}}/conf/split/default.yaml"
TEMPLATE_CHANGE = (
    "# Larger test splits give steadier metrics; smaller ones leave more to train on.\n"
)


def template_repository(destination: Path) -> Path:
    """This checkout's tracked files, committed as the first commit of a new repository."""
    copy_of_template(destination)
    git(destination, "init", "--quiet", "--initial-branch=main")
    git(destination, "add", "--all")
    git(destination, "commit", "--quiet", "-m", "Template, commit A")
    return destination


def cruft(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return run([str(BIN / "cruft"), *args], cwd=cwd, check=False, UV_OFFLINE="1")


def test_cruft_update_brings_template_changes_and_keeps_project_edits(tmp_path, warm_uv_cache):
    warm_uv_cache("3.10")
    template = template_repository(tmp_path / "template")
    created = cruft("create", str(template), "--no-input", "--output-dir", str(tmp_path / "out"),
                    cwd=tmp_path)  # fmt: skip
    assert created.returncode == 0, created.stdout + created.stderr
    project = tmp_path / "out" / "penguins-ml"
    state = json.loads((project / ".cruft.json").read_text())
    assert state["template"] == str(template)
    assert state["commit"] == git(template, "rev-parse", "HEAD")
    assert "cruft check" in (project / "README.md").read_text()

    # The user commits .cruft.json, as the README says, and edits the project.
    model = project / MODEL_CONF
    model.write_text(model.read_text().replace("C: 1.0", "C: 0.5"))
    run([str(BIN / "python"), "-m", "penguins_ml", "compose"], cwd=project)
    git(project, "add", "--all")
    git(project, "commit", "--quiet", "-m", "Track .cruft.json; halve C")
    assert cruft("check", cwd=project).returncode == 0
    own_edits = cruft("diff", cwd=project).stdout
    assert "-  C: 0.5" in own_edits and "+  C: 1.0" in own_edits

    # The template moves on.
    split = template / SPLIT_CONF
    split.write_text(TEMPLATE_CHANGE + split.read_text())
    git(template, "commit", "--quiet", "-am", "Template, commit B: explain the split sizes")
    outdated = cruft("check", cwd=project)
    assert outdated.returncode != 0, outdated.stdout

    updated = cruft("update", "--skip-apply-ask", cwd=project)
    assert updated.returncode == 0, updated.stdout + updated.stderr
    assert (project / "conf/split/default.yaml").read_text().startswith(TEMPLATE_CHANGE)
    assert "C: 0.5" in model.read_text(), "the project's own edit was lost"
    state = json.loads((project / ".cruft.json").read_text())
    assert state["commit"] == git(template, "rev-parse", "HEAD")
    changed = set(git(project, "diff", "--name-only", "HEAD").splitlines())
    assert changed == {".cruft.json", "conf/split/default.yaml"}, changed
    git(project, "commit", "--quiet", "-am", "Update from the template")
    assert cruft("check", cwd=project).returncode == 0

    run([str(BIN / "python"), "-m", "penguins_ml", "compose", "--check"], cwd=project)
    dvc("repro", cwd=project)
    metrics = json.loads((project / "reports/metrics.json").read_text())
    assert metrics["accuracy"] >= 0.95


def test_cruft_link_adopts_a_project_made_with_plain_cookiecutter(tmp_path, baked, copy_of):
    template = template_repository(tmp_path / "template")
    project = copy_of(baked())
    assert not (project / ".cruft.json").exists()
    linked = cruft("link", str(template), "--no-input", cwd=project)
    assert linked.returncode == 0, linked.stdout + linked.stderr
    state = json.loads((project / ".cruft.json").read_text())
    assert state["commit"] == git(template, "rev-parse", "HEAD")
    assert state["context"]["cookiecutter"]["package_name"] == "penguins_ml"
    assert cruft("check", cwd=project).returncode == 0
