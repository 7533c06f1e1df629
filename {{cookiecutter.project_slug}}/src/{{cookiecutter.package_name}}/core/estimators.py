"""A model's machinery: building the configured estimator, the inputs it takes, its
outputs, and loading a model file only when it is what the project trusts.

What the model is (its pipeline, the libraries and types it may use) is yours, in
modeling.py; these functions take those declarations as arguments.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import {{ 'is_classifier' if cookiecutter.task == 'classification' else 'is_regressor' }}
from sklearn.pipeline import Pipeline

from . import model_file, paths, trust
from .config import Features, Model, Params
from .errors import ConfigError, DataError
from .files import file_md5


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


def build_estimator(model: Model, libraries: tuple[str, ...]) -> Any:
    """Instantiate ``model`` (without its search space), once its targets are in
    ``libraries``, and check it suits the task."""
    from hydra.errors import HydraException
    from hydra.utils import instantiate

    # Before instantiate imports or calls anything, at any depth:
    trust.checked_targets(model.target, model.arguments, libraries, paths.PARAMS)
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


def load_model(
    path: Path, params: Params, libraries: tuple[str, ...], trusted: list[str], source: object
) -> Pipeline:
    """The skops model in ``path``, once ``source`` (the params it was trained with)
    names only estimators of ``libraries``, the file holds only ``trusted`` types or types
    of ``libraries``, and the model is the one those params describe."""
    model = params.model
    estimator = trust.checked_targets(model.target, model.arguments, libraries, source)
    others = tuple(library for library in libraries if library != "sklearn")
    loaded = model_file.load(path, trusted, others)  # sklearn's: listed one by one
    trust.check_model_fits(loaded, estimator, params.features.inputs, path, source)
    return loaded
