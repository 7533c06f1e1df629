"""Stage 4, train: fit preprocessing and the configured estimator on the train split.

The estimator comes from ``model`` in params.yaml (``_target_`` plus arguments, one
file per choice in conf/model/) through ``hydra.utils.instantiate``. Validation
scores go to reports/validation_metrics.json; the model goes to models/ via skops.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from hydra.errors import HydraException
from hydra.utils import instantiate
from sklearn.base import is_classifier, is_regressor
from sklearn.pipeline import Pipeline

from .. import paths
from ..errors import ConfigError, run_main
from ..files import read_parquet, write_json
from ..metrics import score
from ..modeling import build_pipeline, check_columns, feature_columns, model_inputs, save_model
from ..params import get, get_task, load_params


def build_estimator(model_config: dict[str, Any], task: str) -> Any:
    """Instantiate ``model`` and check it suits the task."""
    if not isinstance(model_config, dict) or "_target_" not in model_config:
        raise ConfigError("params.yaml: model must be a mapping with a '_target_' class path")
    try:
        estimator = instantiate(model_config)
    except HydraException as error:
        raise ConfigError(f"params.yaml: model could not be built: {error}") from None
    kind, fits_task = (
        ("classifier", is_classifier(estimator))
        if task == "classification"
        else ("regressor", is_regressor(estimator))
    )
    if not fits_task:
        raise ConfigError(
            f"params.yaml: model._target_ {model_config['_target_']} is not a {kind}, "
            f"but task is {task!r}"
        )
    return estimator


def fit(
    train: pd.DataFrame,
    numeric: list[str],
    categorical: list[str],
    target: str,
    estimator: Any,
) -> Pipeline:
    check_columns(train, [*numeric, *categorical, target], paths.TRAIN)
    model = build_pipeline(numeric, categorical, estimator)
    return model.fit(model_inputs(train, numeric + categorical, categorical), train[target])


def main() -> None:
    params = load_params()
    task = get_task(params)
    target = get(params, "data.target")
    numeric, categorical = feature_columns(get(params, "features"))
    estimator = build_estimator(get(params, "model"), task)
    model = fit(read_parquet(paths.TRAIN), numeric, categorical, target, estimator)
    validation = read_parquet(paths.VALIDATION)
    scores = {}
    if len(validation):
        inputs = model_inputs(validation, numeric + categorical, categorical)
        scores = score(model, inputs, validation[target], task)
    save_model(model, paths.MODEL)
    write_json(scores, paths.VALIDATION_METRICS)
    print(f"train: {type(estimator).__name__} -> {paths.MODEL}; validation {scores}")


if __name__ == "__main__":
    run_main(main)
