"""Compare a new batch with the training data's reference profile.

For each model input: PSI, a two-sample test and the change in missing values
(data/drift.py); for the model's predictions on the batch: PSI against its predictions on
the training data. A batch that holds the target, or whose labels arrive in a file of
their own (``--labels``, matched to rows by ``--key``), is also scored against the
test score (ops/performance.py). The batch is cleaned and featurized by the same code as
training; rows that break the raw schema are reported as violations. Writes
``<output>/drift.json``, ``drift.md`` and ``drift.html`` (ops/drift_page.py), adds the batch to
``<output>/history.csv`` (ops/history.py), and exits 1 when anything exceeds the
thresholds in ``monitor`` (conf/monitor/), so a scheduler can act on it.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from ..core import actions, paths
from ..core.config import Data, Monitor, load_params
from ..core.errors import DataError, PipelineError
from ..core.estimators import model_version
from ..core.files import read_json, write_json, write_text
from ..core.markdown import MISSING, code, table, text
from ..data.drift import compare
from ..data.reading import read_header, require_columns
from ..data.schema import RawSchema
from ..evaluation.scoring import Predictions
from ..features import tidy
from ..modeling import load_model
from .batches import batch_files, regular_file
from .drift_page import drift_page
from .history import history_row, record
from .performance import describe, performance
from .predict import predict_rows


def psi_judged(result: dict[str, Any], thresholds: Monitor) -> bool:
    """Whether the column has ``min_rows`` values (not missing) in the batch and in the
    reference: PSI over fewer is large by chance alone."""
    known = [result.get("values"), result.get("reference_values")]
    return min(count for count in known if count is not None) >= thresholds.min_rows


def reasons(result: dict[str, Any], thresholds: Monitor) -> list[str]:
    """Why one column counts as drifted; empty when it does not.

    The tests (KS, chi-squared, binomial for missing values) hold at any batch size. PSI
    does not, so it counts only where ``psi_judged``; a rise in missing values must also
    be significant. Where PSI is judged, a significant test counts only with a PSI of
    ``min_psi`` or more: on a large batch a test finds differences too small to matter.
    """
    found = []
    judged = psi_judged(result, thresholds)
    if judged and result["psi"] >= thresholds.psi_threshold:
        found.append(f"PSI {result['psi']:.3f} >= {thresholds.psi_threshold}")
    matters = not judged or result["psi"] >= thresholds.min_psi
    if result["p_value"] is not None and result["p_value"] < thresholds.p_value and matters:
        found.append(f"{result['test']} p-value {result['p_value']:.2g} < {thresholds.p_value}")
    increase = result["missing_rate"] - result["reference_missing_rate"]
    significant = (result["missing_p_value"] or 0) < thresholds.p_value
    if increase > thresholds.missing_rate_increase and significant:
        found.append(f"missing values up by {increase:.1%}")
    if result.get("unseen_categories") and result["unseen_share"] > thresholds.unseen_share:
        unseen = ", ".join(result["unseen_categories"])
        share = f"{result['unseen_share']:.1%}"
        found.append(f"{share} of values in categories unseen in training: {unseen}")
    return found


def drift_report(
    batch: pd.DataFrame, predictions: pd.Series, reference: dict[str, Any], thresholds: Monitor
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
        "psi_unjudged": sorted(c for c, r in columns.items() if not psi_judged(r, thresholds)),
        "status": "drift" if drifted or prediction["drift"] else "ok",
    }


def labels_in(source: Path, data: Data) -> pd.Series | None:
    """The batch's target, parsed and checked as in training (missing where a row has
    no label yet); None when the batch has no target column."""
    target = data.columns[data.target]
    if target.source not in read_header(source, data.encoding, data.delimiter):
        return None
    optional = target.model_copy(update={"required": False})
    schema = replace(RawSchema.of(data), columns={data.target: optional})
    return tidy(schema.read(source), {data.target: optional})[data.target]


def text_columns(path: Path, columns: list[str], data: Data) -> pd.DataFrame:
    """``columns`` of a CSV as written (missing-value markers as missing)."""
    require_columns(read_header(path, data.encoding, data.delimiter), columns, path)
    return pd.read_csv(
        path,
        usecols=columns,
        dtype=str,
        keep_default_na=False,
        na_values=list(data.na_values) or [""],
        encoding=data.encoding,
        sep=data.delimiter,
    )


def labels_joined(labels: Path, key: list[str], source: Path, data: Data) -> pd.Series:
    """The target from a separate labels file, matched to the batch's rows on the ``key``
    column(s) (missing where a row has no label yet), parsed and checked as in training."""
    target = data.columns[data.target]
    given = text_columns(labels, [*key, target.source], data).dropna(subset=key)
    given.index = pd.MultiIndex.from_frame(given[key]) if len(key) > 1 else given[key[0]]
    if len(repeated := given.index[given.index.duplicated()]):
        shown = ", ".join(map(repr, repeated.unique()[:5]))
        raise DataError(f"{labels}: {key} repeats {shown}: give each row one label")
    batch = text_columns(source, key, data)
    keys = pd.MultiIndex.from_frame(batch) if len(key) > 1 else pd.Index(batch[key[0]])
    if not keys.isin(given.index).any():
        raise DataError(
            f"{labels}: no {key} matches a row of {source} (labels have "
            f"{given.index[:3].tolist()}, the batch {keys[:3].tolist()}): nothing to score"
        )
    optional = target.model_copy(update={"required": False})
    schema = replace(RawSchema.of(data), columns={data.target: optional})
    checked = given[[target.source]].set_axis(pd.RangeIndex(len(given)))  # lines in errors
    parsed = schema.validate(checked, labels)[target.source].set_axis(given.index)
    found = pd.Series(parsed.reindex(keys).to_numpy(), name=target.source)
    return tidy(found.to_frame(), {data.target: optional})[data.target]


def as_predictions(frame: pd.DataFrame, model: Any) -> Predictions:
    """``predict_rows``' frame as evaluation's Predictions: scored without predicting again."""
    probabilities = [column for column in frame.columns if column.startswith("probability_")]
    if not probabilities:
        return Predictions(frame["prediction"].to_numpy())
    labels = frame["prediction"].to_numpy()
    return Predictions(labels, frame[probabilities].to_numpy(), model.classes_)


def fenced(lines: list[str]) -> list[str]:
    """``lines`` as a fenced block that no backticks in them can close."""
    longest = max((len(run) for line in lines for run in re.findall("`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence, *lines, fence]


def to_markdown(source: Path, report: dict[str, Any]) -> str:
    lines = [f"## Drift report: {code(source)}", "", f"**Status: {report['status']}**", ""]
    if "performance" in report:
        lines += [describe(report["performance"]), ""]
    if report["schema_violations"]:
        lines += [
            f"{report['invalid_rows']} rows break the raw schema and were left out:",
            "",
            *fenced(report["schema_violations"]),
            "",
        ]
    rows = []
    for column, result in {**report["columns"], "(predictions)": report["prediction"]}.items():
        p_value = MISSING if result["p_value"] is None else f"{result['p_value']:.2g}"
        missing = f"{result['reference_missing_rate']:.1%} -> {result['missing_rate']:.1%}"
        drift = text("; ".join(result["drift"])) or "no"  # reasons quote the batch's values
        rows.append([code(column), f"{result['psi']:.3f}", result["test"], p_value, missing, drift])
    lines += [
        f"{report['rows']} valid rows against {report['reference_rows']} training rows.",
        "",
    ]
    if report["psi_unjudged"]:
        unjudged = ", ".join(code(column) for column in report["psi_unjudged"])
        lines += [
            f"Too few values to judge PSI in {unjudged} (fewer than monitor.min_rows on one "
            "side vary by chance alone): it is shown, but only the tests decide.",
            "",
        ]
    lines += [
        table(["column", "PSI", "test", "p-value", "missing", "drift"], rows),
        "",
    ]
    return "\n".join(lines)


def monitor(
    source: Path, output: Path, labels: Path | None = None, key: list[str] | None = None
) -> tuple[dict[str, Any], str]:
    """The drift report of ``source`` and its Markdown, both written into ``output``;
    its labels from the batch's target column, or from ``labels`` joined on ``key``."""
    params = load_params()
    reference = read_json(paths.PROFILE)
    model, version = load_model(paths.MODEL, params), model_version(paths.MODEL)
    if reference.get("model_version") != version:
        raise PipelineError(f"{paths.PROFILE} describes another model: run `dvc repro`")
    schema = RawSchema.of(params.data, inputs_only=True)
    raw = schema.read_text(source)
    valid, violations = schema.valid_rows(raw, source)
    if valid.empty:
        raise DataError(f"no row of {source} passes the schema:\n{violations}")
    batch, predictions = predict_rows(model, valid, params)
    report = drift_report(batch, predictions["prediction"], reference, params.monitor)
    if labels is not None:
        labels = labels_joined(labels, key, source, params.data)
    else:
        labels = labels_in(source, params.data)
    if labels is not None:
        predicted = as_predictions(predictions, model)
        y_true = labels.loc[valid.index].reset_index(drop=True)
        metric, test_scores = params.review.primary_metric, read_json(paths.METRICS)
        found = performance(y_true, predicted, test_scores, metric, params.monitor, params.seed)
        report["performance"] = found
        if found["status"] == "dropped":
            report["status"] = "performance dropped" + ", drift" * (report["status"] == "drift")
    if violations:
        report["invalid_rows"] = len(raw) - len(valid)
        report["schema_violations"] = violations.splitlines()
        report["status"] = "schema violations"
    markdown = to_markdown(source, report)
    write_json(report, output / "drift.json")
    write_text(markdown, output / "drift.md")
    write_text(drift_page(source, report), output / "drift.html")
    record(history_row(source, report, version), output)
    actions.add_to_summary(markdown)
    return report, markdown


