"""Batch prediction with exactly the training pipeline's cleaning and features.

New rows go through the same functions as training data (data/): the raw schema
without the target, which new data need not have, tidying and the derived features.
Rows are never dropped: each input row gets a prediction, keyed by its CSV line, with
the version of the model that made it.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..core import paths
from ..core.config import Params, load_params
from ..core.errors import PipelineError
from ..core.files import write_parquet
from ..core.paths import file_stem
from ..data import derive_features, read_raw_csv, tidy, validate_raw
from ..modeling import load_model, model_inputs, model_version, predict_outputs


def predict_frame(
    model: Any, raw: pd.DataFrame, params: Params, source: Any, version: str
) -> pd.DataFrame:
    """One row per input row: its CSV line, the prediction, class probabilities, version."""
    columns = params.data.inputs()  # new rows need not have the target
    predictions = predict_tidy(model, tidy(validate_raw(raw, columns, source), columns), params)
    predictions.insert(0, "line", np.arange(len(raw)) + 2)  # line 1 is the header
    predictions["model_version"] = version
    return predictions


def predict_tidy(model: Any, clean: pd.DataFrame, params: Params) -> pd.DataFrame:
    """Predictions (and class probabilities) for schema-checked, tidied rows, in order."""
    inputs = model_inputs(derive_features(clean, params.features.derived), params.features)
    labels, probabilities = predict_outputs(model, inputs, params.classification)
    predictions = pd.DataFrame({"prediction": labels})
    if probabilities is not None:
        for index, label in enumerate(model.classes_):
            predictions[f"probability_{file_stem(label)}"] = probabilities[:, index]
    return predictions


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, required=True, help="CSV in the raw format")
    parser.add_argument("--output", type=Path, required=True, help="Parquet file to write")
    args = parser.parse_args(argv)
    if args.output.suffix != ".parquet":
        raise PipelineError(f"--output {args.output}: write predictions to a .parquet file")
    params = load_params()
    sources = [column.source for column in params.data.inputs().values()]
    raw = read_raw_csv(args.input, params.data.na_values, sources, **params.data.dialect())
    version = model_version(paths.MODEL)
    predictions = predict_frame(load_model(paths.MODEL), raw, params, args.input, version)
    write_parquet(predictions, args.output)
    print(f"predict: {len(predictions)} rows with model {version} -> {args.output}")
