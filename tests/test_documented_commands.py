"""Every command the READMEs document, run as written (each is first found in its README)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from .conftest import BIN, TEMPLATE, copy_of_template, dvc, free_port, run, stages_run, tool_env
from .messy_data import REGIONS, breast_cancer_csv, diabetes_csv

pytestmark = pytest.mark.slow


def bash_blocks(readme: Path) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", readme.read_text(), flags=re.DOTALL)


def documented(readme: Path, command: str) -> list[str]:
    """The command as argv, after checking the README shows it exactly so."""
    assert command in readme.read_text(), f"{readme.name} no longer documents `{command}`"
    return command.split()


def test_quickstart_generates_and_reproduces_a_project(tmp_path):
    generate, test_command = (block.strip() for block in bash_blocks(TEMPLATE / "README.md")[:2])
    assert test_command == ".venv/bin/python -m pytest -n 2"
    assert test_command in (TEMPLATE / ".ci/run").read_text()
    checkout = copy_of_template(tmp_path / "template")
    env = tool_env(PATH=tool_env()["PATH"].split(":", 1)[1])  # not this test run's venv
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a user's Python writes bytecode once
    result = subprocess.run(
        ["bash", "-c", generate],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Running stage 'evaluate'" in result.stdout
    assert "reports/metrics.json" in result.stdout and "accuracy" in result.stdout
    assert "rows_in" not in result.stdout, "the quickstart shows the test metrics only"
    assert (checkout / "demo/penguins-ml/dvc.lock").is_file()
    readme = (TEMPLATE / "README.md").read_text()
    assert "open `demo/penguins-ml/reports/report.html`" in readme
    assert "<svg" in (checkout / "demo/penguins-ml/reports/report.html").read_text()


def test_generated_readme_commands(reproduced_project, copy_of):
    project = copy_of(reproduced_project)
    readme = project / "README.md"
    package = "penguins_ml"
    # Reproduced already, as the quickstart and the pipeline tests reproduce it from scratch.
    assert stages_run(dvc(*documented(readme, "dvc repro")[1:], cwd=project)) == []
    shown = dvc(*documented(readme, "dvc metrics show")[1:], cwd=project).stdout
    assert "reports/metrics.json" in shown and "accuracy" in shown
    dvc(*documented(readme, "dvc plots show")[1:], cwd=project)
    assert (project / "dvc_plots/index.html").is_file()

    compose = [sys.executable, *documented(readme, f"python -m {package} compose")[1:]]
    check = [sys.executable, *documented(readme, f"python -m {package} compose --check")[1:]]
    run(check, cwd=project)
    (project / "conf/split/default.yaml").write_text("test_size: 0.25\nvalidation_size: 0.2\n")
    stale = run(check, cwd=project, check=False)
    assert stale.returncode == 1
    assert "split.test_size" in stale.stderr and "Traceback" not in stale.stderr
    run(compose, cwd=project)
    run(check, cwd=project)
    assert stages_run(dvc("repro", cwd=project)) == [
        "split",
        "train",
        "evaluate",
        "profile",
        "report",
    ]

    for command in (
        "dvc exp run -S model=random_forest -S model.n_estimators=300",
        "dvc exp run -S experiment=forest",
        "dvc exp run -S tuning.enabled=true",
    ):
        # Only training and what follows it rerun: params.yaml is recomposed from conf/.
        assert stages_run(dvc(*documented(readme, command)[1:], cwd=project)) == [
            "train",
            "evaluate",
            "profile",
            "report",
        ]
        if "n_estimators=300" in command:
            params = yaml.safe_load((project / "params.yaml").read_text())
            assert params["model"]["_target_"] == "sklearn.ensemble.RandomForestClassifier"
            assert params["model"]["n_estimators"] == 300
            assert params["model"]["random_state"] == params["seed"]  # ${seed} resolved
    assert json.loads((project / "reports/tuning.json").read_text())["enabled"] is True
    shown = dvc(*documented(readme, "dvc exp show --only-changed")[1:], "--json", cwd=project)
    runs = [e for c in json.loads(shown.stdout) for e in c.get("experiments") or []]
    names = [e["name"] for e in runs]
    assert len(names) == 3
    oldest = runs[-1]["revs"][0]["data"]
    assert oldest["params"]["params.yaml"]["data"]["model"]["n_estimators"] == 300
    assert "accuracy" in oldest["metrics"]["reports/metrics.json"]["data"]
    command = "dvc exp show --only-changed --drop '.*search_space.*'"
    drop = [word.strip("'") for word in documented(readme, command)[1:]]  # as bash passes it
    narrow = dvc(*drop, "--md", cwd=project).stdout
    wide = dvc(*documented(readme, "dvc exp show --only-changed")[1:], "--md", cwd=project).stdout
    header, wide_header = (
        next(row for row in table.splitlines() if row.startswith("|")) for table in (narrow, wide)
    )
    assert "search_space" not in header and "accuracy" in header
    assert "search_space" in wide_header and header.count("|") < wide_header.count("|")

    first = names[-1]  # the list is newest first: this is n_estimators=300
    documented(readme, "dvc exp apply <experiment-name>")
    dvc("exp", "apply", first, cwd=project)
    documented(readme, "git checkout -b <branch-name>")
    run(["git", "checkout", "--quiet", "-b", "promoted"], cwd=project)
    documented(readme, 'git add --all && git commit -m "Promote <experiment-name>"')
    run(["git", "add", "--all"], cwd=project)
    run(["git", "commit", "--quiet", "-m", f"Promote {first}"], cwd=project)
    promoted = yaml.safe_load((project / "params.yaml").read_text())["model"]
    assert promoted["n_estimators"] == 300
    assert json.loads(dvc("status", "--json", cwd=project).stdout) == {}


MESSY_TABLES = {  # task: (builder, file name, target header)
    "classification": (breast_cancer_csv, "breast-cancer.csv", "Diagnosis"),
    "regression": (diabetes_csv, "diabetes.csv", "Progression (1 year)"),
}
API_CHECK = """
import json, sys
import pandas as pd
from fastapi.testclient import TestClient
from penguins_ml.ops.serve import create_app
records = json.loads(open(sys.argv[1]).read())
answer = TestClient(create_app()).post("/predict", json=records)
print(json.dumps([answer.status_code, answer.json()]))
"""


@pytest.mark.parametrize("task", MESSY_TABLES)
def test_bring_your_own_messy_table_with_no_hand_edits(baked, copy_of, task, tmp_path):
    """The README's steps on a project generated without data, with a table we had not seen."""
    build, name, target = MESSY_TABLES[task]
    project = copy_of(baked(task=task, demo_data="none"))
    readme = project / "README.md"
    raw = build(project / "data/raw" / name).relative_to(project)
    documented(readme, "dvc add data/raw/<file>.csv")
    dvc("add", str(raw), cwd=project)
    documented(readme, "git add data/raw/<file>.csv.dvc data/raw/.gitignore")
    run(["git", "add", f"{raw}.dvc", "data/raw/.gitignore"], cwd=project)
    command = "python -m penguins_ml draft-schema data/raw/<file>.csv --target <column>"
    draft = documented(readme, command)[1:4]
    run([sys.executable, *draft, str(raw), "--target", target], cwd=project)
    assert stages_run(dvc(*documented(readme, "dvc repro")[1:], cwd=project)) == [
        "clean", "featurize", "split", "train", "evaluate", "profile", "report",
    ]  # fmt: skip

    metrics = json.loads((project / "reports/metrics.json").read_text())
    assert metrics["f1_macro" if task == "classification" else "r2"] > 0.3, metrics
    quality = json.loads((project / "reports/data_quality.json").read_text())
    assert quality["rows_dropped"] == {"duplicate": 6, "missing_target": 5}
    clean = pd.read_parquet(project / "data/interim/clean.parquet")
    assert set(clean["sales_region"]) == REGIONS  # six spellings folded into three

    drafted = project / "conf/data" / f"{raw.stem.replace('-', '_')}.yaml"
    markers = yaml.safe_load(drafted.read_text())["na_values"]
    table = pd.read_csv(project / raw, dtype=str, keep_default_na=False)
    marked = table[table.drop(columns=[target]).isin(markers).any(axis=1)]
    rows = pd.concat([table.head(10), marked.head(10)])  # markers as written, "?" and "-"
    assert len(marked) >= 10
    batch = tmp_path / "batch.csv"
    rows.drop(columns=[target]).to_csv(batch, index=False)
    predict = ["predict", "--input", str(batch), "--output", str(tmp_path / "out.parquet")]
    run([sys.executable, "-m", "penguins_ml", *predict], cwd=project)
    batch_predictions = pd.read_parquet(tmp_path / "out.parquet")["prediction"].tolist()
    records = rows.to_dict("records")  # the target too: the API ignores it
    (tmp_path / "records.json").write_text(json.dumps(records))
    answered = run([sys.executable, "-c", API_CHECK, str(tmp_path / "records.json")], cwd=project)
    status, body = json.loads(answered.stdout)
    assert status == 200, body
    assert [p["prediction"] for p in body["predictions"]] == batch_predictions


