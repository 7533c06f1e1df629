"""Scores for a fitted model, the same for validation (train) and test (evaluate)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics

DIGITS = 6  # rounded so reports diff cleanly; far finer than any real change


def classification_scores(
    y_true: pd.Series, y_pred: np.ndarray, y_proba: np.ndarray | None, classes: np.ndarray
) -> dict[str, float]:
    scores = {
        "accuracy": metrics.accuracy_score(y_true, y_pred),
        "balanced_accuracy": metrics.balanced_accuracy_score(y_true, y_pred),
        "f1_macro": metrics.f1_score(y_true, y_pred, average="macro"),
    }
    if y_proba is not None:
        scores["log_loss"] = metrics.log_loss(y_true, y_proba, labels=classes)
        if y_true.nunique() == len(classes):  # AUC needs every class present
            scores["roc_auc_ovr"] = (
                metrics.roc_auc_score(y_true, y_proba[:, 1])
                if len(classes) == 2
                else metrics.roc_auc_score(y_true, y_proba, multi_class="ovr", labels=classes)
            )
    return rounded(scores)


def regression_scores(y_true: pd.Series, y_pred: np.ndarray) -> dict[str, float]:
    return rounded(
        {
            "rmse": metrics.root_mean_squared_error(y_true, y_pred),
            "mae": metrics.mean_absolute_error(y_true, y_pred),
            "r2": metrics.r2_score(y_true, y_pred),
        }
    )


def score(model: Any, features: pd.DataFrame, y_true: pd.Series, task: str) -> dict[str, float]:
    """The task's headline metrics for ``model`` on one labelled frame."""
    y_pred = model.predict(features)
    if task == "regression":
        return regression_scores(y_true, y_pred)
    y_proba = model.predict_proba(features) if hasattr(model, "predict_proba") else None
    return classification_scores(y_true, y_pred, y_proba, model.classes_)


def rounded(scores: dict[str, Any]) -> dict[str, float]:
    return {name: round(float(value), DIGITS) for name, value in scores.items()}
