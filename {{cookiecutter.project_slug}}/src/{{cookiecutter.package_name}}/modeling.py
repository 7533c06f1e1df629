"""The model (yours to shape): preprocessing and estimator in one scikit-learn Pipeline.

Preprocessing that learns from data (imputation, scaling, one-hot encoding) lives in
the Pipeline, so it is fitted on the training split only and travels with the model.
The estimator is built from ``model`` in params.yaml with ``hydra.utils.instantiate``.
skops stores the model without pickle; loading accepts only the types listed in
``TRUSTED_TYPES``, so a tampered or unexpected file is refused rather than executed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from .core import estimators, paths
from .core.config import Features, Model, Params
from .core.errors import ConfigError

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


def build_estimator(model: Model) -> Any:
    """The estimator ``model`` in params.yaml configures, from the libraries above."""
    return estimators.build_estimator(model, MODEL_LIBRARIES)


def load_model(path: Path, params: Params, source: object = paths.PARAMS) -> Pipeline:
    """The model file in ``path``, loaded only if it holds what this module trusts."""
    return estimators.load_model(path, params, MODEL_LIBRARIES, TRUSTED_TYPES, source)
