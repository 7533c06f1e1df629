"""The generated README's extension recipes, done exactly as written on a baked project,
then `dvc repro` and the project's own tests."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import dvc, run, stages_run

pytestmark = pytest.mark.slow

PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]


def recipe(readme: Path, title: str) -> list[str]:
    """The fenced blocks of one README section, in order."""
    text = readme.read_text()
    start = text.index(f"### {title}\n")
    ends = [i for i in (text.find("\n## ", start), text.find("\n### ", start + 1)) if i > 0]
    return re.findall(r"```\w+\n(.*?)```", text[start : min(ends)], flags=re.DOTALL)


def run_commands(block: str, project: Path) -> list[list[str]]:
    """A bash block's commands, one a line, with this environment's Python and DVC; the
    stages each `dvc repro` among them ran."""
    ran = []
    for line in filter(None, block.splitlines()):
        tool, *args = line.split()
        prefix = [sys.executable, "-m", "dvc"] if tool == "dvc" else [sys.executable]
        result = run([*prefix, *args], cwd=project)
        if args[:1] == ["repro"]:
            ran.append(stages_run(result))
    return ran


def test_adding_a_stage_with_its_own_config_section(baked, copy_of):
    project = copy_of(baked())
    dvc("repro", cwd=project)
    readme = project / "README.md"
    settings, defaults_entry, module, commands = recipe(
        readme, "Add a stage with its own config section"
    )
    (project / "conf/target_counts").mkdir()
    (project / "conf/target_counts/default.yaml").write_text(settings)
    config = project / "conf/config.yaml"
    config.write_text(config.read_text().replace("  - _self_\n", defaults_entry + "  - _self_\n"))
    (project / "src/penguins_ml/stages/target_counts.py").write_text(module)

    assert run_commands(commands, project) == [["target_counts"]], "nothing else reruns"
    assert '"Adelie"' in (project / "reports/target_counts.json").read_text()
    with (project / "src/penguins_ml/review/report.py").open("a") as report:
        report.write("# CI helpers are no stage's dependency\n")
    assert "up to date" in dvc("status", cwd=project).stdout
    own_tests = run([*PYTEST, "-m", "not slow"], cwd=project)
    assert " passed" in own_tests.stdout.strip().splitlines()[-1]

    # The project's check that each stage depends on what it imports covers the new one.
    pipeline = yaml.safe_load((project / "dvc.yaml").read_text())
    pipeline["stages"]["target_counts"]["deps"].remove("src/penguins_ml/core")
    (project / "dvc.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
    check = run([*PYTEST, "tests/test_config.py", "-k", "every_module"], cwd=project, check=False)
    assert check.returncode == 1 and "target_counts" in check.stdout