def test_pull_request_checks_and_the_demo_remote_as_documented(
    reproduced_project, copy_of, tmp_path
):
    project = copy_of(reproduced_project)  # main: reproduced and committed
    readme = project / "README.md"
    run(["git", "checkout", "--quiet", "-b", "halve-c"], cwd=project)
    model = project / "conf/model/logistic_regression.yaml"
    model.write_text(model.read_text().replace("C: 1.0", "C: 0.5"))
    run([sys.executable, "-m", "penguins_ml", "compose"], cwd=project)
    dvc(*documented(readme, "dvc repro")[1:], cwd=project)
    run(["git", "add", "--all"], cwd=project)
    run(["git", "commit", "--quiet", "-m", "Halve C"], cwd=project)

    verify = documented(readme, "python -m penguins_ml verify")
    assert "match HEAD" in run([sys.executable, *verify[1:]], cwd=project).stdout
    report = documented(readme, "python -m penguins_ml report --base main")
    shown = run([sys.executable, *report[1:]], cwd=project).stdout
    assert "| `model.C` | 1 | 0.5 |" in shown and "**Quality gate passed**" in shown
    assert (project / "pipeline-report/report.md").read_text() == shown.rstrip("\n") + "\n"
    assert (project / "pipeline-report/report.html").is_file()
    assert not (project / "pipeline-report/plots").exists()  # DVC's page runs scripts

    documented(readme, "dvc push data/raw/<file>.csv.dvc")
    raw = "data/raw/penguins-raw.csv"
    dvc("push", f"{raw}.dvc", cwd=project)
    clone = tmp_path / "clone"
    run(["git", "clone", "--quiet", str(project), str(clone)], cwd=tmp_path)
    dvc(*documented(readme, "dvc pull --allow-missing")[1:], cwd=clone)
    assert (clone / raw).read_bytes() == (project / raw).read_bytes()


