"""Batch prediction with exactly the training pipeline's cleaning and features.

    python -m <package>.predict --input new.csv --output predictions.parquet

New rows go through the same functions as training data: the raw schema (schema.py,
without the target, which new data need not have), ``tidy`` from the clean stage and
``derive_features`` from the featurize stage. There is one code path, so what is
served cannot drift from what was trained. Rows are never dropped: each input row
gets a prediction, keyed by its CSV line, with the version of the model that made it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import paths
from .errors import PipelineError, run_main
from .files import write_parquet
from .modeling import feature_columns, load_model, model_inputs, model_version
from .params import get, get_task, load_params
from .plots import file_stem
from .schema import ColumnSpec, column_specs, read_raw_csv, validate_raw
from .stages.clean import tidy
from .stages.featurize import derive_features


def input_specs(params: dict[str, Any]) -> list[ColumnSpec]:
    """The raw schema without the target, which new data need not have."""
    target = get(params, "data.target")
    return [s for s in column_specs(get(params, "data.columns")) if s.name != target]


def prepare(raw: pd.DataFrame, params: dict[str, Any], source: Any) -> pd.DataFrame:
    """Raw rows (source column names, values as text) to clean, featurized rows."""
    specs = input_specs(params)
    clean = tidy(validate_raw(raw, specs, source), specs)
    return derive_features(clean, get(params, "features.derived"))


def predict_frame(
    model: Any, raw: pd.DataFrame, params: dict[str, Any], source: Any, version: str
) -> pd.DataFrame:
    """One row per input row: its CSV line, the prediction, class probabilities, version."""
    numeric, categorical = feature_columns(get(params, "features"))
    inputs = model_inputs(prepare(raw, params, source), numeric, categorical)
    predictions = pd.DataFrame({"line": np.arange(len(raw)) + 2})  # line 1 is the header
    predictions["prediction"] = model.predict(inputs)
    if get_task(params) == "classification" and hasattr(model, "predict_proba"):
        probabilities = model.predict_proba(inputs)
        for index, label in enumerate(model.classes_):
            predictions[f"probability_{file_stem(label)}"] = probabilities[:, index]
    predictions["model_version"] = version
    return predictions


def predict_file(input_path: Path, output_path: Path) -> pd.DataFrame:
    params = load_params()
    raw = read_raw_csv(input_path, get(params, "data.na_values"))
    predictions = predict_frame(
        load_model(paths.MODEL), raw, params, input_path, model_version(paths.MODEL)
    )
    if Path(output_path).suffix != ".parquet":
        raise PipelineError(f"--output {output_path}: write predictions to a .parquet file")
    write_parquet(predictions, output_path)
    return predictions


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="predict", description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, required=True, help="CSV in the raw format")
    parser.add_argument("--output", type=Path, required=True, help="Parquet file to write")
    args = parser.parse_args(argv)
    predictions = predict_file(args.input, args.output)
    version = predictions["model_version"].iloc[0]
    print(f"predict: {len(predictions)} rows with model {version} -> {args.output}")


if __name__ == "__main__":
    run_main(lambda: main(sys.argv[1:]))
