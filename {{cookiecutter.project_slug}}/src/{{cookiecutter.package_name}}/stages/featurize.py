"""Stage 2, featurize: derive row-wise features declared in ``features.derived``.

Each entry is ``new_column: expression`` over the cleaned columns, evaluated with
``DataFrame.eval`` (for example ``culmen_ratio: culmen_length_mm / culmen_depth_mm``).
Anything learned from data (imputation, scaling, encoding) belongs in the model's
pipeline instead, where it is fitted on the training split only.
"""

from __future__ import annotations

import pandas as pd

from .. import paths
from ..errors import ConfigError, run_main
from ..files import read_parquet, write_parquet
from ..params import get, load_params


def derive_features(frame: pd.DataFrame, derived: dict[str, str] | None) -> pd.DataFrame:
    """Add one column per expression, in order, so later ones may use earlier ones."""
    result = frame.copy()
    for name, expression in (derived or {}).items():
        if name in result.columns:
            raise ConfigError(f"params.yaml: features.derived.{name} would overwrite a column")
        try:
            result[name] = result.eval(str(expression))
        except Exception as error:  # pandas raises many types for a bad expression
            raise ConfigError(
                f"params.yaml: features.derived.{name} = {expression!r} cannot be evaluated "
                f"on columns {list(result.columns)}: {error}"
            ) from None
    return result


def main() -> None:
    params = load_params()
    features = derive_features(read_parquet(paths.CLEAN), get(params, "features.derived"))
    write_parquet(features, paths.FEATURES)
    print(f"featurize: {features.shape[1]} columns -> {paths.FEATURES}")


if __name__ == "__main__":
    run_main(main)