def newest_batch(folder: Path) -> Path:
    """The last batch in ``folder`` in the order ops/batches.py documents."""
    batches = batch_files(folder)
    if not batches:
        raise DataError(f"{folder}: no .csv batch to monitor (add one with `dvc add`)")
    return batches[-1]


LABELS_SLACK = 1 << 20  # bytes a labels file may have beyond twice its batch's size


def bounded_labels(labels: Path, batch: Path) -> Path:
    """``labels``, once it is a regular file of a size its batch can need: a key and a
    target for each row take less than twice the batch's own bytes."""
    limit = 2 * batch.stat().st_size + LABELS_SLACK
    if regular_file(labels).stat().st_size > limit:
        raise DataError(
            f"{labels}: {labels.stat().st_size:,} bytes, over the {limit:,} that labels for "
            f"{batch} can need (twice its size, plus 1 MB); give the labels of this batch only"
        )
    return labels


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", type=Path, help="a CSV batch in the raw format")
    source.add_argument("--latest", type=Path, help="a folder: monitor its newest CSV")
    parser.add_argument("--output", type=Path, default=paths.MONITORING, help="report folder")
    parser.add_argument("--labels", type=Path, help="a CSV of labels for the batch's rows")
    parser.add_argument(
        "--key", nargs="+", help="the column(s) that match --labels rows to batch rows"
    )
    args = parser.parse_args(argv)
    if (args.labels is None) != (args.key is None):
        parser.error("--labels and --key go together: the file, and the column to join on")
    batch = regular_file(args.input) if args.input else newest_batch(args.latest)
    labels = None if args.labels is None else bounded_labels(args.labels, batch)
    report, markdown = monitor(batch, args.output, labels, args.key)
    print(markdown)
    if report["status"] != "ok":
        drifted = ", ".join(report["drifted_columns"]) or "none"
        measured = report.get("performance", {})
        dropped = f"{describe(measured)} " if measured.get("status") == "dropped" else ""
        raise PipelineError(
            f"{batch}: {report['status']}. {dropped}Drifted columns: {drifted}; predictions "
            f"drifted: {'yes' if report['prediction_drift'] else 'no'}; invalid rows: "
            f"{report.get('invalid_rows', 0)} (details in {args.output}/drift.md)"
        )
