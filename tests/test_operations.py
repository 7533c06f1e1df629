"""The operation half, end to end in baked projects: predict, serve, monitor, release, replace.

Real git, DVC, GTO tags and a real uvicorn server on 127.0.0.1; every command is the one
the generated README documents.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
import yaml

from .browser import open_offline
from .conftest import copy_project, dvc, free_port, run, stages_run, tool_env

pytestmark = pytest.mark.slow

PACKAGE = "penguins_ml"
RAW = "data/raw/penguins-raw.csv"
NA_MARKERS = {"NA", ".", ""}  # conf/data/penguins.yaml
MODEL_CONF = "conf/model/logistic_regression.yaml"


def python(project: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return run([sys.executable, *args], cwd=project, check=check)


def package(project: Path, command: str, *args: str, check: bool = True):
    """``python -m <package> <command> ...`` in the project, as its README documents it."""
    return python(project, "-m", PACKAGE, command, *args, check=check)


def gto(project: Path, *args: str) -> str:
    return run([str(Path(sys.executable).with_name("gto")), *args], cwd=project).stdout.strip()


def commit(project: Path, message: str) -> None:
    run(["git", "add", "--all"], cwd=project)
    run(["git", "commit", "--quiet", "-m", message], cwd=project)


@pytest.fixture(scope="module")
def reproduced(reproduced_project, tmp_path_factory) -> Path:
    """The default project with its pipeline reproduced and committed: this module's copy."""
    return copy_project(reproduced_project, tmp_path_factory.mktemp("reproduced"))


def fetch_prod_model(project: Path, consumer: Path, output: str) -> bytes:
    """The bytes of the model in the prod stage, fetched as a downstream consumer would."""
    dvc("artifacts", "get", str(project), "model", "--stage", "prod", "-o", output, cwd=consumer)
    return (consumer / output).read_bytes()


def raw_records(path: Path) -> list[dict]:
    """The raw CSV's rows as JSON records, with its missing-value markers as null."""
    with path.open(newline="") as handle:
        return [
            {k: (None if v in NA_MARKERS else v) for k, v in row.items()}
            for row in csv.DictReader(handle)
        ]


def pipelines_own_predictions(project: Path) -> list:
    """What the model predicts for every cleaned, featurized row, via the stages' outputs."""
    script = (
        "import json, pandas as pd\n"
        f"from {PACKAGE}.core.estimators import model_inputs\n"
        f"from {PACKAGE}.modeling import load_model\n"
        f"from {PACKAGE}.core.config import load_params\n"
        "params = load_params()\n"
        "features = pd.read_parquet('data/processed/features.parquet')\n"
        "inputs = model_inputs(features, params.features)\n"
        "model = load_model('models/model.skops', params)\n"
        "print(json.dumps(model.predict(inputs).tolist()))\n"
    )
    return json.loads(python(project, "-c", script).stdout)


