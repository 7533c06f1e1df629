"""Stage 6, profile: the reference that the monitor compares new data against.

Profiles each model input of the training split (quantile bins and a sample for
numbers, category counts otherwise, missing rates) and the model's predictions on
it, into models/reference_profile.json beside the model it describes.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..core import paths
from ..core.config import load_params
from ..core.errors import run_main
from ..core.estimators import model_inputs, model_version
from ..core.files import read_parquet, write_json
from ..data.drift import profile
from ..modeling import load_model


def reference_profile(
    inputs: pd.DataFrame,
    predictions: pd.Series,
    categorical: list[str],
    bins: int,
    seed: int,
) -> dict[str, Any]:
    return {
        "rows": len(inputs),
        "features": {
            column: profile(inputs[column], column in categorical, bins, seed)
            for column in inputs.columns
        },
        "prediction": profile(predictions, {{ "True" if cookiecutter.task == 'classification' else "False" }}, bins, seed),
    }


def main() -> None:
    params = load_params()
    inputs = model_inputs(read_parquet(paths.TRAIN), params.features)
    predictions = pd.Series(load_model(paths.MODEL, params).predict(inputs))
    categorical, bins = params.features.categorical, params.monitor.bins
    result = reference_profile(inputs, predictions, categorical, bins, params.seed)
    write_json({"model_version": model_version(paths.MODEL), **result}, paths.PROFILE)
    print(f"profile: {len(result['features'])} inputs and predictions -> {paths.PROFILE}")


if __name__ == "__main__":
    run_main(main)
