"""Stage 4, train: fit preprocessing and the configured estimator on the train split.

The estimator comes from ``model`` in params.yaml (``_target_`` plus arguments, one
file per choice in conf/model/) through ``hydra.utils.instantiate``. With
``tuning.enabled`` the model's ``search_space`` is searched first (see tuning.py).
Validation scores go to reports/validation_metrics.json, the search results to
reports/tuning.json and reports/tuning_candidates.csv, the model to models/ via skops.
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
from ..files import read_parquet, write_csv, write_json
from ..metrics import score
from ..modeling import build_pipeline, check_columns, feature_columns, model_inputs, save_model
from ..params import get, get_task, load_params

SEARCH_SPACE = "search_space"  # the key in a model's config that is not an argument
CANDIDATE_COLUMNS = ["candidate", "rank", "mean_score", "std_score"]


def build_estimator(model_config: dict[str, Any], task: str) -> Any:
    """Instantiate ``model`` (without its search space) and check it suits the task."""
    if not isinstance(model_config, dict) or "_target_" not in model_config:
        raise ConfigError("params.yaml: model must be a mapping with a '_target_' class path")
    arguments = {key: value for key, value in model_config.items() if key != SEARCH_SPACE}
    try:
        estimator = instantiate(arguments)
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
    return model.fit(model_inputs(train, numeric, categorical), train[target])


def fit_or_tune(
    train: pd.DataFrame,
    numeric: list[str],
    categorical: list[str],
    target: str,
    model_config: dict[str, Any],
    tuning: dict[str, Any],
    task: str,
    seed: int,
) -> tuple[Pipeline, dict[str, Any], pd.DataFrame]:
    """The fitted model, a tuning summary and the candidates (none when tuning is off)."""
    estimator = build_estimator(model_config, task)
    if not tuning.get("enabled"):
        model = fit(train, numeric, categorical, target, estimator)
        return model, {"enabled": False}, pd.DataFrame(columns=CANDIDATE_COLUMNS)
    from ..tuning import tune  # scipy and the search only when asked for

    check_columns(train, [*numeric, *categorical, target], paths.TRAIN)
    model, summary, candidates = tune(
        build_pipeline(numeric, categorical, estimator),
        model_inputs(train, numeric, categorical),
        train[target],
        model_config.get(SEARCH_SPACE),
        tuning,
        task,
        seed,
    )
    return model, {"enabled": True, **summary}, candidates


def main() -> None:
    params = load_params()
    task = get_task(params)
    target = get(params, "data.target")
    numeric, categorical = feature_columns(get(params, "features"))
    model, tuning, candidates = fit_or_tune(
        read_parquet(paths.TRAIN),
        numeric,
        categorical,
        target,
        get(params, "model"),
        get(params, "tuning"),
        task,
        get(params, "seed"),
    )
    validation = read_parquet(paths.VALIDATION)
    scores = {}
    if len(validation):
        inputs = model_inputs(validation, numeric, categorical)
        scores = score(model, inputs, validation[target], task)
    save_model(model, paths.MODEL)
    write_json(scores, paths.VALIDATION_METRICS)
    write_json(tuning, paths.TUNING)
    write_csv(candidates, paths.TUNING_CANDIDATES)
    estimator = type(model.named_steps["estimator"]).__name__
    print(f"train: {estimator} -> {paths.MODEL}; validation {scores}")


if __name__ == "__main__":
    run_main(main)
