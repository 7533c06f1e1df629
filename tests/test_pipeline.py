"""Layer 3: `dvc repro` in baked projects, with real git and real DVC."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

from .browser import open_offline
from .conftest import REPRO_OUTPUT, dvc, run, stages_run

pytestmark = pytest.mark.slow

ALL_STAGES = ["clean", "featurize", "split", "train", "evaluate", "profile", "report"]
AFTER_TRAINING = ["train", "evaluate", "profile", "report"]
# Without the operations half there is no profile stage (the drift monitor's reference).
WITHOUT_OPERATIONS = {"yes": [], "no": ["profile"]}
METRIC_FILES = [
    "reports/metrics.json",
    "reports/validation_metrics.json",
    "reports/slice_metrics.json",
]
# The demo-quality bars: (task, metric, lowest acceptable value on the test split)
QUALITY = {"classification": ("accuracy", 0.95), "regression": ("r2", 0.8)}
# A model parameter of each task's default model, and a new value for it
MODEL_PARAMETER = {"classification": ("C", 0.5), "regression": ("alpha", 3.0)}
PLOTS = {
    "classification": {
        "reports/plots/importance.csv",
        "reports/tuning_candidates.csv",
        "reports/plots/confusion.csv",
        *(f"reports/plots/{kind}/{cls}.csv" for kind in ("roc", "precision_recall")
          for cls in ("Adelie", "Chinstrap", "Gentoo")),
    },
    "regression": {
        "reports/plots/importance.csv",
        "reports/tuning_candidates.csv",
        "Predicted vs actual",
        "Residuals",
    },
}  # fmt: skip


def read_metrics(project: Path) -> dict[str, bytes]:
    return {name: (project / name).read_bytes() for name in METRIC_FILES}


def set_model_parameter(project: Path, key: str, value: float) -> None:
    params_path = project / "params.yaml"
    params = yaml.safe_load(params_path.read_text())
    params["model"][key] = value
    params_path.write_text(yaml.safe_dump(params, sort_keys=False))


@pytest.mark.parametrize(("task", "operations"), [("classification", "yes"), ("regression", "no")])
def test_repro_runs_everything_once_and_reruns_only_what_changed(
    baked, reproduced_project, copy_of, task, operations
):
    all_stages = [s for s in ALL_STAGES if s not in WITHOUT_OPERATIONS[operations]]
    after_training = [s for s in AFTER_TRAINING if s not in WITHOUT_OPERATIONS[operations]]
    if (task, operations) == ("classification", "yes"):  # the default project, reproduced
        project = copy_of(reproduced_project)  # once per run, for every test that needs it
        first = (reproduced_project.parent / REPRO_OUTPUT).read_text()
    else:
        project = copy_of(baked(task=task, operations=operations))
        first = dvc("repro", cwd=project).stdout
    assert stages_run(first) == all_stages
    metrics = json.loads((project / "reports/metrics.json").read_text())
    metric, lowest = QUALITY[task]
    assert metrics[metric] >= lowest, metrics
    quality = json.loads((project / "reports/data_quality.json").read_text())
    assert quality["rows_in"] == 344
    assert quality["rows_in"] - quality["rows_out"] == sum(quality["rows_dropped"].values())
    rendered = json.loads(dvc("plots", "show", "--json", cwd=project).stdout)["data"]
    assert set(rendered) == PLOTS[task]
    slices = json.loads((project / "reports/slice_metrics.json").read_text())
    assert set(slices) == {"sex", "island"}
    assert set(slices["island"]["groups"]) == {"Biscoe", "Dream", "Torgersen"}

    assert json.loads(dvc("status", "--json", cwd=project).stdout) == {}
    assert stages_run(dvc("repro", cwd=project)) == []

    cold = read_metrics(project)
    assert stages_run(dvc("repro", "--force", cwd=project)) == all_stages
    assert read_metrics(project) == cold

    set_model_parameter(project, *MODEL_PARAMETER[task])
    # Nothing before training reads model params. Evaluate reads them too (the model card
    # records them); profile follows because it reads the model.
    assert set(json.loads(dvc("status", "--json", cwd=project).stdout)) == {"train", "evaluate"}
    assert stages_run(dvc("repro", cwd=project)) == after_training
    assert not (project / "outputs").exists(), "a stage created Hydra run directories"


def break_raw_data(project: Path, how: str) -> None:
    raw = project / "data/raw/penguins-raw.csv"
    raw.chmod(0o644)  # DVC may leave tracked files read-only
    lines = raw.read_text().splitlines()
    if how == "missing column":
        lines[0] = lines[0].replace("Species,", "Kind,")
    elif how == "text in numeric column":
        lines[5] = lines[5].replace(",3450,", ",heavy,")  # file line 6
    raw.write_text("" if how == "empty file" else "\n".join(lines) + "\n")


BROKEN = {
    "missing column": "missing column(s) 'Species'",
    "text in numeric column": ("column 'Body Mass (g)' fails not float: 'heavy' (line 6)"),
    "empty file": "data/raw/penguins-raw.csv is empty",
}


@pytest.mark.parametrize("how", BROKEN)
def test_raw_data_breaking_the_schema_stops_clean_and_leaves_nothing(baked, copy_of, how):
    project = copy_of(baked())
    break_raw_data(project, how)
    result = dvc("repro", "clean", cwd=project, check=False)
    assert result.returncode != 0
    assert BROKEN[how] in result.stderr
    assert "Traceback" not in result.stderr
    assert not (project / "data/interim/clean.parquet").exists()
    assert not (project / "reports/data_quality.json").exists()


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_project_without_data_stops_naming_the_missing_file(baked, copy_of, task):
    project = copy_of(baked(task=task, demo_data="none"))
    result = dvc("repro", cwd=project, check=False)
    assert result.returncode != 0
    assert "data/raw/data.csv" in result.stdout + result.stderr
    assert not (project / "data/interim").exists()
    # Run directly, the stage says how to fix it.
    stage = run([sys.executable, "-m", "penguins_ml.stages.clean"], cwd=project, check=False)
    assert stage.returncode == 1 and "Traceback" not in stage.stderr
    assert "data/raw/data.csv not found" in stage.stderr
    assert "dvc add data/raw/data.csv" in stage.stderr


# The generated tests' own fixtures build the page from a real model whose class label
# and slice group are a script in disguise: one that closes a <script> block, one that
# runs on an image's error, both retitling the page if they ever ran.
HOSTILE_LABEL = (
    '</script><script>document.title="RAN"</script><img src=x onerror="document.title=\'RAN\'">'
)
HOSTILE_PAGE = f"""
import sys
from pathlib import Path
sys.path.insert(0, "tests")
from helpers import make_tabular, params_for_tabular
from test_report_page import results_of
from penguins_ml.model_card.report_page import report_page
label = {HOSTILE_LABEL!r}
frame = make_tabular(120)
frame["label"] = frame["label"].replace("high", label)
frame["colour"] = frame["colour"].replace("red", label)
work = Path(sys.argv[1])
work.mkdir()
Path(sys.argv[2]).write_text(report_page(results_of(frame, params_for_tabular(), work)))
"""
# The same label as a category level and a predicted class new to a monitored batch.
HOSTILE_DRIFT_PAGE = f"""
import sys
from pathlib import Path
sys.path.insert(0, "tests")
from helpers import make_tabular
from test_operations import THRESHOLDS
from penguins_ml.data.drift import profile
from penguins_ml.ops.drift_page import drift_page
from penguins_ml.ops.monitor import drift_report
label = {HOSTILE_LABEL!r}
train = make_tabular(300)
reference = {{"rows": 300, "prediction": profile(train.label, True, 10, 0), "features": {{
    "x": profile(train.x, False, 10, 0), "colour": profile(train.colour, True, 10, 0)}}}}
batch = make_tabular(300, seed=1).assign(colour=label)
report = drift_report(batch, batch.label.replace("high", label), reference, THRESHOLDS)
Path(sys.argv[1]).write_text(drift_page(Path("data/batches/" + label + ".csv"), report))
"""


def test_a_hostile_class_label_runs_nothing_in_the_pages_opened_in_chromium(baked, tmp_path):
    project = baked()
    report, drift = tmp_path / "hostile-report.html", tmp_path / "hostile-drift.html"
    run([sys.executable, "-c", HOSTILE_PAGE, str(tmp_path / "work"), str(report)], cwd=project)
    run([sys.executable, "-c", HOSTILE_DRIFT_PAGE, str(drift)], cwd=project)
    for page, charts in ((report, 5), (drift, 3)):
        assert "document.title" in page.read_text()  # the label is there, as text
        seen = open_offline(page, page.stem)
        assert seen.title != "RAN", "a script from the data ran (it sets the title to RAN)"
        assert (seen.errors, seen.requests) == ([], []), "the page tried to load something"
        assert len(seen.charts) >= charts and all(w > 0 and h > 0 for w, h in seen.charts)
