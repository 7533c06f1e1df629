"""Compare a new batch with the training data's reference profile.

    python -m <package>.monitor --input data/batches/2026-11.csv
    python -m <package>.monitor --latest data/batches     # the newest CSV there, by name

For each model input: PSI, a two-sample test and the change in missing values
(drift.py); for the model's predictions on the batch: PSI against its predictions on
the training data. The batch is cleaned and featurized by the same code as training
(predict.py); rows that break the raw schema are reported as violations. Writes
``<output>/drift.json`` and ``<output>/drift.md`` and exits 1 when anything exceeds
the thresholds in ``monitor`` (conf/monitor/), so a scheduler can act on it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from . import actions, paths
from .drift import compare
from .errors import DataError, PipelineError, run_main
from .files import read_json, write_json, write_text
from .modeling import feature_columns, load_model, model_inputs, model_version
from .params import get, load_params
from .predict import input_specs, prepare
from .schema import read_raw_csv, split_valid

DEFAULT_OUTPUT = Path("reports/monitoring")


def reasons(result: dict[str, Any], thresholds: dict[str, Any]) -> list[str]:
    """Why one column counts as drifted; empty when it does not."""
    found = []
    if result["psi"] >= thresholds["psi_threshold"]:
        found.append(f"PSI {result['psi']:.3f} >= {thresholds['psi_threshold']}")
    if result["p_value"] is not None and result["p_value"] < thresholds["p_value"]:
        found.append(f"{result['test']} p-value {result['p_value']:.2g} < {thresholds['p_value']}")
    increase = result["missing_rate"] - result["reference_missing_rate"]
    if increase > thresholds["missing_rate_increase"]:
        found.append(f"missing values up by {increase:.1%}")
    if result.get("unseen_categories"):
        found.append(f"categories unseen in training: {', '.join(result['unseen_categories'])}")
    return found


def drift_report(
    batch: pd.DataFrame, predictions: pd.Series, reference: dict[str, Any], thresholds: dict
) -> dict[str, Any]:
    """Per input column and for the predictions: the statistics and any drift reasons."""
    columns = {}
    for column, column_reference in reference["features"].items():
        result = compare(column_reference, batch[column])
        columns[column] = {**result, "drift": reasons(result, thresholds)}
    prediction = compare(reference["prediction"], predictions)
    prediction["drift"] = reasons(prediction, thresholds)
    drifted = sorted(c for c, r in columns.items() if r["drift"])
    return {
        "rows": len(batch),
        "reference_rows": reference["rows"],
        "drifted_columns": drifted,
        "prediction_drift": bool(prediction["drift"]),
        "columns": columns,
        "prediction": prediction,
        "schema_violations": [],
        "status": "drift" if drifted or prediction["drift"] else "ok",
    }


def to_markdown(source: Path, report: dict[str, Any]) -> str:
    lines = [f"## Drift report: `{source}`", "", f"**Status: {report['status']}**", ""]
    if report["schema_violations"]:
        lines += [
            f"{report['invalid_rows']} rows break the raw schema and were left out:",
            "",
            "```",
            *report["schema_violations"],
            "```",
            "",
        ]
    lines += [
        f"{report['rows']} valid rows against {report['reference_rows']} training rows.",
        "",
        "| column | PSI | test | p-value | missing | drift |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    rows = {**report["columns"], "(predictions)": report["prediction"]}
    for column, result in rows.items():
        p_value = "n/a" if result["p_value"] is None else f"{result['p_value']:.2g}"
        missing = f"{result['reference_missing_rate']:.1%} -> {result['missing_rate']:.1%}"
        cells = [f"`{column}`", f"{result['psi']:.3f}", result["test"], p_value, missing]
        lines.append("| " + " | ".join([*cells, "; ".join(result["drift"]) or "no"]) + " |")
    return "\n".join([*lines, ""])


def monitor(source: Path, output: Path) -> tuple[dict[str, Any], str]:
    """The drift report of ``source`` and its Markdown, both written into ``output``."""
    params = load_params()
    thresholds = get(params, "monitor")
    reference = read_json(paths.PROFILE)
    model = load_model(paths.MODEL)
    if reference.get("model_version") != model_version(paths.MODEL):
        raise PipelineError(f"{paths.PROFILE} describes another model: run `dvc repro`")
    raw = read_raw_csv(source, get(params, "data.na_values"))
    valid, violations = split_valid(raw, input_specs(params), source)
    if valid.empty:
        raise DataError(f"no row of {source} passes the schema:\n{violations}")
    batch = prepare(valid, params, source)
    numeric, categorical = feature_columns(get(params, "features"))
    inputs = model_inputs(batch, numeric, categorical)
    report = drift_report(batch, pd.Series(model.predict(inputs)), reference, thresholds)
    if violations:
        report["invalid_rows"] = len(raw) - len(valid)
        report["schema_violations"] = violations.splitlines()
        report["status"] = "schema violations"
    markdown = to_markdown(source, report)
    write_json(report, output / "drift.json")
    write_text(markdown, output / "drift.md")
    actions.add_to_summary(markdown)
    return report, markdown


def newest_batch(folder: Path) -> Path:
    batches = sorted(Path(folder).glob("*.csv"))
    if not batches:
        raise DataError(f"{folder}: no .csv batch to monitor (add one with `dvc add`)")
    return batches[-1]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="monitor", description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", type=Path, help="a CSV batch in the raw format")
    source.add_argument("--latest", type=Path, help="a folder: monitor its newest CSV")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="report folder")
    args = parser.parse_args(argv)
    batch = args.input or newest_batch(args.latest)
    report, markdown = monitor(batch, args.output)
    print(markdown)
    if report["status"] != "ok":
        drifted = ", ".join(report["drifted_columns"]) or "none"
        raise PipelineError(
            f"{batch}: {report['status']}; drifted columns: {drifted}; predictions drifted: "
            f"{'yes' if report['prediction_drift'] else 'no'}; invalid rows: "
            f"{report.get('invalid_rows', 0)} (details in {args.output}/drift.md)"
        )


if __name__ == "__main__":
    run_main(lambda: main(sys.argv[1:]))
