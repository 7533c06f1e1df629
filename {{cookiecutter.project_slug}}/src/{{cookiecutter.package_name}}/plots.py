"""Tables behind the plots that dvc.yaml declares, one tidy frame per plot.

DVC renders them with its templates (``dvc plots show``, ``dvc plots diff``), so the
pipeline writes data, not images, and a pull request can compare them.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from sklearn.metrics import precision_recall_curve, roc_curve

from .metrics import DIGITS


def confusion_rows(y_true: pd.Series, y_pred: np.ndarray) -> pd.DataFrame:
    """One row per test example; DVC's confusion template counts them."""
    return pd.DataFrame({"actual": np.asarray(y_true), "predicted": np.asarray(y_pred)})


def one_vs_rest_curves(
    y_true: pd.Series, y_proba: np.ndarray, classes: np.ndarray
) -> dict[str, dict[str, pd.DataFrame]]:
    """ROC and precision-recall curves per class (only the positive class when binary)."""
    curves: dict[str, dict[str, pd.DataFrame]] = {"roc": {}, "precision_recall": {}}
    shown = classes[1:] if len(classes) == 2 else classes
    for cls in shown:
        index = list(classes).index(cls)
        is_class = np.asarray(y_true) == cls
        fpr, tpr, _ = roc_curve(is_class, y_proba[:, index])
        precision, recall, _ = precision_recall_curve(is_class, y_proba[:, index])
        name = file_stem(cls)
        curves["roc"][name] = pd.DataFrame({"fpr": fpr, "tpr": tpr}).round(DIGITS)
        curves["precision_recall"][name] = pd.DataFrame(
            {"recall": recall, "precision": precision}
        ).round(DIGITS)
    return curves


def prediction_rows(y_true: pd.Series, y_pred: np.ndarray) -> pd.DataFrame:
    """Actual, predicted and residual per test example, for the regression plots."""
    actual = np.asarray(y_true, dtype=float)
    predicted = np.asarray(y_pred, dtype=float)
    return pd.DataFrame(
        {"actual": actual, "predicted": predicted, "residual": actual - predicted}
    ).round(DIGITS)


def importance_rows(names: list[str], means: np.ndarray, stds: np.ndarray) -> pd.DataFrame:
    """Permutation importance per input column, most important first."""
    frame = pd.DataFrame({"feature": names, "importance": means, "std": stds}).round(DIGITS)
    return frame.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)


def file_stem(label: object) -> str:
    """A class label as a safe, readable file name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(label)).strip("_") or "class"
