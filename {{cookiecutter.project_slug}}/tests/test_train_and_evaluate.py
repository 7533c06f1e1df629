"""Model building from conf/model/, skops round trips, and evaluation outputs."""

from __future__ import annotations

from math import prod
from pathlib import Path

import pytest
from sklearn.dummy import DummyClassifier, DummyRegressor

from {{ cookiecutter.package_name }}.compose import compose_params
from {{ cookiecutter.package_name }}.errors import ConfigError, DataError
from {{ cookiecutter.package_name }}.modeling import load_model, save_model
from {{ cookiecutter.package_name }}.stages.evaluate import evaluate
from {{ cookiecutter.package_name }}.stages.train import (
    build_estimator,
    fit,
    fit_or_tune,
)
from {{ cookiecutter.package_name }}.tuning import search_distributions

CONF = Path(__file__).resolve().parents[1] / "conf"
MODEL_CHOICES = sorted(path.stem for path in (CONF / "model").glob("*.yaml"))
TASK = compose_params(config_dir=CONF)["task"]
TARGET = {"classification": "label", "regression": "amount"}[TASK]


def model_config(choice: str) -> dict:
    return compose_params([f"model={choice}"], config_dir=CONF)["model"]


@pytest.mark.parametrize("choice", MODEL_CHOICES)
def test_every_model_choice_trains_saves_and_loads(choice, tabular, tmp_path):
    estimator = build_estimator(model_config(choice), TASK)
    model = fit(tabular, ["x", "y"], ["colour"], TARGET, estimator)
    path = tmp_path / "model.skops"
    save_model(model, path)
    loaded = load_model(path)  # fails if a type is missing from TRUSTED_TYPES
    inputs = tabular[["x", "y", "colour"]]
    assert (loaded.predict(inputs) == model.predict(inputs)).all()
    assert not list(tmp_path.glob(".*.tmp")), "the temporary file was not cleaned up"


def test_model_of_the_wrong_task_is_refused():
    other = "sklearn.linear_model.Ridge" if TASK == "classification" else "sklearn.svm.SVC"
    with pytest.raises(ConfigError, match=f"model._target_ {other} is not a"):
        build_estimator({"_target_": other}, TASK)


def test_unknown_model_class_is_a_config_error():
    with pytest.raises(ConfigError, match="model could not be built"):
        build_estimator({"_target_": "sklearn.linear_model.NoSuchModel"}, TASK)


def test_missing_feature_column_is_named(tabular):
    estimator = build_estimator(model_config(MODEL_CHOICES[0]), TASK)
    with pytest.raises(DataError, match="'weight'"):
        fit(tabular, ["x", "weight"], [], TARGET, estimator)


class UnlistedRegressor(DummyRegressor):
    """A class nobody added to TRUSTED_TYPES, standing in for a tampered model file."""


class UnlistedClassifier(DummyClassifier):
    """A class nobody added to TRUSTED_TYPES, standing in for a tampered model file."""


def test_untrusted_model_file_is_refused(tabular, tmp_path):
    unlisted = UnlistedClassifier() if TASK == "classification" else UnlistedRegressor()
    path = tmp_path / "model.skops"
    save_model(fit(tabular, ["x"], [], TARGET, unlisted), path)
    with pytest.raises(DataError, match=r"not trusted: .*Unlisted"):
        load_model(path)


def test_evaluate_reports_task_metrics_slices_and_plots(tabular):
    train, test = tabular.iloc[:60], tabular.iloc[60:].reset_index(drop=True)
    estimator = build_estimator(model_config("random_forest"), TASK)
    model = fit(train, ["x", "y"], ["colour"], TARGET, estimator)
    results = evaluate(model, test, TARGET, TASK, ["x", "y"], ["colour"], ["colour"], 3, 0)
    expected = (
        {"accuracy", "balanced_accuracy", "f1_macro", "log_loss", "roc_auc_ovr", "test_rows"}
        if TASK == "classification"
        else {"rmse", "mae", "r2", "test_rows"}
    )
    assert set(results["metrics"]) == expected
    assert results["metrics"]["test_rows"] == len(test)
    groups = results["slices"]["colour"]["groups"]
    assert sum(group["rows"] for group in groups.values()) == len(test)
    assert results["importance"]["feature"].iloc[0] == "x"  # x drives both targets
    if TASK == "classification":
        assert len(results["confusion"]) == len(test)
        assert set(results["curves"]["roc"]) == {"high", "low", "mid"}
    else:
        assert list(results["predictions"].columns) == ["actual", "predicted", "residual"]


def tuning_config(enabled: bool = True) -> dict:
    scoring = "accuracy" if TASK == "classification" else "r2"
    return {"enabled": enabled, "candidates": 4, "folds": 3, "scoring": scoring}


@pytest.mark.parametrize("choice", MODEL_CHOICES)
def test_tuning_searches_the_declared_space_and_records_every_candidate(choice, tabular):
    config = model_config(choice)
    model, summary, candidates = fit_or_tune(
        tabular, ["x", "y"], ["colour"], TARGET, config, tuning_config(), TASK, seed=0
    )
    assert summary["enabled"] is True
    assert set(summary["best_params"]) == set(config["search_space"])
    assert len(candidates) == summary["candidates"] == min(4, candidates_possible(config))
    assert candidates["rank"].min() == 1
    assert candidates["mean_score"].max() == pytest.approx(summary["best_cv_score"])
    chosen = model.named_steps["estimator"].get_params()
    assert all(chosen[name] == value for name, value in summary["best_params"].items())


def candidates_possible(config: dict) -> int:
    """RandomizedSearchCV samples without repeats when every dimension is a list."""
    space = config["search_space"].values()
    if all(isinstance(values, list) for values in space):
        return prod(len(values) for values in space)
    return 10**6


def test_tuning_off_fits_without_searching(tabular):
    _, summary, candidates = fit_or_tune(
        tabular, ["x"], [], TARGET, model_config(MODEL_CHOICES[0]), tuning_config(False), TASK, 0
    )
    assert summary == {"enabled": False}
    assert candidates.empty
    assert list(candidates.columns) == ["candidate", "rank", "mean_score", "std_score"]


@pytest.mark.parametrize(
    ("space", "message"),
    [
        ({}, "declares no search_space"),
        ({"C": {"low": 5, "high": 1}}, r"search_space\.C needs low < high"),
        ({"C": {"low": 0, "high": 1, "log": True}}, r"low > 0 with log"),
        ({"C": "wide"}, r"search_space\.C must be a list of values or a mapping"),
    ],
)
def test_bad_search_space_is_named(space, message):
    with pytest.raises(ConfigError, match=message):
        search_distributions(space)
