"""Stage 4, train: fit preprocessing and the configured estimator on the train split.

The estimator comes from ``model`` in params.yaml (``_target_`` plus arguments, one
file per choice in conf/model/). With ``tuning.enabled`` the model's ``search_space`` is
searched first (tuning.py). Writes the model (skops), the validation scores, and the
search's summary and candidates (empty when tuning is off).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sklearn.pipeline import Pipeline

from ..core import paths
from ..core.config import Params, load_params
from ..core.errors import run_main
from ..core.files import read_parquet, write_csv, write_json
from ..evaluation import score
from ..modeling import (
    build_estimator,
    build_pipeline,
    check_columns,
    model_inputs,
    save_model,
    target_values,
)

CANDIDATE_COLUMNS = ["candidate", "rank", "mean_score", "std_score"]


def fit_or_tune(
    train: pd.DataFrame, params: Params
) -> tuple[Pipeline, dict[str, Any], pd.DataFrame]:
    """The fitted model, a tuning summary and the candidates (none when tuning is off)."""
    target, features = params.data.target, params.features
    check_columns(train, [*features.inputs, target], paths.TRAIN)
    model = build_pipeline(features, build_estimator(params.model, params.classification))
    inputs, y = model_inputs(train, features), target_values(train[target], params.classification)
    if not params.tuning.enabled:
        return (
            model.fit(inputs, y),
            {"enabled": False},
            pd.DataFrame(columns=CANDIDATE_COLUMNS),
        )
    from ..tuning import tune  # scipy and the search only when asked for

    arguments = (model, inputs, y, params.model.search_space, params.tuning)
    arguments += (params.classification, params.seed)
    if params.compute.engine == "dask":  # the cross-validation fits run on the cluster
        import joblib

        from ..core.cluster import connect

        with connect(params.compute), joblib.parallel_backend("dask"):
            model, summary, candidates = tune(*arguments, n_jobs=-1)
    else:
        model, summary, candidates = tune(*arguments)
    return model, {"enabled": True, **summary}, candidates


def training_rows(train: pd.DataFrame, params: Params) -> pd.DataFrame:
    """The train split, or a seeded sample of exactly ``compute.max_train_rows`` of it when
    it is larger (stratified by class for classification), in the split's row order."""
    budget = params.compute.max_train_rows
    if budget is None or len(train) <= budget:
        return train
    from sklearn.model_selection import train_test_split

    strata = train[params.data.target] if params.classification else None
    sample, _ = train_test_split(
        train, train_size=budget, stratify=strata, random_state=params.seed
    )
    return sample.sort_index().reset_index(drop=True)


def main() -> None:
    params = load_params()
    train = read_parquet(paths.TRAIN)
    fitted_on = training_rows(train, params)
    model, tuning, candidates = fit_or_tune(fitted_on, params)
    validation = read_parquet(paths.VALIDATION)
    scores: dict[str, Any] = {"train_rows": len(fitted_on)}
    if len(fitted_on) < len(train):
        scores["train_rows_sampled_from"] = len(train)
    if len(validation):
        inputs = model_inputs(validation, params.features)
        scores |= score(model, inputs, validation[params.data.target], params.classification)
    save_model(model, paths.MODEL)
    write_json(scores, paths.VALIDATION_METRICS)
    write_json(tuning, paths.TUNING)
    write_csv(candidates, paths.TUNING_CANDIDATES)
    estimator = type(model.named_steps["estimator"]).__name__
    print(f"train: {estimator} -> {paths.MODEL}; validation {scores}")


if __name__ == "__main__":
    run_main(main)
