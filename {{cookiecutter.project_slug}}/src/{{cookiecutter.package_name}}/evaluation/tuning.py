"""Fitting the model: as configured, or after an opt-in search of its declared ranges.

Each model file may carry a ``search_space``: per estimator argument, either a list of
values to choose from, or a range ``{low, high, log, type}`` sampled from scipy.stats
(``log: true`` samples a float range evenly on a log scale).
With ``tuning.enabled: true`` the train stage runs a seeded randomized search with
cross-validation on the training split, refits the best candidate on all of it, and
records every candidate's score.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from scipy import stats
from sklearn.model_selection import {{ 'RandomizedSearchCV, StratifiedKFold' if cookiecutter.task == 'classification' else 'KFold, RandomizedSearchCV' }}, train_test_split
from sklearn.pipeline import Pipeline

from ..core import paths
from ..core.config import Params, Tuning
from ..core.errors import ConfigError
from ..core.estimators import check_columns, model_inputs{{ ', target_values' if cookiecutter.task == 'classification' else '' }}
from ..data.splitting import check_learnable
from ..modeling import build_estimator, build_pipeline
from .scoring import DIGITS, metric

ESTIMATOR_STEP = "estimator"


def distribution(name: str, spec: Any) -> Any:
    """A list of choices, or a scipy distribution for a ``{low, high}`` range."""
    where = f"params.yaml: model.search_space.{name}"
    if isinstance(spec, list) and spec:
        return spec
    if not isinstance(spec, dict) or not {"low", "high"} <= set(spec):
        raise ConfigError(f"{where} must be a list of values or a mapping with low and high")
    low, high, log = spec["low"], spec["high"], bool(spec.get("log", False))
    if not low < high or (log and low <= 0):
        raise ConfigError(f"{where} needs low < high (and low > 0 with log: true)")
    if spec.get("type", "float") == "int":
        return stats.randint(int(low), int(high) + 1)  # every integer equally likely
    return stats.loguniform(low, high) if log else stats.uniform(low, high - low)


def search_distributions(search_space: dict[str, Any]) -> dict[str, Any]:
    """Pipeline parameter names (``estimator__<arg>``) mapped to what to sample."""
    if not isinstance(search_space, dict) or not search_space:
        raise ConfigError(
            "tuning.enabled is true but the model declares no search_space in conf/model/"
        )
    return {
        f"{ESTIMATOR_STEP}__{name}": distribution(name, spec) for name, spec in search_space.items()
    }


def tune(
    model: Pipeline,
    inputs: pd.DataFrame,
    target: pd.Series,
    search_space: dict[str, Any],
    tuning: Tuning,
    seed: int,
    n_jobs: int = 1,
) -> tuple[Pipeline, dict[str, Any], pd.DataFrame]:
    """Search, refit the best candidate; return it, a summary and one row per candidate.

    ``n_jobs=-1`` under joblib's dask backend sends the cross-validation fits to the cluster.
    """
    search = RandomizedSearchCV(
        model,
        search_distributions(search_space),
        n_iter=tuning.candidates,
        scoring=metric(tuning.scoring, "tuning.scoring").scorer,
        cv={{ 'StratifiedKFold' if cookiecutter.task == 'classification' else 'KFold' }}(n_splits=tuning.folds, shuffle=True, random_state=seed),
        random_state=seed,
        refit=True,
        n_jobs=n_jobs,
    )
    search.fit(inputs, target)
    best = {
        name.removeprefix(f"{ESTIMATOR_STEP}__"): plain(value)
        for name, value in search.best_params_.items()
    }
    summary = {
        "scoring": tuning.scoring,
        "best_cv_score": round(float(search.best_score_), DIGITS),
        "best_params": best,
        "candidates": len(search.cv_results_["params"]),
    }
    return search.best_estimator_, summary, candidate_rows(search.cv_results_)


def candidate_rows(cv_results: dict[str, Any]) -> pd.DataFrame:
    """One row per candidate: its rank, mean and spread of the CV score, its parameters."""
    frame = pd.DataFrame(
        {
            "candidate": range(len(cv_results["params"])),
            "rank": cv_results["rank_test_score"],
            "mean_score": cv_results["mean_test_score"],
            "std_score": cv_results["std_test_score"],
        }
    )
    for name in cv_results["params"][0]:
        frame[name.removeprefix(f"{ESTIMATOR_STEP}__")] = [
            plain(params[name]) for params in cv_results["params"]
        ]
    return frame.round(DIGITS)


def plain(value: Any) -> Any:
    """numpy scalars as Python numbers, so the results serialise as JSON."""
    return value.item() if hasattr(value, "item") else value


CANDIDATE_COLUMNS = ["candidate", "rank", "mean_score", "std_score"]


def fit_or_tune(
    train: pd.DataFrame, params: Params
) -> tuple[Pipeline, dict[str, Any], pd.DataFrame]:
    """The fitted model, a tuning summary and the candidates (none when tuning is off)."""
    target, features = params.data.target, params.features
    check_columns(train, [*features.inputs, target], paths.TRAIN)
    model = build_pipeline(features, build_estimator(params.model))
    inputs, y = model_inputs(train, features), {{ 'target_values(train[target])' if cookiecutter.task == 'classification' else 'train[target]' }}
    check_learnable(inputs, y, target)
    if not params.tuning.enabled:
        return (
            model.fit(inputs, y),
            {"enabled": False},
            pd.DataFrame(columns=CANDIDATE_COLUMNS),
        )
    arguments = (model, inputs, y, params.model.search_space, params.tuning, params.seed)
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
    it is larger{{ ' (stratified by class)' if cookiecutter.task == 'classification' else '' }}, in the split's row order."""
    budget = params.compute.max_train_rows
    if budget is None or len(train) <= budget:
        return train
    sample, _ = train_test_split(
        train,
        train_size=budget,
{%- if cookiecutter.task == 'classification' %}
        stratify=train[params.data.target],
{%- endif %}
        random_state=params.seed,
    )
    return sample.sort_index().reset_index(drop=True)