def call(url: str, payload=None) -> tuple[int, dict]:
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_batch_and_api_predictions_equal_the_pipelines_own(reproduced, tmp_path):
    readme = (reproduced / "README.md").read_text()
    quality = json.loads((reproduced / "reports/data_quality.json").read_text())
    assert quality["rows_in"] == quality["rows_out"], "rows must line up one to one"
    expected = pipelines_own_predictions(reproduced)

    assert f"python -m {PACKAGE} predict --input new.csv --output predictions.parquet" in readme
    output = tmp_path / "predictions.parquet"
    package(reproduced, "predict", "--input", RAW, "--output", str(output))
    batch = pd.read_parquet(output)
    assert batch["prediction"].tolist() == expected
    assert batch["line"].tolist() == list(range(2, len(expected) + 2))

    documented = f"python -m {PACKAGE} serve --port 8000"
    assert documented in readme
    port = free_port()
    command = [sys.executable, *documented.split()[1:-1], str(port)]
    server = subprocess.Popen(
        command,
        cwd=reproduced,
        env=tool_env(PYTHONPATH=str(reproduced / "src")),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        status, health = once_up(f"{base}/health", server)
        assert (status, health["status"]) == (200, "ok")
        status, answer = call(f"{base}/predict", raw_records(reproduced / RAW))
        assert status == 200, answer
        assert [row["prediction"] for row in answer["predictions"]] == expected
        assert answer["model_version"] == batch["model_version"][0] == health["model_version"]
        status, metadata = call(f"{base}/metadata")
        assert metadata["training_data"]["md5"] == yaml_md5(reproduced / f"{RAW}.dvc")
        assert metadata["test_metrics"] == json.loads(
            (reproduced / "reports/metrics.json").read_text()
        )

        bad = {**raw_records(reproduced / RAW)[0], "Island": "Atlantis", "Body Mass (g)": "heavy"}
        status, refusal = call(f"{base}/predict", bad)
        fields = {tuple(error["loc"][-1:]) for error in refusal["detail"]}
        assert status == 422 and {("Island",), ("Body Mass (g)",)} <= fields
        status, refusal = call(f"{base}/predict", [])
        assert status == 422 and "at least 1 item" in json.dumps(refusal)
        assert "Traceback" not in json.dumps(refusal)
    finally:
        server.terminate()
        server.wait(timeout=10)


def once_up(url: str, server: subprocess.Popen, limit: float = 90) -> tuple[int, dict]:
    """GET ``url`` as soon as the server answers (it loads the model first)."""
    deadline = time.monotonic() + limit
    while True:
        try:
            return call(url)
        except (urllib.error.URLError, ConnectionError):
            assert server.poll() is None, server.stderr.read()
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.3)


def yaml_md5(pointer: Path) -> str:
    return yaml.safe_load(pointer.read_text())["outs"][0]["md5"]


def write_batch(project: Path, path: Path, change) -> Path:
    raw = pd.read_csv(project / RAW, dtype=str, keep_default_na=False)
    change(raw).to_csv(path, index=False)
    return path


def shift(raw: pd.DataFrame) -> pd.DataFrame:
    """The issue's injected shift: body mass scaled by 1.3 and one island removed."""
    shifted = raw[raw["Island"] != "Torgersen"].copy()
    mass = pd.to_numeric(shifted["Body Mass (g)"], errors="coerce") * 1.3
    shifted["Body Mass (g)"] = mass.round().astype("Int64").astype(str).replace("<NA>", "NA")
    return shifted


