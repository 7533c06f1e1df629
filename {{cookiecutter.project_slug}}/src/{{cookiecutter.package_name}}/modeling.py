"""The model: preprocessing and estimator in one scikit-learn Pipeline, stored with skops.

Preprocessing that learns from data (imputation, scaling, one-hot encoding) lives in
the Pipeline, so it is fitted on the training split only and travels with the model.
The estimator is built from ``model`` in params.yaml with ``hydra.utils.instantiate``.
skops stores the model without pickle; loading accepts only the types listed in
``TRUSTED_TYPES``, so a tampered or unexpected file is refused rather than executed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import {{ 'is_classifier' if cookiecutter.task == 'classification' else 'is_regressor' }}
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from .core import model_file, paths, trust
from .core.config import Features, Model, Params
from .core.errors import ConfigError, DataError
from .core.files import file_md5

# The libraries whose estimators conf/model/ may name (`_target_`) and whose types a
# model file may hold. A `_target_` of any other package is refused before it is
# imported, wherever the params.yaml comes from (this tree, a release tag, a bundle): a
# config that travels with a model cannot widen what the model may run. To use
# LightGBM, say, add "lightgbm" (README: "Use a model from another library").
MODEL_LIBRARIES = ("sklearn",)

# Every type a pipeline built from the shipped conf/model/ files contains, listed in
# full rather than left to skops' defaults. A scikit-learn model you add may need more:
# loading it names the missing ones. Check each is a class you expect before adding it.
# A library added to MODEL_LIBRARIES needs no list: its own types are trusted.
TRUSTED_TYPES = [
    "collections.OrderedDict",
    "numpy.dtype",
    "numpy.float64",
    "numpy.int64",
    "numpy.ndarray",
    "numpy.random._generator.Generator",
    "numpy.uint64",
    "sklearn._loss._loss.CyHalfBinomialLoss",
    "sklearn._loss._loss.CyHalfMultinomialLoss",
    "sklearn._loss._loss.CyHalfSquaredError",
    "sklearn._loss.link.IdentityLink",
    "sklearn._loss.link.Interval",
    "sklearn._loss.link.LogitLink",
    "sklearn._loss.link.MultinomialLogit",
    "sklearn._loss.loss.HalfBinomialLoss",
    "sklearn._loss.loss.HalfMultinomialLoss",
    "sklearn._loss.loss.HalfSquaredError",
    "sklearn.compose._column_transformer.ColumnTransformer",
    "sklearn.ensemble._forest.RandomForestClassifier",
    "sklearn.ensemble._forest.RandomForestRegressor",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier",
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingRegressor",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.impute._base.SimpleImputer",
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.linear_model._ridge.Ridge",
    "sklearn.pipeline.Pipeline",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.preprocessing._encoders.OneHotEncoder",
    "sklearn.preprocessing._label.LabelEncoder",
    "sklearn.tree._classes.DecisionTreeClassifier",
    "sklearn.tree._classes.DecisionTreeRegressor",
    "sklearn.tree._tree.Tree",
]


RARE_LEVEL_ROWS = 5  # a category seen on fewer training rows is one "infrequent" column


def checked_arguments(estimator: Any) -> None:
    """scikit-learn's own check of the arguments, reported as the params.yaml key.

    Estimators of other libraries declare no constraints to check: they check their
    arguments when they are fitted.
    """
    if not hasattr(estimator, "_parameter_constraints"):
        return
    try:
        estimator._validate_params()
    except (ValueError, TypeError) as error:
        name = re.search(r"The '(\w+)' parameter", str(error))
        key = f"model.{name.group(1)}" if name else "model"
        raise ConfigError(f"params.yaml: {key}: {error}") from None


def build_estimator(model: Model) -> Any:
    """Instantiate ``model`` (without its search space) and check it suits the task."""
    from hydra.errors import HydraException
    from hydra.utils import instantiate

    # Before instantiate imports or calls anything, at any depth:
    trust.checked_targets(model.target, model.arguments, MODEL_LIBRARIES, paths.PARAMS)
    try:
        estimator = instantiate({"_target_": model.target, **model.arguments})
    except HydraException as error:
        raise ConfigError(f"params.yaml: model could not be built: {error}") from None
    if not {{ 'is_classifier' if cookiecutter.task == 'classification' else 'is_regressor' }}(estimator):
        raise ConfigError(
            f"params.yaml: model._target_ {model.target} is not a "
            "{{ 'classifier' if cookiecutter.task == 'classification' else 'regressor' }}, and this project's task is {{ cookiecutter.task }}"
        )
    checked_arguments(estimator)
    return estimator


def check_columns(frame: pd.DataFrame, columns: list[str], source: Any) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise DataError(
            f"{source}: missing column(s) {', '.join(map(repr, missing))} named in params.yaml "
            f"(features or data.target). Available: {', '.join(map(repr, frame.columns))}"
        )


def build_pipeline(features: Features, estimator: Any) -> Pipeline:
    """Impute and scale numbers, impute and one-hot encode categories, then estimate.

    Rare categories (and, at prediction, unseen ones) share one "infrequent" column, so a
    category of a hundred levels neither overfits its rare levels nor fails on a new one.
    """
    if not features.inputs:
        raise ConfigError(
            "params.yaml: features.numeric and features.categorical are both empty; "
            "list the columns the model should use in conf/features/"
        )
    numeric_steps = Pipeline(
        [("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]
    )
    categorical_steps = Pipeline(
        [
            ("impute", SimpleImputer(strategy="most_frequent")),
            (
                "encode",
                OneHotEncoder(
                    handle_unknown="infrequent_if_exist",
                    min_frequency=RARE_LEVEL_ROWS,
                    sparse_output=False,
                ),
            ),
        ]
    )
    preprocess = ColumnTransformer(
        [
            ("numeric", numeric_steps, features.numeric),
            ("categorical", categorical_steps, features.categorical),
        ]
    )
    return Pipeline([("preprocess", preprocess), ("estimator", estimator)])


def model_inputs(frame: pd.DataFrame, features: Features | None = None) -> pd.DataFrame:
    """The model's input columns (``features``; None: all), categories as plain objects
    with NaN gaps, as scikit-learn's encoders take them."""
    inputs = frame[features.inputs if features else list(frame.columns)].copy()
    declared = set(features.categorical if features else [])
    for column, values in inputs.items():
        text = pd.api.types.is_string_dtype(values.dtype)  # object columns too
        if column in declared or text or isinstance(values.dtype, pd.CategoricalDtype):
            inputs[column] = values.astype(object).where(values.notna(), np.nan)
    return inputs
{%- if cookiecutter.task == 'classification' %}


