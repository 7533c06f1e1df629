"""Stage 3, split: seeded train / validation / test split, stratified for classification.

Written with numpy rather than scikit-learn so this stage does not pay the cost of
importing scikit-learn.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import paths
from ..errors import ConfigError, DataError, run_main
from ..files import read_parquet, write_parquet
from ..params import get, get_task, load_params

PARTS = ("train", "validation", "test")


def check_sizes(test_size: float, validation_size: float) -> None:
    if not (0 < test_size < 1 and 0 <= validation_size < 1 and test_size + validation_size < 1):
        raise ConfigError(
            "params.yaml: split.test_size and split.validation_size must be fractions with "
            f"0 < test_size, 0 <= validation_size and a sum below 1; got {test_size} and "
            f"{validation_size}"
        )


def split_frame(
    frame: pd.DataFrame,
    target: str,
    test_size: float,
    validation_size: float,
    seed: int,
    stratify: bool,
) -> dict[str, pd.DataFrame]:
    """Assign each row to one part; with ``stratify`` each class is cut in proportion."""
    check_sizes(test_size, validation_size)
    rng = np.random.default_rng(seed)
    groups = frame.groupby(target).indices if stratify else {"all": np.arange(len(frame))}
    chosen: dict[str, list[np.ndarray]] = {part: [] for part in PARTS}
    for label, rows in groups.items():
        rows = rng.permutation(rows)
        n_test = round(len(rows) * test_size)
        n_validation = round(len(rows) * validation_size)
        if len(rows) - n_test - n_validation < 1 or n_test < 1:
            raise DataError(
                f"{paths.FEATURES}: too few rows ({len(rows)}) in group {label!r} of "
                f"{target!r} to split into train, validation and test"
            )
        chosen["test"].append(rows[:n_test])
        chosen["validation"].append(rows[n_test : n_test + n_validation])
        chosen["train"].append(rows[n_test + n_validation :])
    return {
        part: frame.iloc[np.sort(np.concatenate(indices))].reset_index(drop=True)
        for part, indices in chosen.items()
    }


def main() -> None:
    params = load_params()
    parts = split_frame(
        read_parquet(paths.FEATURES),
        target=get(params, "data.target"),
        test_size=get(params, "split.test_size"),
        validation_size=get(params, "split.validation_size"),
        seed=get(params, "seed"),
        stratify=get_task(params) == "classification",
    )
    destinations = {"train": paths.TRAIN, "validation": paths.VALIDATION, "test": paths.TEST}
    for part, frame in parts.items():
        write_parquet(frame, destinations[part])
    print("split: " + ", ".join(f"{part} {len(frame)} rows" for part, frame in parts.items()))


if __name__ == "__main__":
    run_main(main)
