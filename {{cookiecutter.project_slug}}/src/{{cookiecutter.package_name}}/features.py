"""Raw rows to model-ready rows: tidying (clean names, recoded categories) and features.

Yours to shape. The schema that reads and checks raw rows is data/schema.py; what
this module does to rows that passed it is the same for training (the clean and
featurize stages), batch and online prediction and monitoring, so what is served cannot
drift from what was trained.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from .core.config import Column, Features
from .core.errors import ConfigError

NORMALIZE = {  # a category's or text's raw value before ``allowed`` and ``recode``
    "strip": str.strip,
    "lower": str.lower,
    "both": lambda value: value.strip().lower(),
}


def normalized(value: Any, how: str) -> Any:
    """One text value normalized as ``how`` says; nothing left is a missing value."""
    return (NORMALIZE[how](value) or None) if isinstance(value, str) else value


def tidy(raw: pd.DataFrame, columns: dict[str, Column]) -> pd.DataFrame:
    """Keep the declared columns under their clean names, with categories recoded."""
    frame = raw[[c.source for c in columns.values()]]
    frame = frame.rename(columns={c.source: name for name, c in columns.items()})
    for name, column in columns.items():
        if column.recode:
            frame[name] = recoded(frame[name], column.recode)
    return frame


def recoded(values: pd.Series, recode: dict[str, Any]) -> pd.Series:
    """A categorical with its categories renamed; two raw values may become one."""
    return map_categories(values, lambda value: recode.get(value, value))


def as_categorical(values: pd.Series) -> pd.Series:
    return values if isinstance(values.dtype, pd.CategoricalDtype) else values.astype("category")


def map_categories(values: pd.Series, rename: Callable[[Any], Any]) -> pd.Series:
    """``rename`` applied once per distinct value, not per row: two values may become one,
    and a value renamed to None becomes missing."""
    values = as_categorical(values)
    codes, categories = pd.factorize(pd.Series([rename(c) for c in values.cat.categories]))
    lookup = np.append(codes, -1)  # a missing value (code -1) stays missing
    new_codes = lookup[values.cat.codes.to_numpy()]
    return pd.Series(pd.Categorical.from_codes(new_codes, categories), index=values.index)


def derive_features(frame: pd.DataFrame, derived: dict[str, str]) -> pd.DataFrame:
    """Add one column per expression, in order, so later ones may use earlier ones."""
    result = frame.copy(deep=False)  # new columns only: no need to copy the data
    for name, expression in derived.items():
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


def featurized(
    parsed: pd.DataFrame, columns: dict[str, Column], features: Features
) -> pd.DataFrame:
    """Schema-checked raw rows as the model sees them: tidied, with the derived features."""
    return derive_features(tidy(parsed, columns), features.derived)
