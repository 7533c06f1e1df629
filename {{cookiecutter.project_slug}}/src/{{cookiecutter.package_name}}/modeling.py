"""The model: preprocessing and estimator in one scikit-learn Pipeline, stored with skops.

Preprocessing that learns from data (imputation, scaling, one-hot encoding) lives in
the Pipeline, so it is fitted on the training split only and travels with the model.
skops stores the model without pickle; loading accepts only the types listed in
``TRUSTED_TYPES``, so a tampered or unexpected file is refused rather than executed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import skops.io as sio
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from .errors import ConfigError, DataError
from .files import file_md5, write_with

# Every type a pipeline built from the shipped conf/model/ files contains, listed in
# full rather than left to skops' defaults. A model you add may need more: loading it
# names the missing ones. Check each is a class you expect before adding it.
TRUSTED_TYPES = [
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


def feature_columns(features_config: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The numeric and categorical model inputs declared in ``features``."""
    numeric = list(features_config.get("numeric") or [])
    categorical = list(features_config.get("categorical") or [])
    if not numeric and not categorical:
        raise ConfigError(
            "params.yaml: features.numeric and features.categorical are both empty; "
            "list the columns the model should use in conf/features/"
        )
    return numeric, categorical


def check_columns(frame: pd.DataFrame, columns: list[str], source: Any) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise DataError(
            f"{source}: missing column(s) {', '.join(map(repr, missing))} named in params.yaml "
            f"(features or data.target). Available: {', '.join(map(repr, frame.columns))}"
        )


def build_pipeline(numeric: list[str], categorical: list[str], estimator: Any) -> Pipeline:
    """Impute and scale numbers, impute and one-hot encode categories, then estimate."""
    numeric_steps = Pipeline(
        [("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]
    )
    categorical_steps = Pipeline(
        [
            ("impute", SimpleImputer(strategy="most_frequent")),
            ("encode", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
        ]
    )
    preprocess = ColumnTransformer(
        [("numeric", numeric_steps, numeric), ("categorical", categorical_steps, categorical)]
    )
    return Pipeline([("preprocess", preprocess), ("estimator", estimator)])


def model_inputs(frame: pd.DataFrame, numeric: list[str], categorical: list[str]) -> pd.DataFrame:
    """Select the model's input columns, with categories as plain objects and NaN gaps."""
    inputs = frame[numeric + categorical].copy()
    for column in categorical:
        inputs[column] = inputs[column].astype(object).where(inputs[column].notna(), np.nan)
    return inputs


def model_version(path: Path) -> str:
    """The model file's MD5, shortened: the same hash dvc.lock records for it."""
    return file_md5(path)[:12]


def save_model(model: Pipeline, path: Path) -> None:
    write_with(path, lambda temporary: sio.dump(model, temporary))


def load_model(path: Path) -> Pipeline:
    """Load a skops model, refusing any type that is not explicitly trusted."""
    if not Path(path).is_file():
        raise DataError(f"{path} not found. It is produced by the train stage: run `dvc repro`.")
    untrusted = sorted(set(sio.get_untrusted_types(file=path)) - set(TRUSTED_TYPES))
    if untrusted:
        raise DataError(
            f"{path} contains types that are not trusted: {', '.join(untrusted)}. If you "
            "created this model yourself, add them to TRUSTED_TYPES in modeling.py."
        )
    return sio.load(path, trusted=TRUSTED_TYPES)
