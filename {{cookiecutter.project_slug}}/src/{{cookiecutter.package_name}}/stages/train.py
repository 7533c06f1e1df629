"""Stage 4, train: fit preprocessing and the configured estimator on the train split.

The estimator comes from ``model`` in params.yaml (``_target_`` plus arguments, one
file per choice in conf/model/). With ``tuning.enabled`` the model's ``search_space`` is
searched first (evaluation/tuning.py). Writes the model (skops), the validation scores, and the
search's summary and candidates (empty when tuning is off).
"""

from __future__ import annotations

from typing import Any

from ..core import paths
from ..core.config import load_params
from ..core.errors import run_main
from ..core.estimators import model_inputs, save_model
from ..core.files import read_parquet, write_csv, write_json
from ..evaluation.scoring import score
from ..evaluation.tuning import fit_or_tune, training_rows


def main() -> None:
    params = load_params()
    train = read_parquet(paths.TRAIN)
    fitted_on = training_rows(train, params)
    model, tuning, candidates = fit_or_tune(fitted_on, params)
    validation = read_parquet(paths.VALIDATION)
    scores: dict[str, Any] = {"train_rows": len(fitted_on)}
    if len(fitted_on) < len(train):
        scores["train_rows_sampled_from"] = len(train)
    if len(validation):
        inputs = model_inputs(validation, params.features)
        scores |= score(model, inputs, validation[params.data.target])
    save_model(model, paths.MODEL)
    write_json(scores, paths.VALIDATION_METRICS)
    write_json(tuning, paths.TUNING)
    write_csv(candidates, paths.TUNING_CANDIDATES)
    estimator = type(model.named_steps["estimator"]).__name__
    print(f"train: {estimator} -> {paths.MODEL}; validation {scores}")


if __name__ == "__main__":
    run_main(main)
