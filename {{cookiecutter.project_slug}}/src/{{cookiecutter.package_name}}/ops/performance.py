"""How the model performs on a labelled batch, against its figure at training time.

Ground truth usually arrives days after the predictions. A batch that carries the
target column is scored with the project's primary metric (``review.primary_metric``)
and compared with the test split's score in reports/metrics.json. A batch of 50 rows
scores above or below that by chance alone, so the decision is statistical: the
batch's rows are resampled (a seeded bootstrap of ``monitor.resamples``) and the
performance counts as dropped only when fewer than ``monitor.performance_p_value`` of
the resampled scores reach the allowance, ``monitor.performance_drop`` below the test
score (a share of it for a metric in the target's unit, such as RMSE).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..core.config import Monitor
from ..core.markdown import code
{%- if cookiecutter.task == 'classification' %}
from ..evaluation.scoring import Predictions, label_codes, metric, score_predictions
{%- else %}
from ..evaluation.scoring import Predictions, metric, score_predictions
{%- endif %}


def allowance(test_score: float, name: str, drop: float) -> float:
    """The worst score that still counts as the test score: ``drop`` worse, or ``drop``
    of it for a metric in the target's unit."""
    kind = metric(name, "review.primary_metric")
    step = drop * abs(test_score) if kind.unbounded else drop
    return test_score - step if kind.higher_is_better else test_score + step


def resampled_scores(
    y_true: np.ndarray, predicted: Predictions, name: str, resamples: int, seed: int
) -> np.ndarray:
    """``name`` on ``resamples`` bootstrap samples of the rows (NaN where it is undefined,
    as AUC is on a sample that lacks a class)."""
    rng = np.random.default_rng(seed)
{%- if cookiecutter.task == 'classification' %}
    # Labels as integer codes once: each resample then skips the work on strings.
    y_true, labels, classes = label_codes(y_true, predicted.labels, predicted.classes)
    if name in CONFUSION_METRICS:
        return confusion_scores(y_true, labels, name, resamples, rng)
    classes = None if predicted.classes is None else classes
    predicted = Predictions(labels, predicted.probabilities, classes)
    scores = np.full(resamples, np.nan)  # metrics of probabilities: scikit-learn's, in turn
    for index in range(resamples):
        rows = rng.integers(0, len(y_true), len(y_true))
        resample = score_predictions(y_true[rows], predicted.take(rows), [name])
        scores[index] = resample.get(name, np.nan)
    return scores


CONFUSION_METRICS = ("accuracy", "balanced_accuracy", "f1_macro")


def confusion_scores(
    y_true: np.ndarray, y_pred: np.ndarray, name: str, resamples: int, rng: np.random.Generator
) -> np.ndarray:
    """A metric of the labels alone, on resampled confusion matrices: resampling rows
    draws each (actual, predicted) cell's count from a multinomial of the cells' shares,
    so a thousand resamples cost one draw, not a thousand calls to scikit-learn."""
    classes = int(max(y_true.max(), y_pred.max())) + 1
    cells = np.bincount(y_true * classes + y_pred, minlength=classes**2) / len(y_true)
    counts = rng.multinomial(len(y_true), cells, size=resamples).reshape(-1, classes, classes)
    hits = counts.diagonal(axis1=1, axis2=2)
    actual, predicted = counts.sum(axis=2), counts.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        if name == "accuracy":
            return hits.sum(axis=1) / len(y_true)
        if name == "balanced_accuracy":  # recall averaged over the classes present
            return np.nanmean(np.where(actual > 0, hits / actual, np.nan), axis=1)
        # F1 averaged over the classes present among the actual or predicted labels
        f1 = np.where(actual + predicted > 0, 2 * hits / (actual + predicted), np.nan)
        return np.nanmean(f1, axis=1)
{%- else %}
    rows, error = len(y_true), predicted.labels - y_true
    scores = []
    # Resamples as weights (a row drawn k times weighs k), some at a time: a matrix
    # product per batch of resamples, not a call to scikit-learn per resample.
    for start in range(0, resamples, step := max(1, 2_000_000 // rows)):
        weights = rng.multinomial(rows, np.full(rows, 1 / rows), size=min(step, resamples - start))
        squares = weights @ error**2
        if name == "rmse":
            scores.append(np.sqrt(squares / rows))
        elif name == "mae":
            scores.append(weights @ np.abs(error) / rows)
        else:  # r2: one minus the squared error over the spread around the sample's mean
            mean = weights @ y_true / rows
            with np.errstate(invalid="ignore", divide="ignore"):
                scores.append(1 - squares / (weights @ y_true**2 - rows * mean**2))
    return np.concatenate(scores)
{%- endif %}


def performance(
    y_true: pd.Series,
    predicted: Predictions,
    test_scores: dict[str, Any],
    name: str,
    thresholds: Monitor,
    seed: int,
) -> dict[str, Any]:
    """The batch's score on ``name`` beside the test score, with a bootstrap interval and
    the verdict: ``dropped`` when the batch is significantly worse than the allowance."""
    labelled = y_true.notna().to_numpy()
    if not labelled.any():  # the target column is there, its cells blank: labels to come
        return {"metric": name, "labelled_rows": 0, "status": "not measured"}
    y, predicted = y_true.to_numpy()[labelled], predicted.take(np.flatnonzero(labelled))
    score = score_predictions(y, predicted, [name]).get(name)
    if score is None or name not in test_scores:
        return {"metric": name, "labelled_rows": int(labelled.sum()), "status": "not measured"}
    bar = allowance(test_scores[name], name, thresholds.performance_drop)
    scores = resampled_scores(y, predicted, name, thresholds.resamples, seed)
    scores = scores[~np.isnan(scores)]
    higher = metric(name, "review.primary_metric").higher_is_better
    reaching = float(np.mean(scores >= bar if higher else scores <= bar)) if len(scores) else 1.0
    low, high = np.quantile(scores, [0.025, 0.975]) if len(scores) else (score, score)
    return {
        "metric": name,
        "labelled_rows": int(labelled.sum()),
        "score": score,
        "interval_95": [round(float(low), 6), round(float(high), 6)],
        "test_score": test_scores[name],
        "allowance": round(bar, 6),
        "share_reaching_allowance": round(reaching, 6),
        "status": "dropped" if reaching < thresholds.performance_p_value else "ok",
    }


def describe(result: dict[str, Any]) -> str:
    """One sentence for the report and the command's error."""
    name, rows = result["metric"], result["labelled_rows"]
    if result["status"] == "not measured" and not rows:
        return "Performance not measured: no row of the batch is labelled yet."
    if result["status"] == "not measured":
        return f"Performance not measured: {code(name)} is undefined on the {rows} labelled rows."
    low, high = result["interval_95"]
    verdict = (
        "**dropped**: significantly below the allowance"
        if result["status"] == "dropped"
        else "within the allowance"
    )
    return (
        f"Performance on {rows} labelled rows: {code(name)} {result['score']:g} (95 % interval "
        f"{low:g} to {high:g}) against {result['test_score']:g} at test time, allowance "
        f"{result['allowance']:g}: {verdict}."
    )
