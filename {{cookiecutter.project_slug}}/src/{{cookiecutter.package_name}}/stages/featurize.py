"""Stage 2, featurize: derive the row-wise features declared in ``features.derived``.

Each entry is ``new_column: expression`` over the cleaned columns, evaluated with
``DataFrame.eval`` (for example ``culmen_ratio: culmen_length_mm / culmen_depth_mm``).
Anything learned from data (imputation, scaling, encoding) belongs in the model's
pipeline instead, where it is fitted on the training split only.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..core import paths
from ..core.config import load_params
from ..core.errors import run_main
from ..core.files import read_parquet, require_input, write_parquet
from ..features import derive_features


def featurize_part(part: Path, outputs: list[Path], derived: dict[str, str]) -> int:
    """One part of the cleaned table with its features (the dask engine); its width."""
    features = derive_features(pd.read_parquet(part), derived)
    features.to_parquet(outputs[0], index=False)
    return features.shape[1]


def main() -> None:
    params = load_params()
    derived = params.features.derived
    if params.compute.engine == "dask":
        from ..core.cluster import map_parts

        require_input(paths.CLEAN)
        widths = map_parts(params.compute, featurize_part, paths.CLEAN, [paths.FEATURES], derived)
        width = widths[0]
    else:
        features = derive_features(read_parquet(paths.CLEAN), derived)
        write_parquet(features, paths.FEATURES)
        width = features.shape[1]
    print(f"featurize: {width} columns -> {paths.FEATURES}")


if __name__ == "__main__":
    run_main(main)
