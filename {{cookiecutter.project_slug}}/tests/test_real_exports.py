"""Tables exported as people export them: drafted, reproduced, served and monitored with
no hand edit (exported_tables.py builds them)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest
from exported_tables import TARGET, loan_table, pandas_export, r_export
from helpers import command

from {{ cookiecutter.package_name }}.core.config import load_params
from {{ cookiecutter.package_name }}.data.cleaning import clean_parsed
from {{ cookiecutter.package_name }}.data.draft import main as draft_schema
from {{ cookiecutter.package_name }}.data.schema import RawSchema

PACKAGE = "{{ cookiecutter.package_name }}"
ROWS = 4000
RAW = Path("data/raw/loans.csv")


def drafted(export) -> pd.DataFrame:
    """``export`` of the loan table drafted as the project's data; its cleaned rows."""
    export(loan_table(ROWS), RAW)
    draft_schema([str(RAW), "--target", TARGET, "--force"])
    params = load_params()
    frame, _ = clean_parsed(RawSchema.of(params.data).read(RAW), params.data)
    return frame


def test_both_exports_draft_the_same_schema_and_clean_to_the_same_rows(project_copy):
    from_r = drafted(r_export)
    r_params = load_params()
    from_pandas = drafted(pandas_export)
    params = load_params()
    assert r_params.features == params.features and r_params.split == params.split
    pd.testing.assert_frame_equal(from_r, from_pandas)
    assert len(from_pandas) == ROWS  # no row lost, none taken for a duplicate
    data, features = params.data, params.features
    assert data.unread_columns == [""]  # the row index: no input, no part of a row's identity
    assert params.split.key == "customer_id"  # repeated: a customer stays in one split
    assert "customer_id" not in features.inputs
    assert data.columns["issue_month"].type == "date"  # "Mar-2018": no closed list of months
    for many_levels in ("state", "country"):
        assert many_levels in features.categorical and data.columns[many_levels].allowed is None
    assert data.columns["grade"].allowed == list("ABCDEFG")
    assert "bureau_score" in features.numeric and not data.columns["bureau_score"].required
    assert data.columns["annual_income"].required
    assert set(params.evaluate.slice_columns) <= set(data.columns)  # the demo's are gone


def raw_records(rows: int) -> list[dict[str, str]]:
    """The raw file's first rows as written: index, target and empty cells included."""
    with RAW.open(newline="", encoding="utf-8") as handle:
        return [row for _, row in zip(range(rows), csv.DictReader(handle), strict=False)]


@pytest.mark.slow
def test_a_pandas_export_reproduces_{{ 'serves_and_monitors_' if cookiecutter.operations == 'yes' else '' }}without_hand_edits(project_copy, tmp_path):
{%- if cookiecutter.operations == 'yes' %}
    from fastapi.testclient import TestClient

    from {{ cookiecutter.package_name }}.ops.monitor import monitor
    from {{ cookiecutter.package_name }}.ops.serve import create_app
{%- endif %}

    drafted(pandas_export)
    repro = command(project_copy, "-m", "dvc", "repro")
    assert repro.returncode == 0, repro.stdout + repro.stderr
    metrics = json.loads(Path("reports/metrics.json").read_text())
    primary = load_params().review.primary_metric
    assert primary in metrics["baseline"]
    assert "baseline" in Path("reports/model_card.md").read_text()
{%- if cookiecutter.operations == 'yes' %}

    records = raw_records(40)
    assert any(record["Bureau Score"] == "" for record in records)
    answer = TestClient(create_app()).post("/predict", json=records)
    assert answer.status_code == 200, answer.text
    batch, output = tmp_path / "batch.csv", tmp_path / "predictions.parquet"
    batch.write_text("".join(RAW.read_text().splitlines(keepends=True)[:41]))
    predict = command(project_copy, "-m", PACKAGE, "predict", "--input", batch, "--output", output)
    assert predict.returncode == 0, predict.stderr
    served = [p["prediction"] for p in answer.json()["predictions"]]
    assert served == pd.read_parquet(output)["prediction"].tolist()

    table = pd.read_csv(RAW, dtype=str, keep_default_na=False)
    alarms = 0
    for seed in range(20):  # same-distribution batches: drift would be a false alarm
        sample = tmp_path / f"batch-{seed}.csv"
        table.sample(300, random_state=seed).to_csv(sample, index=False)
        report, _ = monitor(sample, tmp_path / f"monitoring-{seed}")
        alarms += report["status"] != "ok"
    assert alarms <= 1, f"{alarms} false alarms in 20 same-distribution batches"
{%- endif %}
