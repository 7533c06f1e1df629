"""How good a fitted model is: the scores metrics.py declares, per slice too, and the
tables behind the plots dvc.yaml declares.

Plots are written as data, not images: DVC renders them (``dvc plots show``) and
compares them across revisions (``dvc plots diff``).
"""

from __future__ import annotations

import warnings
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
{%- if cookiecutter.task == 'classification' %}
from sklearn import metrics
{%- endif %}

from ..core.config import Params
from ..core.errors import ConfigError
from ..core.estimators import check_columns, model_inputs, predict_outputs
from ..core.markdown import MISSING
from ..core.paths import TEST{{ ', file_stem' if cookiecutter.task == 'classification' else '' }}
from ..metrics import METRICS, Metric

DIGITS = 6  # rounded so reports diff cleanly; far finer than any real change


def metric(name: str, key: str, source: object = "params.yaml") -> Metric:
    """The metric called ``name``, or a ConfigError naming the file, key and the choices."""
    if name not in METRICS:
        raise ConfigError(
            f"{source}: {key}: {name!r} is not one of this project's metrics: "
            f"{', '.join(METRICS)} (metrics.py, METRICS)"
        )
    return METRICS[name]


def rounded(scores: dict[str, Any]) -> dict[str, float]:
    return {name: round(float(value), DIGITS) for name, value in scores.items()}


{%- if cookiecutter.task == 'classification' %}


@dataclass(frozen=True)
class Predictions:
    """A model's outputs on some rows, computed once and reused by every report."""

    labels: np.ndarray
    probabilities: np.ndarray | None = None  # classifiers with predict_proba
    classes: np.ndarray | None = None

    def take(self, rows: np.ndarray) -> Predictions:
        proba = None if self.probabilities is None else self.probabilities[rows]
        return Predictions(self.labels[rows], proba, self.classes)


def predict(model: Any, inputs: pd.DataFrame) -> Predictions:
    labels, probabilities = predict_outputs(model, inputs)
    classes = None if probabilities is None else model.classes_
    return Predictions(labels, probabilities, classes)


def score(model: Any, inputs: pd.DataFrame, y_true: pd.Series) -> dict:
    """The task's headline metrics for ``model`` on one labelled frame."""
    return score_predictions(np.asarray(y_true), predict(model, inputs))


def score_predictions(
    y_true: np.ndarray, predicted: Predictions, names: Collection[str] = tuple(METRICS)
) -> dict[str, float]:
    """The metrics in ``names`` that ``predicted`` can have (probabilities for some)."""
    y_true, y_pred, classes = label_codes(y_true, predicted.labels, predicted.classes)
    scores = {}
    for name in names:
        metric = METRICS[name]
        if not metric.probabilities:
            scores[name] = metric.compute(y_true, y_pred)
        elif predicted.probabilities is not None:
            scores[name] = metric.compute(y_true, predicted.probabilities, classes)
    return rounded({name: value for name, value in scores.items() if value is not None})


