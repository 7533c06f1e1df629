"""Stage 2, featurize: derive the row-wise features declared in ``features.derived``.

Each entry is ``new_column: expression`` over the cleaned columns, evaluated with
``DataFrame.eval`` (for example ``culmen_ratio: culmen_length_mm / culmen_depth_mm``).
Anything learned from data (imputation, scaling, encoding) belongs in the model's
pipeline instead, where it is fitted on the training split only.
"""

from __future__ import annotations

from ..core import paths
from ..core.config import load_params
from ..core.errors import run_main
from ..core.files import read_parquet, write_parquet
from ..data import derive_features


def main() -> None:
    derived = load_params().features.derived
    features = derive_features(read_parquet(paths.CLEAN), derived)
    write_parquet(features, paths.FEATURES)
    print(f"featurize: {features.shape[1]} columns -> {paths.FEATURES}")


if __name__ == "__main__":
    run_main(main)
