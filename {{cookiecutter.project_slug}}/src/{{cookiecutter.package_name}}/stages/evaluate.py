"""Stage 5, evaluate: score the saved model on the held-out test split.

Writes the test metrics, the tables behind the plots, metrics per slice (a first fairness
check), the decision drawn from them (evaluation/decision.py) and the model card."""

from __future__ import annotations

from typing import Any

from ..core import paths
from ..core.config import Params, load_params
from ..core.errors import run_main
from ..core.files import parquet_rows, read_json, read_parquet, write_csv, write_json, write_text
from ..evaluation.decision import decide
from ..evaluation.scoring import evaluate
from ..model_card import model_metadata, render_card
from ..modeling import load_model


def write_results(results: dict[str, Any], decision: dict[str, Any], params: Params) -> None:
    """Metrics, slices, the decision, plot tables, and the model's metadata and card."""
    write_json(results["metrics"], paths.METRICS)
    write_json(results["slices"], paths.SLICE_METRICS)
    write_json(decision, paths.DECISION)
    write_csv(results["importance"], paths.PLOTS / "importance.csv")
    for name, table in results["plots"].items():
        write_csv(table, paths.PLOTS / name)
    metadata = model_metadata(paths.MODEL, params.model, params.data.raw_path, results["metrics"])
    card = render_card(
        metadata,
        {
            "task": params.task,
            "target": params.data.target,
            "rows_after_cleaning": read_json(paths.DATA_QUALITY)["rows_out"],
            "train_rows": parquet_rows(paths.TRAIN),
            "max_train_rows": params.compute.max_train_rows,
            "slices": results["slices"],
            "importance": results["importance"].to_dict("records"),
            "classes": results.get("classes", []),
        },
        decision,
    )
    write_json(metadata, paths.METADATA)
    write_text(card, paths.MODEL_CARD)


def main() -> None:
    params = load_params()
    model, test = load_model(paths.MODEL, params), read_parquet(paths.TEST)
    y_train = read_parquet(paths.TRAIN, [params.data.target])[params.data.target].to_numpy()
    results = evaluate(model, test, y_train, params)
    decision = decide(results, params.review.primary_metric, params.evaluate.fairness_gap)
    write_results(results, decision, params)
    print(f"evaluate: test {results['metrics']} -> {paths.METRICS}")


if __name__ == "__main__":
    run_main(main)
