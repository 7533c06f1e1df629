"""The test metrics, each declared once, by the name every report and setting uses.

reports/metrics.json, conf/review/ (``limits`` and ``primary_metric``), conf/tuning/
(``scoring``), the model card, the report page and the gate all know a metric by its name
here. To add one, add one line to ``METRICS``; to gate on it, give it a limit in
conf/review/ (README: "Add or rename a metric").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
{%- if cookiecutter.task == 'classification' %}
from functools import partial

import numpy as np
from sklearn import metrics
{%- else %}

from sklearn import metrics
{%- endif %}


@dataclass(frozen=True)
class Metric:
    """One test metric: how it is computed, and what the rest of the project needs."""

    # (y_true, y_pred) -> score{% if cookiecutter.task == 'classification' %}; with probabilities=True, (y_true, y_proba, classes).
    # Labels arrive as integer codes: class i of the model is code i.{% endif %}
    compute: Callable[..., float | None]
    scorer: str  # scikit-learn's scorer of the same metric, for tuning's cross-validation
    higher_is_better: bool = True
    # In the target's unit, or unbounded: a gap between slice groups is judged as a
    # share of the test value rather than as a difference.
    unbounded: bool = False
{%- if cookiecutter.task == 'classification' %}
    probabilities: bool = False  # needs predict_proba; left out for models without it


def log_loss(y_true, y_proba, classes) -> float:
    return metrics.log_loss(y_true, y_proba, labels=classes)


def roc_auc(y_true, y_proba, classes) -> float | None:
    """Each class against the rest, averaged; None when a class is absent from the rows."""
    if len(np.unique(y_true)) < len(classes):
        return None
    if len(classes) == 2:
        return metrics.roc_auc_score(y_true, y_proba[:, 1])
    return metrics.roc_auc_score(y_true, y_proba, multi_class="ovr", labels=classes)
{%- endif %}


METRICS = {
{%- if cookiecutter.task == 'classification' %}
    "accuracy": Metric(metrics.accuracy_score, "accuracy"),
    "balanced_accuracy": Metric(metrics.balanced_accuracy_score, "balanced_accuracy"),
    "f1_macro": Metric(partial(metrics.f1_score, average="macro"), "f1_macro"),
    "log_loss": Metric(
        log_loss, "neg_log_loss", higher_is_better=False, unbounded=True, probabilities=True
    ),
    "roc_auc_ovr": Metric(roc_auc, "roc_auc_ovr", probabilities=True),
{%- else %}
    "rmse": Metric(
        metrics.root_mean_squared_error,
        "neg_root_mean_squared_error",
        higher_is_better=False,
        unbounded=True,
    ),
    "mae": Metric(
        metrics.mean_absolute_error,
        "neg_mean_absolute_error",
        higher_is_better=False,
        unbounded=True,
    ),
    "r2": Metric(metrics.r2_score, "r2"),
{%- endif %}
}