def test_monitor_flags_an_injected_shift_and_passes_a_fresh_sample(reproduced, tmp_path):
    readme = (reproduced / "README.md").read_text()
    assert f"python -m {PACKAGE} monitor --input new.csv" in readme
    fresh = write_batch(
        reproduced, tmp_path / "fresh.csv", lambda raw: raw.sample(150, random_state=7)
    )
    result = package(reproduced, "monitor", "--input", str(fresh), "--output", str(tmp_path / "ok"))
    report = json.loads((tmp_path / "ok/drift.json").read_text())
    assert (report["status"], report["drifted_columns"]) == ("ok", []), result.stdout
    # The rows carry their labels (Species): the model is scored on them too.
    assert report["performance"]["metric"] == "f1_macro"
    assert report["performance"]["status"] == "ok" and report["performance"]["score"] > 0.9
    assert "Performance on 150 labelled rows: `f1_macro`" in result.stdout
    page = (tmp_path / "ok/drift.html").read_text()  # beside drift.md, for people
    assert "Status: <strong>ok</strong>" in page and page.count("<svg") == 8  # 7 inputs

    def permuted(raw: pd.DataFrame) -> pd.DataFrame:
        sample = raw.sample(150, random_state=7)
        return sample.assign(Species=sample["Species"].sample(frac=1, random_state=1).to_numpy())

    wrong = write_batch(reproduced, tmp_path / "permuted.csv", permuted)
    out = tmp_path / "permuted"
    result = package(
        reproduced, "monitor", "--input", str(wrong), "--output", str(out), check=False
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "performance dropped" in result.stderr and "`f1_macro`" in result.stderr
    assert json.loads((out / "drift.json").read_text())["drifted_columns"] == []

    # The history remembers each batch once, however often it is checked. DVC draws
    # plots of files inside the project only: this one is removed afterwards.
    history_dir = reproduced / "reports" / "monitoring-history-test"
    for batch in (fresh, wrong, fresh):
        package(
            reproduced, "monitor", "--input", str(batch), "--output", str(history_dir), check=False
        )
    history = pd.read_csv(history_dir / "history.csv")
    try:
        assert list(history["batch"]) == ["permuted.csv", "fresh.csv"]
        assert list(history["status"]) == ["performance dropped", "ok"]
        assert (history["f1_macro"] < history["test_f1_macro"]).tolist() == [True, False]
        readme = (reproduced / "README.md").read_text()
        plot = "dvc plots show reports/monitoring/history.csv -x batch -y f1_macro"
        assert plot in readme
        command = plot.replace("reports/monitoring", str(history_dir)).split()[1:]
        shown = dvc(*command, "--json", cwd=reproduced)
    finally:
        shutil.rmtree(history_dir)
    assert "fresh.csv" in shown.stdout and '"f1_macro"' in shown.stdout

    shifted = write_batch(reproduced, tmp_path / "shifted.csv", shift)
    out = tmp_path / "shifted"
    result = package(
        reproduced, "monitor", "--input", str(shifted), "--output", str(out), check=False
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    report = json.loads((out / "drift.json").read_text())
    assert {"body_mass_g", "island"} <= set(report["drifted_columns"])
    assert report["invalid_rows"] > 0  # heavier than the schema's 7000 g allows
    assert "body_mass_g" in (out / "drift.md").read_text()
    page = (out / "drift.html").read_text()
    assert "Status: <strong>schema violations</strong>" in page and "body_mass_g: drift" in page


def test_reports_open_offline_in_chromium_and_the_history_reaches_the_project_report(
    reproduced, copy_of, tmp_path
):
    project = copy_of(reproduced)
    fresh = write_batch(
        project, tmp_path / "fresh.csv", lambda raw: raw.sample(150, random_state=7)
    )
    shifted = write_batch(project, tmp_path / "shifted.csv", shift)
    package(project, "monitor", "--input", str(fresh))  # into reports/monitoring/
    clean_page = tmp_path / "drift-clean.html"
    shutil.copyfile(project / "reports/monitoring/drift.html", clean_page)
    assert package(project, "monitor", "--input", str(shifted), check=False).returncode == 1
    # The history is a dependency of the report stage: only the report is redrawn.
    assert stages_run(dvc("repro", cwd=project)) == ["report"]
    report = project / "reports/report.html"
    text = report.read_text()
    assert report.stat().st_size < 5 * 2**20
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text), "the report loads nothing"
    history = text[text.index("<h2>Monitoring history</h2>") :]
    assert "fresh.csv" in history and '<td class="flagged">schema violations</td>' in history

    pages = {
        "project-report": report,
        "drift-clean": clean_page,
        "drift-shifted": project / "reports/monitoring/drift.html",
    }
    for name, page in pages.items():
        seen = open_offline(page, name)
        assert (seen.errors, seen.requests) == ([], []), name
        assert len(seen.charts) >= 8, (name, seen.charts)  # 7 inputs and the predictions
        assert all(width > 100 and height > 50 for width, height in seen.charts), name
        assert seen.screenshot.stat().st_size > 20_000 and seen.height > 900


BAD_BATCHES = {
    "missing column": (lambda raw: raw.drop(columns=["Island"]), "missing column(s) 'Island'"),
    "wrong type": (
        lambda raw: raw.assign(**{"Culmen Length (mm)": "long"}),
        "column 'Culmen Length (mm)' fails not float: 'long' (line 2)",
    ),
    "unknown category": (
        lambda raw: raw.assign(Island="Atlantis"),
        "column 'Island' fails isin(['Biscoe', 'Dream', 'Torgersen']): 'Atlantis' (line 2)",
    ),
    "empty batch": (lambda raw: raw.head(0), "has a header but no data rows"),
}


@pytest.mark.parametrize("case", BAD_BATCHES)
def test_bad_batches_are_refused_by_predict_and_monitor(reproduced, tmp_path, case):
    change, message = BAD_BATCHES[case]
    batch = write_batch(reproduced, tmp_path / "batch.csv", change)
    output = tmp_path / "predictions.parquet"
    predicted = package(
        reproduced, "predict", "--input", str(batch), "--output", str(output), check=False
    )
    assert predicted.returncode == 1 and message in predicted.stderr
    assert "Traceback" not in predicted.stderr and not output.exists()
    report_dir = str(tmp_path / "monitor")
    monitored = package(
        reproduced, "monitor", "--input", str(batch), "--output", report_dir, check=False
    )
    assert monitored.returncode == 1 and "Traceback" not in monitored.stderr
    assert message in monitored.stderr or case in ("wrong type", "unknown category")


def set_c(project: Path, value: float) -> None:
    conf = project / MODEL_CONF
    conf.write_text(
        "\n".join(
            f"C: {value}" if line.startswith("C: ") else line
            for line in conf.read_text().splitlines()
        )
        + "\n"
    )
    package(project, "compose")


def champion(project: Path) -> subprocess.CompletedProcess:
    return package(project, "champion", "--promote", check=False)


def test_release_then_champion_challenger_promotes_better_refuses_worse_and_rolls_back(
    reproduced, copy_of, tmp_path
):
    project = copy_of(reproduced)
    readme = (project / "README.md").read_text()
    # A weak first release, made with the documented GTO commands.
    set_c(project, 0.01)
    dvc("repro", cwd=project)
    commit(project, "Weak model")
    for command in (
        "gto register model --version v1.0.0",
        "gto assign model --version v1.0.0 --stage prod",
    ):
        assert command in readme
        gto(project, *command.split()[1:])
    assert gto(project, "show", "model#prod", "--ref") == "model@v1.0.0"
    first_model = (project / "models/model.skops").read_bytes()

    # A consumer fetches the released model without running the pipeline.
    consumer = tmp_path / "consumer"
    consumer.mkdir()
    assert "dvc get <repository-url> models/model.skops --rev model@v1.0.0 -o model.skops" in readme
    dvc(
        "get",
        str(project),
        "models/model.skops",
        "--rev",
        "model@v1.0.0",
        "-o",
        "model.skops",
        cwd=consumer,
    )
    assert (consumer / "model.skops").read_bytes() == first_model
    assert "dvc artifacts get <repository-url> model --stage prod" in readme
    assert fetch_prod_model(project, consumer, "prod.skops") == first_model

    # New raw data arrives (a new version of the file), the pipeline retrains: better.
    raw = project / RAW
    raw.chmod(0o644)
    lines = raw.read_text().splitlines()
    raw.write_text("\n".join(lines[:1] + lines[11:]) + "\n")  # ten rows fewer
    set_c(project, 1.0)
    dvc("add", RAW, cwd=project)
    dvc("repro", cwd=project)
    commit(project, "Retrain on new data")
    better = champion(project)
    assert better.returncode == 0, better.stdout + better.stderr
    assert "promoted: model v1.1.0 is now in prod" in better.stdout
    assert gto(project, "show", "model#prod", "--ref") == "model@v1.1.0"

    # A worse challenger, one evaluate found no better than the baseline, is refused and
    # production stays where it was.
    set_c(project, 0.0001)
    dvc("repro", cwd=project)
    commit(project, "Crippled model")
    worse = champion(project)
    assert worse.returncode == 1
    assert "not promoted: it does not beat the baseline on f1_macro" in worse.stderr
    assert gto(project, "show", "model#prod", "--ref") == "model@v1.1.0"

    # Roll back to the first release with the documented command.
    assert "gto assign model --version <earlier-version> --stage prod --force" in readme
    gto(project, "assign", "model", "--version", "v1.0.0", "--stage", "prod", "--force")
    assert gto(project, "show", "model#prod", "--ref") == "model@v1.0.0"
    assert fetch_prod_model(project, consumer, "rolled-back.skops") == first_model
    serves_what_is_in_production(project, hashlib.md5(first_model).hexdigest()[:12], tmp_path)


def serves_what_is_in_production(project: Path, prod_model: str, tmp_path: Path) -> None:
    """``predict`` and ``serve`` with ``--stage prod`` use the version in prod, not the
    working tree's model (here a crippled one); a stage or version with no model is
    refused in one line."""
    readme = (project / "README.md").read_text()
    assert f"python -m {PACKAGE} serve --stage prod" in readme
    documented = "predict --input new.csv --output predictions.parquet --stage prod"
    assert f"python -m {PACKAGE} {documented}" in readme
    output = tmp_path / "prod.parquet"
    done = package(project, "predict", "--input", RAW, "--output", str(output), "--stage", "prod")
    assert "(v1.0.0, stage prod)" in done.stdout
    assert set(pd.read_parquet(output)["model_version"]) == {prod_model}
    for option in (("--stage", "staging"), ("--version", "v9.9.9")):
        refused = package(project, "serve", "--port", "1", *option, check=False)
        assert refused.returncode == 1 and "Traceback" not in refused.stderr
        assert f"no model is registered in {option[0][2:]} '{option[1]}'" in refused.stderr
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", PACKAGE, "serve", "--port", str(port), "--stage", "prod"],
        cwd=project, env=tool_env(PYTHONPATH=str(project / "src")),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        status, metadata = once_up(f"http://127.0.0.1:{port}/metadata", server)
        assert (metadata["version"], metadata["stage"]) == ("v1.0.0", "prod")
        assert metadata["model_version"] == prod_model
        status, answer = call(f"http://127.0.0.1:{port}/predict", raw_records(project / RAW)[:3])
        assert status == 200 and (answer["version"], answer["stage"]) == ("v1.0.0", "prod")
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_scoring_stage_from_the_readme_predicts_a_versioned_batch(reproduced, copy_of):
    project = copy_of(reproduced)
    readme = (project / "README.md").read_text()
    stage = next(
        line for line in readme.splitlines() if line.startswith("dvc stage add -n score_batch")
    )
    write_batch(project, project / "data/batches/new.csv", lambda raw: raw.head(25))
    dvc("add", "data/batches/new.csv", cwd=project)
    dvc(*stage.split()[1:], cwd=project)
    dvc("repro", "score_batch", cwd=project)
    scored = pd.read_parquet(project / "data/predictions/new.parquet")
    assert len(scored) == 25 and scored["model_version"].nunique() == 1


def test_monitor_scores_labels_joined_from_their_own_file_on_a_key(reproduced, tmp_path):
    readme = (reproduced / "README.md").read_text()
    assert f"python -m {PACKAGE} monitor --input new.csv --labels labels.csv --key" in readme
    sample = pd.read_csv(reproduced / RAW, dtype=str, keep_default_na=False).sample(
        150, random_state=7
    )
    batch = tmp_path / "unlabelled.csv"
    sample.drop(columns="Species").to_csv(batch, index=False)
    key = ["studyName", "Individual ID"]  # one column alone repeats in the penguin data
    labels = sample[[*key, "Species"]].sample(frac=1, random_state=2)  # in another order
    cases = {
        "labels": labels,
        "permuted": labels.assign(Species=labels["Species"].sample(frac=1, random_state=1).values),
        "no match": labels.assign(studyName="X" + labels["studyName"]),
        "repeated": pd.concat([labels, labels.head(2)]),
    }
    for name, frame in cases.items():
        frame.to_csv(tmp_path / f"{name}.csv", index=False)

    def monitored(name: str) -> subprocess.CompletedProcess:
        output = str(tmp_path / f"report-{name}")
        options = ["--labels", str(tmp_path / f"{name}.csv"), "--key", *key]
        return package(
            reproduced, "monitor", "--input", str(batch), "--output", output, *options, check=False
        )

    scored = monitored("labels")
    assert scored.returncode == 0, scored.stderr
    report = json.loads((tmp_path / "report-labels/drift.json").read_text())
    assert report["performance"]["labelled_rows"] == 150
    assert report["performance"]["score"] > 0.9
    dropped = monitored("permuted")
    assert dropped.returncode == 1 and "performance dropped" in dropped.stderr
    for name, message in (
        ("no match", f"no {key} matches a row of {batch}"),
        ("repeated", f"{key} repeats ('PAL"),
    ):
        refused = monitored(name)
        assert refused.returncode == 1 and message in refused.stderr, refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1 and "Traceback" not in refused.stderr
        assert not (tmp_path / f"report-{name}").exists(), "nothing is written on a refusal"


def test_add_batches_adds_each_labelled_batch_once_and_refuses_bad_ones(reproduced, copy_of):
    project = copy_of(reproduced)
    readme = (project / "README.md").read_text()
    assert f"python -m {PACKAGE} add-batches" in readme
    raw = pd.read_csv(project / RAW, dtype=str, keep_default_na=False)
    batches = project / "data/batches"
    new = raw.sample(30, random_state=4).assign(**{"Individual ID": "NEW"})
    new.to_csv(batches / "2026-12-01.csv", index=False)
    before = (project / RAW).read_bytes()

    def add() -> subprocess.CompletedProcess:
        return package(project, "add-batches", check=False)

    def state() -> tuple:
        record = project / "data/added_batches.csv"
        pointer = (project / f"{RAW}.dvc").read_text()
        return (
            (project / RAW).read_bytes(),
            record.read_bytes() if record.exists() else b"",
            pointer,
        )

    added = add()
    assert added.returncode == 0, added.stderr
    assert "data/batches/2026-12-01.csv: 30 rows added to the training data" in added.stdout
    grown = (project / RAW).read_bytes()
    assert grown.startswith(before) and len(grown.splitlines()) == len(before.splitlines()) + 30
    assert yaml_md5(project / f"{RAW}.dvc") == hashlib.md5(grown).hexdigest()
    record = pd.read_csv(project / "data/added_batches.csv")
    assert record.to_dict("records") == [
        {
            "batch": "2026-12-01.csv",
            "md5": hashlib.md5((batches / "2026-12-01.csv").read_bytes()).hexdigest(),
            "rows": 30,
        }
    ]

    kept = state()
    again = add()  # the same batch, and a copy of it under another name: both skipped
    shutil.copy(batches / "2026-12-01.csv", batches / "copy.csv")
    copied = add()
    (batches / "copy.csv").unlink()
    assert "already in the training data, skipped" in again.stdout + copied.stdout
    assert "the training data is unchanged" in copied.stdout and state() == kept

    bad = {
        "unlabelled.csv": (
            raw.head(5).assign(Species=["", *raw["Species"].head(4)]),
            "column 'Species' fails not_nullable: missing (line 2)",
        ),
        "foreign.csv": (raw.head(5).drop(columns="Comments"), "its header is not"),
        "indexed.csv": (  # as pandas' to_csv() writes it by default
            raw.head(5).reset_index().rename(columns={"index": ""}),
            "an unnamed first column: the row numbers pandas' to_csv() writes",
        ),
        "2026-12-01.csv": (new.head(3), "changed after it was added to the training data"),
    }
    for name, (frame, message) in bad.items():
        original = (batches / name).read_bytes() if (batches / name).exists() else None
        frame.to_csv(batches / name, index=False)
        refused = add()
        assert refused.returncode == 1 and message in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr and state() == kept, name
        if original is None:
            (batches / name).unlink()
        else:
            (batches / name).write_bytes(original)
