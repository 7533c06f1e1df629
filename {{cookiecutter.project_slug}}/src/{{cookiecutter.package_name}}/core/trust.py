"""What a config or a model file may make run: estimator classes of the libraries the
project allows, and nothing else.

A params.yaml travels with its model (at a git tag, in a bundle), so whoever hands over a
model file hands over its config too. Trust therefore never follows a name read from
either: every ``_target_`` must name a class of a library in the project's own allow-list
(``MODEL_LIBRARIES`` in modeling.py) before anything is imported, and a loaded model must
be the one its config describes.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

from .errors import ConfigError, DataError, shorten

LIBRARIES_HOME = "MODEL_LIBRARIES in modeling.py"


def estimator_class(
    target: Any,
    libraries: tuple[str, ...],
    key: str = "model._target_",
    source: object = "params.yaml",
) -> type:
    """The class ``target`` names, once its library is allowed and it is an estimator."""
    module_name, _, class_name = str(target).rpartition(".")
    if not isinstance(target, str) or not module_name:
        raise ConfigError(
            f"{source}: {key} {shorten(target)}: name a class as module.Class, "
            "e.g. sklearn.linear_model.Ridge"
        )
    if module_name.split(".")[0] not in libraries:
        raise ConfigError(
            f"{source}: {key} {shorten(target)} is not from a library this project allows "
            f"({', '.join(libraries)}); nothing was imported. To use estimators of another "
            f"library, add its package to {LIBRARIES_HOME}"
        )
    try:
        found = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError, ValueError) as error:
        raise ConfigError(f"{source}: {key} {target!r} cannot be imported: {error}") from None
    if not isinstance(found, type) or not all(
        callable(getattr(found, name, None)) for name in ("fit", "get_params")
    ):
        raise ConfigError(
            f"{source}: {key} {target!r} is not a scikit-learn estimator class "
            "(a class with fit and get_params); nothing else may be built from the config"
        )
    return found


def nested_targets(value: Any, key: str) -> Iterator[tuple[str, Any]]:
    """Every ``_target_`` inside an argument, at any depth, with its params.yaml key."""
    if isinstance(value, dict):
        if "_target_" in value:
            yield f"{key}._target_", value["_target_"]
        for name, item in value.items():
            yield from nested_targets(item, f"{key}.{name}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from nested_targets(item, f"{key}[{index}]")


def checked_targets(
    target: str, arguments: dict[str, Any], libraries: tuple[str, ...], source: object
) -> type:
    """The estimator class, after every ``_target_`` (top level and nested) passed."""
    for key, nested in nested_targets(arguments, "model"):
        estimator_class(nested, libraries, key, source)
    return estimator_class(target, libraries, source=source)


def check_model_fits(
    model: Any, estimator: type, inputs: list[str], path: object, source: object
) -> None:
    """Refuse a model that is not the one ``source`` describes: another estimator, other
    input columns, or no pipeline at all (a file from another project, or params.yaml
    edited without retraining)."""
    steps = getattr(model, "steps", None)
    if not steps or not hasattr(model, "predict"):
        raise DataError(
            f"{path} holds a {type(model).__name__}, not this project's model pipeline: "
            "retrain with `dvc repro`, or fetch the right file with `dvc pull`"
        )
    found = type(steps[-1][1])
    if found is not estimator:
        raise DataError(
            f"{path} holds a {found.__module__}.{found.__name__}, but {source} names "
            f"{estimator.__module__}.{estimator.__name__} (model._target_): the model was "
            "not trained with this config; retrain with `dvc repro`"
        )
    trained_on = [str(name) for name in getattr(model, "feature_names_in_", [])]
    if trained_on != list(inputs):
        missing = [name for name in inputs if name not in trained_on]
        extra = [name for name in trained_on if name not in inputs]
        parts = [f"not trained on {shorten(', '.join(missing), 200)}"] if missing else []
        parts += [f"trained on {shorten(', '.join(extra), 200)} too"] if extra else []
        detail = "; ".join(parts) or "in another order"
        raise DataError(
            f"{path} was trained on other inputs than {source} lists in features.numeric "
            f"and features.categorical ({detail}): the config changed without retraining; "
            "run `dvc repro`"
        )
