"""What evaluate concludes from its numbers, decided once and written beside them.

Whether the model beats the baseline, which slice gaps are above the limit and what the
evaluation cannot tell are decided here, at evaluate, into reports/decision.json. The
model card, the report page, the pull-request gate{{ ' and the champion' if cookiecutter.operations == 'yes' else '' }} read that
record and only word it, so they cannot disagree with each other.
"""

from __future__ import annotations

from typing import Any

from ..metrics import METRICS

# What a model that ignores its inputs scores: the bar any model has to clear.
BASELINE = "{{ 'majority-class baseline' if cookiecutter.task == 'classification' else 'training-mean baseline' }}"
SMALL_TEST = 1000  # fewer test rows than this: small differences between models are noise
SMALL_GROUP = 30  # slice groups with fewer test rows than this give unstable metrics
FEW_TEST_ROWS = 5  # a class with fewer test rows than this is named: its scores are noise


def beats_baseline(metrics: dict[str, Any], name: str) -> bool | None:
    """Whether the model scores better than the baseline on ``name``; None: not measured."""
    model, baseline = metrics.get(name), (metrics.get("baseline") or {}).get(name)
    if model is None or baseline is None:
        return None
    return model > baseline if METRICS[name].higher_is_better else model < baseline


def against_baseline(metrics: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per metric measured on both: the model's score, the baseline's, and which is better."""
    compared = {}
    for name in METRICS:
        beats = beats_baseline(metrics, name)
        if beats is not None:
            compared[name] = {"model": metrics[name], "baseline": metrics["baseline"][name],
                              "beats": beats}  # fmt: skip
    return compared


def flagged_gaps(
    slices: dict[str, Any], limit: float, overall: dict[str, Any]
) -> list[dict[str, Any]]:
    """Every largest gap between the groups of a slice that is above ``limit``.

    Bounded scores (accuracy, F1, AUC, R²) compare the gap itself; metrics in the target's
    unit, or unbounded, compare it as a share of the test value (``share``).
    """
    found = []
    for column, result in slices.items():
        for name, gap in result["largest_gap"].items():
            relative = name in METRICS and METRICS[name].unbounded and overall.get(name)
            size = gap / abs(overall[name]) if relative else gap
            if size > limit:
                share = round(size, 6) if relative else None
                found.append({"column": column, "metric": name, "gap": gap, "share": share})
    return found


def limitations(test_rows: int, classes: list[dict], slices: dict[str, Any]) -> dict[str, Any]:
    """What this evaluation cannot tell, from its own numbers."""
    few = [{"class": c["class"], "rows": c["rows"]} for c in classes if c["rows"] < FEW_TEST_ROWS]
    small = [
        {"column": column, "group": group, "rows": scores["rows"]}
        for column, result in slices.items()
        for group, scores in result["groups"].items()
        if scores["rows"] < SMALL_GROUP
    ]
    return {
        "small_test_split": test_rows < SMALL_TEST,
        "classes_with_few_test_rows": {"under": FEW_TEST_ROWS, "classes": few},
        "small_slice_groups": {"under": SMALL_GROUP, "groups": small},
    }


def decide(results: dict[str, Any], primary_metric: str, fairness_gap: float) -> dict[str, Any]:
    """The record of reports/decision.json, from evaluate's results and the limits."""
    metrics, slices, classes = results["metrics"], results["slices"], results.get("classes", [])
    compared = against_baseline(metrics)
    gaps = flagged_gaps(slices, fairness_gap, metrics)
    beats = compared.get(primary_metric, {}).get("beats")
    return {
        "fit_to_use": beats is not False and not gaps,
        "primary_metric": primary_metric,
        "baseline": BASELINE,
        "beats_baseline": beats,  # on the primary metric; null: not measured
        "against_baseline": compared,
        "higher_is_better": {name: m.higher_is_better for name, m in METRICS.items()},
        "fairness_gap": fairness_gap,
        "gaps_as_share": sorted(name for name, m in METRICS.items() if m.unbounded),
        "slices_compared": sorted(slices),
        "flagged_gaps": gaps,
        "test_rows": metrics["test_rows"],
        "limitations": limitations(metrics["test_rows"], classes, slices),
    }