def label_codes(
    y_true: np.ndarray, y_pred: np.ndarray, classes: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Class labels as integers, the model's classes first (class i is code i).

    scikit-learn sorts the labels in every metric; sorting integers instead of strings
    is faster on a large test split and gives the same scores.
    """
    known = np.asarray([] if classes is None else classes, dtype=object)
    labels = [np.asarray(values, dtype=object) for values in (y_true, y_pred)]
    codes, _ = pd.factorize(np.concatenate([known, *labels]))
    start = len(known) + len(y_true)
    return codes[len(known) : start], codes[start:], np.arange(len(known))
{%- else %}


@dataclass(frozen=True)
class Predictions:
    """A model's outputs on some rows, computed once and reused by every report."""

    labels: np.ndarray

    def take(self, rows: np.ndarray) -> Predictions:
        return Predictions(self.labels[rows])


def predict(model: Any, inputs: pd.DataFrame) -> Predictions:
    return Predictions(predict_outputs(model, inputs))


def score(model: Any, inputs: pd.DataFrame, y_true: pd.Series) -> dict:
    """The task's headline metrics for ``model`` on one labelled frame."""
    return score_predictions(np.asarray(y_true), predict(model, inputs))


def score_predictions(
    y_true: np.ndarray, predicted: Predictions, names: Collection[str] = tuple(METRICS)
) -> dict[str, float]:
    """The metrics in ``names``."""
    scores = {name: METRICS[name].compute(y_true, predicted.labels) for name in names}
    return rounded({name: value for name, value in scores.items() if value is not None})
{%- endif %}


def baseline_scores(y_train: np.ndarray, y_true: np.ndarray) -> dict[str, float]:
    """The test scores of the {{ 'majority class, with the training shares as probabilities' if cookiecutter.task == 'classification' else 'training mean' }}."""
{%- if cookiecutter.task == 'classification' %}
    from sklearn.dummy import DummyClassifier

    dummy = DummyClassifier(strategy="prior").fit(np.zeros((len(y_train), 1)), y_train)
    rows = np.zeros((len(y_true), 1))
    predicted = Predictions(dummy.predict(rows), dummy.predict_proba(rows), dummy.classes_)
{%- else %}
    predicted = Predictions(np.full(len(y_true), np.mean(y_train, dtype=float)))
{%- endif %}
    with warnings.catch_warnings():  # a constant prediction makes some scores ill-defined
        warnings.simplefilter("ignore")
        return score_predictions(y_true, predicted)
{%- if cookiecutter.task == 'classification' %}


def class_rows(y_true: np.ndarray, predicted: Predictions) -> list[dict[str, Any]]:
    """Per class of the test split: its rows, precision and recall."""
    classes = sorted(set(y_true) | set(predicted.labels), key=str)
    precision, recall, _, support = metrics.precision_recall_fscore_support(
        y_true, predicted.labels, labels=classes, zero_division=0
    )
    return [
        {"class": str(c), "rows": int(n), "precision": round(float(p), DIGITS),
         "recall": round(float(r), DIGITS)}
        for c, p, r, n in zip(classes, precision, recall, support, strict=True)
    ]  # fmt: skip
{%- endif %}


def slice_metrics(y_true: np.ndarray, predicted: Predictions, groups: pd.Series) -> dict[str, Any]:
    """Metrics per value of ``groups``, and the largest gap between groups per metric."""
    groups = groups.astype(object).where(groups.notna(), MISSING)
    per_group = {}
    for value in sorted(groups.unique(), key=str):
        rows = (groups == value).to_numpy()
        with warnings.catch_warnings():
            # A slice may hold a single class (one island, one species); its scores are
            # still defined, so scikit-learn's warning about it is noise here.
            warnings.simplefilter("ignore", UserWarning)
            scores = score_predictions(y_true[rows], predicted.take(rows))
        per_group[str(value)] = {"rows": int(rows.sum()), **scores}
    names = set.intersection(*(set(group) for group in per_group.values())) - {"rows"}
    gaps = {
        name: max(g[name] for g in per_group.values()) - min(g[name] for g in per_group.values())
        for name in sorted(names)
    }
    return {"groups": per_group, "largest_gap": rounded(gaps)}


def seeded_sample(rows: int, size: int, seed: int) -> np.ndarray:
    """Positions of at most ``size`` of ``rows`` rows, drawn with ``seed``, in order."""
    if rows <= size:
        return np.arange(rows)
    return np.sort(np.random.default_rng(seed).choice(rows, size, replace=False))


def importance_rows(
    model: Any, inputs: pd.DataFrame, y_true: pd.Series, repeats: int, seed: int
) -> pd.DataFrame:
    """Permutation importance per input column, most important first."""
    from sklearn.inspection import permutation_importance

    result = permutation_importance(model, inputs, y_true, n_repeats=repeats, random_state=seed)
    mean, std = result.importances_mean, result.importances_std
    frame = pd.DataFrame({"feature": inputs.columns, "importance": mean, "std": std}).round(DIGITS)
    return frame.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)


def plot_tables(y_true: np.ndarray, predicted: Predictions) -> dict[str, pd.DataFrame]:
    """Per plot file under reports/plots/: the table behind it."""
{%- if cookiecutter.task == 'classification' %}
    y_pred = predicted.labels
    tables = {"confusion.csv": pd.DataFrame({"actual": y_true, "predicted": y_pred})}
    classes, y_proba = predicted.classes, predicted.probabilities
    for index, cls in enumerate([] if classes is None else classes):
        if len(classes) == 2 and index == 0:
            continue  # binary: the positive class's curves say it all
        is_class = y_true == cls
        fpr, tpr, _ = metrics.roc_curve(is_class, y_proba[:, index])
        precision, recall, _ = metrics.precision_recall_curve(is_class, y_proba[:, index])
        name = file_stem(cls)
        tables[f"roc/{name}.csv"] = pd.DataFrame({"fpr": fpr, "tpr": tpr}).round(DIGITS)
        curve = pd.DataFrame({"recall": recall, "precision": precision})
        tables[f"precision_recall/{name}.csv"] = curve.round(DIGITS)
    return tables
{%- else %}
    actual, estimate = np.asarray(y_true, dtype=float), np.asarray(predicted.labels, dtype=float)
    frame = pd.DataFrame({"actual": actual, "predicted": estimate})
    return {"predictions.csv": frame.assign(residual=actual - estimate).round(DIGITS)}
{%- endif %}


def evaluate(model: Any, test: pd.DataFrame, y_train: np.ndarray, params: Params) -> dict:
    """Everything evaluate reports, from one prediction pass over the test split.

    Metrics, the baseline (from the training labels ``y_train``) and slices use every
    row; permutation importance (which predicts again per feature and repeat) and the
    plot tables use a seeded sample of ``sample_rows``.
    """
    target, slices, settings = params.data.target, params.evaluate.slice_columns, params.evaluate
    check_columns(test, [*params.features.inputs, target, *slices], TEST)
    inputs, y_true = model_inputs(test, params.features), test[target].to_numpy()
    predicted = predict(model, inputs)
    sample = seeded_sample(len(test), settings.sample_rows, params.seed)
    scores = score_predictions(y_true, predicted)
    baseline = baseline_scores(y_train, y_true)
    return {
        "metrics": {**scores, "test_rows": len(test), "baseline": baseline},
{%- if cookiecutter.task == 'classification' %}
        "classes": class_rows(y_true, predicted),
{%- endif %}
        "slices": {column: slice_metrics(y_true, predicted, test[column]) for column in slices},
        "importance": importance_rows(
            model, inputs.iloc[sample], y_true[sample], settings.importance_repeats, params.seed
        ),
        "plots": plot_tables(y_true[sample], predicted.take(sample)),
    }
