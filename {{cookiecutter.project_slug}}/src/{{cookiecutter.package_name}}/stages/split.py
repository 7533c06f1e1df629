"""Stage 3, split: seeded train / validation / test split, stratified for classification.

Written with numpy rather than scikit-learn so this stage does not pay the cost of
importing scikit-learn.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..core import paths
from ..core.config import Split, load_params
from ..core.errors import DataError, run_main
from ..core.files import read_parquet, write_parquet

DESTINATIONS = {"train": paths.TRAIN, "validation": paths.VALIDATION, "test": paths.TEST}


def split_frame(
    frame: pd.DataFrame, target: str, sizes: Split, seed: int, stratify: bool
) -> dict[str, pd.DataFrame]:
    """Assign each row to one part; with ``stratify`` each class is cut in proportion."""
    rng = np.random.default_rng(seed)
    everything = {"all": np.arange(len(frame))}
    groups = frame.groupby(target, observed=True).indices if stratify else everything
    chosen: dict[str, list[np.ndarray]] = {part: [] for part in DESTINATIONS}
    for label, rows in groups.items():
        rows = rng.permutation(rows)
        n_test = round(len(rows) * sizes.test_size)
        n_validation = round(len(rows) * sizes.validation_size)
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
    features = read_parquet(paths.FEATURES)
    parts = split_frame(
        features, params.data.target, params.split, params.seed, params.classification
    )
    for part, frame in parts.items():
        write_parquet(frame, DESTINATIONS[part])
    print("split: " + ", ".join(f"{part} {len(frame)} rows" for part, frame in parts.items()))


if __name__ == "__main__":
    run_main(main)
