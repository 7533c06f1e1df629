"""Stage 5, evaluate: score the saved model on the held-out test split.

Writes the test metrics (a DVC metrics file), the tables behind the plots dvc.yaml
declares, metrics per slice of ``evaluate.slice_columns`` as a first fairness check
(a large gap between groups is worth a look before the model is used), and the
model's metadata and card (model_card.py).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.inspection import permutation_importance

from .. import paths, plots
from ..errors import ConfigError, run_main
from ..files import read_json, read_parquet, write_csv, write_json, write_text
from ..metrics import rounded, score
from ..model_card import model_metadata, render_card
from ..modeling import check_columns, feature_columns, load_model, model_inputs
from ..params import get, get_task, load_params

MISSING_GROUP = "(missing)"


def slice_metrics(
    model: Any, inputs: pd.DataFrame, test: pd.DataFrame, target: str, task: str, column: str
) -> dict[str, Any]:
    """Metrics per value of ``column``, and the largest gap between groups per metric."""
    groups = test[column].astype(object).where(test[column].notna(), MISSING_GROUP)
    per_group = {}
    for value in sorted(groups.unique(), key=str):
        rows = (groups == value).to_numpy()
        with warnings.catch_warnings():
            # A slice may hold a single class (one island, one species); its scores are
            # still defined, so scikit-learn's warning about it is noise here.
            warnings.simplefilter("ignore", UserWarning)
            scores = score(model, inputs[rows], test[target][rows], task)
        per_group[str(value)] = {"rows": int(rows.sum()), **scores}
    metric_names = set.intersection(*(set(group) for group in per_group.values())) - {"rows"}
    gaps = {
        name: max(g[name] for g in per_group.values()) - min(g[name] for g in per_group.values())
        for name in sorted(metric_names)
    }
    return {"groups": per_group, "largest_gap": rounded(gaps)}


def evaluate(
    model: Any,
    test: pd.DataFrame,
    target: str,
    task: str,
    numeric: list[str],
    categorical: list[str],
    slice_columns: list[str],
    importance_repeats: int,
    seed: int,
) -> dict[str, Any]:
    """Everything evaluate reports, computed from the model and the test split."""
    check_columns(test, [*numeric, *categorical, target, *slice_columns], paths.TEST)
    inputs = model_inputs(test, numeric, categorical)
    y_true = test[target]
    y_pred = model.predict(inputs)
    importance = permutation_importance(
        model, inputs, y_true, n_repeats=importance_repeats, random_state=seed
    )
    results: dict[str, Any] = {
        "metrics": {**score(model, inputs, y_true, task), "test_rows": len(test)},
        "slices": {
            column: slice_metrics(model, inputs, test, target, task, column)
            for column in slice_columns
        },
        "importance": plots.importance_rows(
            list(inputs.columns), importance.importances_mean, importance.importances_std
        ),
    }
    if task == "classification":
        results["confusion"] = plots.confusion_rows(y_true, y_pred)
        results["curves"] = plots.one_vs_rest_curves(
            y_true, model.predict_proba(inputs), model.classes_
        )
    else:
        results["predictions"] = plots.prediction_rows(y_true, y_pred)
    return results


def write_results(results: dict[str, Any]) -> None:
    write_json(results["metrics"], paths.METRICS)
    write_json(results["slices"], paths.SLICE_METRICS)
    write_csv(results["importance"], paths.PLOTS / "importance.csv")
    if "confusion" in results:
        write_csv(results["confusion"], paths.PLOTS / "confusion.csv")
        for kind, per_class in results["curves"].items():
            for name, frame in per_class.items():
                write_csv(frame, paths.PLOTS / kind / f"{name}.csv")
    if "predictions" in results:
        write_csv(results["predictions"], paths.PLOTS / "predictions.csv")


def write_model_record(params: dict[str, Any], results: dict[str, Any]) -> None:
    """models/metadata.json beside the model, and the model card, from this run."""
    metadata = model_metadata(
        paths.MODEL, get(params, "model"), Path(get(params, "data.raw_path")), results["metrics"]
    )
    card = render_card(
        task=get_task(params),
        target=get(params, "data.target"),
        metadata=metadata,
        rows_after_cleaning=read_json(paths.DATA_QUALITY)["rows_out"],
        train_rows=len(read_parquet(paths.TRAIN)),
        slices=results["slices"],
        importance=results["importance"].to_dict("records"),
        largest_gap=float(get(params, "evaluate.fairness_gap")),
    )
    write_json(metadata, paths.METADATA)
    write_text(card, paths.MODEL_CARD)


def main() -> None:
    params = load_params()
    numeric, categorical = feature_columns(get(params, "features"))
    slice_columns = list(get(params, "evaluate.slice_columns") or [])
    repeats = get(params, "evaluate.importance_repeats")
    if not isinstance(repeats, int) or repeats < 1:
        raise ConfigError(f"params.yaml: evaluate.importance_repeats must be >= 1, got {repeats!r}")
    results = evaluate(
        load_model(paths.MODEL),
        read_parquet(paths.TEST),
        target=get(params, "data.target"),
        task=get_task(params),
        numeric=numeric,
        categorical=categorical,
        slice_columns=slice_columns,
        importance_repeats=repeats,
        seed=get(params, "seed"),
    )
    write_results(results)
    write_model_record(params, results)
    print(f"evaluate: test {results['metrics']} -> {paths.METRICS}")


if __name__ == "__main__":
    run_main(main)