def predict_outputs(model: Pipeline, inputs: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
    """Predictions and, for a classifier that has them, class probabilities.

    The preprocessing runs once for both rather than once per method: on a small
    request it is most of the cost.
    """
    estimator, transformed = model[-1], model[:-1].transform(inputs)
    labels = np.asarray(estimator.predict(transformed))
    if hasattr(estimator, "predict_proba"):
        return labels, estimator.predict_proba(transformed)
    return labels, None


def target_values(y: pd.Series) -> Any:
    """The class labels as the estimator is fitted on them.

    Text labels become fixed-width strings: scikit-learn sorts the labels several times
    while fitting, and numpy sorts those in C rather than as Python objects.
    """
    labels = y.cat.categories if isinstance(y.dtype, pd.CategoricalDtype) else y
    if pd.api.types.infer_dtype(labels, skipna=False) == "string":
        return y.to_numpy().astype(str)
    return y
{%- else %}


def predict_outputs(model: Pipeline, inputs: pd.DataFrame) -> np.ndarray:
    """The model's predictions as a plain array."""
    return np.asarray(model.predict(inputs))
{%- endif %}


def model_version(path: Path) -> str:
    """The model file's MD5, shortened: the same hash dvc.lock records for it."""
    return file_md5(path)[:12]


def save_model(model: Pipeline, path: Path) -> None:
    model_file.save(model, path)


def load_model(path: Path, params: Params, source: object = paths.PARAMS) -> Pipeline:
    """The skops model in ``path``, once ``source`` (the params it was trained with)
    names only allowed estimators, the file holds only ``TRUSTED_TYPES`` or types of
    ``MODEL_LIBRARIES``, and the model is the one those params describe."""
    model = params.model
    estimator = trust.checked_targets(model.target, model.arguments, MODEL_LIBRARIES, source)
    others = tuple(library for library in MODEL_LIBRARIES if library != "sklearn")
    loaded = model_file.load(path, TRUSTED_TYPES, others)  # sklearn's: listed one by one
    trust.check_model_fits(loaded, estimator, params.features.inputs, path, source)
    return loaded