def test_dask_engine_commands_run_on_a_local_and_on_a_given_cluster(baked, copy_of, tmp_path):
    project = copy_of(baked())
    readme = project / "README.md"
    every_stage = ["clean", "featurize", "split", "train", "evaluate", "profile", "report"]
    local = documented(readme, "dvc exp run -S compute.engine=dask")
    assert stages_run(dvc(*local[1:], cwd=project)) == every_stage
    assert (project / "data/interim/clean.parquet").is_dir()
    assert (project / "data/processed/train.parquet/part-00000.parquet").is_file()

    given = "DASK_SCHEDULER_ADDRESS=tcp://10.0.0.5:8786 dvc exp run -S compute.engine=dask"
    setting, *command = documented(readme, given)
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    log = tmp_path / "scheduler.log"
    other = tmp_path / "given" / project.name  # a second copy, not yet on dask
    shutil.copytree(baked(), other, symlinks=True)
    with log.open("w") as output:
        cluster = [
            subprocess.Popen(
                [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port)],
                stdout=output,
                stderr=output,
                env=tool_env(PYTHONPATH=str(other / "src")),  # it unpickles the tasks
            ),
            subprocess.Popen(
                [str(BIN / "dask"), "worker", address, "--nthreads", "1", "--no-dashboard"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=tool_env(PYTHONPATH=str(other / "src")),
            ),
        ]
        try:
            assert setting.startswith("DASK_SCHEDULER_ADDRESS=")
            ran = run([sys.executable, "-m", *command], cwd=other, DASK_SCHEDULER_ADDRESS=address)
        finally:
            for process in cluster:
                process.terminate()
                process.wait(timeout=30)
    assert stages_run(ran) == every_stage
    assert "Receive client connection" in log.read_text()
