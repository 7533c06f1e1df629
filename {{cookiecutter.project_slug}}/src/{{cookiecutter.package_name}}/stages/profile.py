"""Stage 6, profile: the reference that the monitor compares new data against.

Profiles each model input of the training split (quantile bins and a sample for
numbers, category counts otherwise, missing rates) and the model's predictions on
it, into models/reference_profile.json beside the model it describes.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .. import paths
from ..drift import profile
from ..errors import ConfigError, run_main
from ..files import read_parquet, write_json
from ..modeling import feature_columns, load_model, model_inputs, model_version
from ..params import get, get_task, load_params


def reference_profile(
    train: pd.DataFrame,
    predictions: pd.Series,
    numeric: list[str],
    categorical: list[str],
    task: str,
    bins: int,
    seed: int,
) -> dict[str, Any]:
    return {
        "rows": len(train),
        "features": {
            column: profile(train[column], column in categorical, bins, seed)
            for column in [*numeric, *categorical]
        },
        "prediction": profile(predictions, task == "classification", bins, seed),
    }


def main() -> None:
    params = load_params()
    numeric, categorical = feature_columns(get(params, "features"))
    bins = get(params, "monitor.bins")
    if not isinstance(bins, int) or bins < 2:
        raise ConfigError(f"params.yaml: monitor.bins must be an integer >= 2, got {bins!r}")
    train = read_parquet(paths.TRAIN)
    model = load_model(paths.MODEL)
    predictions = pd.Series(model.predict(model_inputs(train, numeric, categorical)))
    result = reference_profile(
        train, predictions, numeric, categorical, get_task(params), bins, get(params, "seed")
    )
    write_json({"model_version": model_version(paths.MODEL), **result}, paths.PROFILE)
    print(f"profile: {len(result['features'])} inputs and predictions -> {paths.PROFILE}")


if __name__ == "__main__":
    run_main(main)
