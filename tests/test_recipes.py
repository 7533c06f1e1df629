"""The generated README's extension recipes, done exactly as written on a baked project,
then `dvc repro` and the project's own tests."""

from __future__ import annotations

import json
import re
import shlex
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from .conftest import dvc, run, stages_run

pytestmark = pytest.mark.slow

PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]


def own_tests_pass(project: Path, *files: str) -> None:
    """The project's own fast tests in ``files`` (those a recipe's change could break:
    the whole fast layer takes two minutes, and the checks workflow's test runs it all)."""
    result = run([*PYTEST, "-m", "not slow", *(f"tests/{name}" for name in files)], cwd=project)
    summary = result.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary, summary


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
    for line in filter(None, block.replace("\\\n", " ").splitlines()):
        tool, *args = shlex.split(line)
        prefix = [sys.executable, "-m", "dvc"] if tool == "dvc" else [sys.executable]
        result = run([*prefix, *args], cwd=project)
        if args[:1] == ["repro"]:
            ran.append(stages_run(result))
    return ran


def test_adding_a_stage_with_its_own_config_section(reproduced_project, copy_of):
    project = copy_of(reproduced_project)
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
    own_tests_pass(project, "test_config.py")

    # The project's check that each stage depends on what it imports covers the new one.
    pipeline = yaml.safe_load((project / "dvc.yaml").read_text())
    pipeline["stages"]["target_counts"]["deps"].remove("src/penguins_ml/core/files.py")
    (project / "dvc.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
    check = run(
        [*PYTEST, "tests/test_config.py", "-k", "exactly_the_modules"], cwd=project, check=False
    )
    assert check.returncode == 1 and "target_counts" in check.stdout
    assert "src/penguins_ml/core/files.py" in check.stdout  # named, to add


def test_using_a_model_from_another_library(reproduced_project, copy_of):
    project = copy_of(reproduced_project)
    readme = project / "README.md"
    install, allow, model_file, experiment, make_default = recipe(
        readme, "Use a model from another library"
    )
    assert "lightgbm.LGBMClassifier" in model_file
    run_commands(install, project)
    modeling = project / "src/penguins_ml/modeling.py"
    code, count = re.subn(r"(?m)^MODEL_LIBRARIES = .*\n", allow, modeling.read_text())
    assert count == 1
    modeling.write_text(code)
    (project / "conf/model/lightgbm.yaml").write_text(model_file)

    run_commands(experiment, project)
    metrics = json.loads((project / "reports/metrics.json").read_text())
    assert metrics["accuracy"] > 0.9, metrics
    metadata = json.loads((project / "models/metadata.json").read_text())
    assert metadata["model"]["class"] == "lightgbm.LGBMClassifier"

    config = project / "conf/config.yaml"
    config.write_text(re.sub(r"(?m)^  - model: \w+", "  - model: lightgbm", config.read_text()))
    assert run_commands(make_default, project) == [[]], "the experiment's results are reused"
    batch = project / "predictions.parquet"
    raw = "data/raw/penguins-raw.csv"
    run([sys.executable, "-m", "penguins_ml", "predict", "--input", raw, "--output", str(batch)],
        cwd=project)  # fmt: skip
    assert len(pd.read_parquet(batch)) == 344
    served = run([sys.executable, "-c", SERVE_METADATA], cwd=project).stdout
    assert json.loads(served)["model"]["class"] == "lightgbm.LGBMClassifier"
    own_tests_pass(project, "test_config.py", "test_train_and_evaluate.py")


SERVE_METADATA = """
import json
from fastapi.testclient import TestClient
from penguins_ml.ops.serve import create_app
print(json.dumps(TestClient(create_app()).get("/metadata").json()))
"""


GATE = """
import json
from penguins_ml.core.config import load_params
from penguins_ml.evaluation.gate import check_limits
scores = json.load(open("reports/metrics.json"))
print(*(v.metric for v in check_limits(scores, scores, load_params().review.limits, "params.yaml")))
"""


def test_adding_a_metric(reproduced_project, copy_of):
    """One line in METRICS and a limit: the metric is in metrics.json, the decision, the
    card, and the gate refuses a limit on it in the wrong direction."""
    project = copy_of(reproduced_project)
    declaration, limit, commands = recipe(project / "README.md", "Add or rename a metric")
    module = project / "src/penguins_ml/metrics.py"
    code = module.read_text()
    assert "METRICS = {\n" in code
    module.write_text(code.replace("METRICS = {\n", "METRICS = {\n" + declaration, 1))
    review = project / "conf/review/default.yaml"
    review.write_text(review.read_text().replace("limits:\n", "limits:\n" + limit, 1))

    assert run_commands(commands, project) == [["train", "evaluate", "report"]]
    metrics = json.loads((project / "reports/metrics.json").read_text())
    assert 0.8 < metrics["mcc"] <= 1, metrics
    decision = json.loads((project / "reports/decision.json").read_text())
    assert decision["against_baseline"]["mcc"]["beats"] is True
    assert re.search(
        r"(?m)^\| mcc \| 0\.9\d* \| 0 \|$", (project / "reports/model_card.md").read_text()
    )
    gated = run([sys.executable, "-c", GATE], cwd=project).stdout.split()
    assert "mcc" in gated  # the limits the PR report and the champion check
    own_tests_pass(project, "test_config.py", "test_train_and_evaluate.py", "test_review.py")
    review.write_text(review.read_text().replace("mcc: {max_drop:", "mcc: {max_rise:"))
    run([sys.executable, "-m", "penguins_ml", "compose"], cwd=project)
    refused = run([sys.executable, "-c", GATE], cwd=project, check=False)
    assert "review.limits.mcc: higher is better for mcc, so give max_drop" in refused.stderr


def test_adding_a_derived_feature(reproduced_project, copy_of):
    project = copy_of(reproduced_project)
    feature, commands = recipe(project / "README.md", "Add a derived feature")
    features = project / "conf/features/default.yaml"
    text = features.read_text().replace("derived:\n", "derived:\n" + feature, 1)
    features.write_text(text.replace("numeric: [", "numeric: [culmen_area, ", 1))

    stages = ["featurize", "split", "train", "evaluate", "profile", "report"]
    assert run_commands(commands, project) == [stages]
    importance = pd.read_csv(project / "reports/plots/importance.csv")
    assert "culmen_area" in set(importance["feature"])
