"""End to end: `dvc repro` on a private copy of this project, with real DVC."""

from __future__ import annotations
{% if cookiecutter.operations == 'yes' %}
import csv
{%- endif %}
import json
import os
{%- if cookiecutter.operations == 'yes' and cookiecutter.demo_data == 'penguins' %}
import re
{%- endif %}
import subprocess
import sys
from pathlib import Path

import pytest
{%- if cookiecutter.operations == 'yes' %}
from fastapi.testclient import TestClient
{%- endif %}

from {{ cookiecutter.package_name }}.core import paths
from {{ cookiecutter.package_name }}.core.config import load_params
{%- if cookiecutter.operations == 'yes' %}
from {{ cookiecutter.package_name }}.ops.serve import create_app
{%- endif %}

pytestmark = pytest.mark.slow


def dvc(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run DVC from this interpreter's environment, importing the copy's own code."""
    env = {**os.environ, "PYTHONPATH": str(cwd / "src"), "DVC_NO_ANALYTICS": "1"}
    command = [sys.executable, "-m", "dvc", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)


def test_dvc_repro_runs_the_pipeline_or_names_the_missing_data(project_copy):
    raw_path = load_params().data.raw_path
    result = dvc("repro", cwd=project_copy)
    if not raw_path.exists():
        assert result.returncode != 0
        assert str(raw_path) in result.stdout + result.stderr
        return
    assert result.returncode == 0, result.stdout + result.stderr
    metrics = json.loads(paths.METRICS.read_text())
    assert metrics["test_rows"] > 0
    quality = json.loads(paths.DATA_QUALITY.read_text())
    assert quality["rows_out"] <= quality["rows_in"]
    assert (paths.PLOTS / "importance.csv").is_file()
    status = dvc("status", "--json", cwd=project_copy)
    assert json.loads(status.stdout) == {}
    assert paths.MODEL_CARD.read_text().startswith("# Model card")
    report = paths.REPORT.read_text()  # the page people open: charts inline, nothing fetched
    assert report.startswith("<!DOCTYPE html>") and "<svg" in report and "<script" not in report
{%- if cookiecutter.operations == 'yes' %}
    check_the_api_serves_the_trained_model(raw_path)


def check_the_api_serves_the_trained_model(raw_path: Path) -> None:
    """In process: the app predicts the raw file's first rows as written (missing-value
    markers and all), refuses an empty batch, and names a bad field alone."""
    with raw_path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))[:5]
    client = TestClient(create_app())
    assert client.get("/health").json()["status"] == "ok"
    answer = client.post("/predict", json=rows)
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["predictions"]) == len(rows)
    assert client.post("/predict", json=[]).status_code == 422
    inputs = load_params().data.inputs().values()
    number = next(column.source for column in inputs if column.type == "float")
    refused = client.post("/predict", json={**rows[0], number: "heavy"})
    assert refused.status_code == 422
    assert [error["loc"][-1] for error in refused.json()["detail"]] == [number]
    misspelt = client.post("/predict", json={**rows[0], f"{number}s": "1"})
    assert [error["loc"][-1] for error in misspelt.json()["detail"]] == [f"{number}s"]
    assert f"did you mean {number!r}?" in misspelt.text
    assert client.post("/predict", json={}).status_code == 422
    repeated = ("{" + f'"{number}": 1.0, "{number}": 2.0' + "}").encode()
    twice = client.post("/predict", content=repeated, headers={"Content-Type": "application/json"})
    assert twice.status_code == 422 and f"{number!r} is given more than once" in twice.text
    assert client.get("/docs").status_code == 404  # no docs unless `serve --docs`
    assert TestClient(create_app(docs=True)).get("/docs").status_code == 200
    assert client.post("/predict/", json=rows[0], follow_redirects=False).status_code == 404
{%- if cookiecutter.demo_data == 'penguins' %}
    check_the_readmes_example(client)


def check_the_readmes_example(client: TestClient) -> None:
    """The README's example request gets an answer shaped as the README shows it."""
    readme = Path("README.md").read_text(encoding="utf-8")
    body = re.search(r"<!-- example-request -->\s*```bash\n.*? -d '(.+?)'\n```", readme, re.S)
    shown = re.search(r"<!-- example-response -->\s*```json\n(.+?)\n```", readme, re.S)
    answer = client.post("/predict", json=json.loads(body[1]))
    assert answer.status_code == 200, answer.text
    expected, got = json.loads(shown[1])["predictions"][0], answer.json()["predictions"][0]
    assert got.keys() == expected.keys()
{%- if cookiecutter.task == 'classification' %}
    assert got["prediction"] == expected["prediction"]
{%- else %}
    assert abs(got["prediction"] - expected["prediction"]) < 500  # grams, one penguin
{%- endif %}
{%- endif %}
{%- endif %}
