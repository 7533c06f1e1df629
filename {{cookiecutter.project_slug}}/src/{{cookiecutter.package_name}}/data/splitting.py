"""Each row goes to train, validation or test by a seeded hash of its key.

A row's split depends only on its own key and the seed, never on the other rows or their
order. So a row keeps its split when new raw data arrives (old test rows stay test rows,
and a retrained model is scored on rows it did not train on), and the split is the same
however the table is partitioned. The key is ``split.key`` (an ID column), or every
declared column but the target. Each class receives every split's fraction in
expectation, which stratifies a classification split without a shuffle.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..core import paths
from ..core.config import Params, Split
from ..core.errors import DataError
from ..core.files import require_input

DESTINATIONS = {"test": paths.TEST, "validation": paths.VALIDATION, "train": paths.TRAIN}
SPLITS = list(DESTINATIONS)  # a row's split code indexes this list


def key_columns(params: Params) -> list[str]:
    """The columns whose values identify a row: ``split.key``, or all but the target."""
    if params.split.key is not None:
        return [params.split.key]
    return [name for name in params.data.columns if name != params.data.target]


def stable_key(values: pd.Series) -> pd.Series:
    """A key column as plain float64, int64 or text, so that its hash does not depend on
    dtype details a library version chooses (nullable ints, datetime units, string
    storage): the same rows get the same splits under pandas 2 and 3, on every engine."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        text = pd.Index(np.asarray(values.cat.categories.astype(str), dtype=object), dtype=object)
        return pd.Series(pd.Categorical.from_codes(values.cat.codes.to_numpy(), text))
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return pd.Series(values.astype("datetime64[ns]").to_numpy().view("int64"))  # NaT: int64 min
    if pd.api.types.is_numeric_dtype(values.dtype):
        numbers = values.astype("float64").to_numpy() + 0.0  # -0.0 is 0.0
        return pd.Series(np.where(np.isnan(numbers), np.nan, numbers))  # one NaN
    text = values.astype(object).where(values.notna(), None).to_numpy()
    return pd.Series(text, dtype=object)


def seeded(hashes: np.ndarray, seed: int) -> np.ndarray:
    """The hashes mixed with the seed by splitmix64's finaliser: uniform 64-bit values that
    all change with the seed."""
    z = hashes ^ np.uint64(int(hashlib.sha256(str(seed).encode()).hexdigest()[:16], 16))
    z = z + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def assign_splits(frame: pd.DataFrame, key: list[str], sizes: Split, seed: int) -> np.ndarray:
    """Each row's split code (0 test, 1 validation, 2 train) from its key's seeded hash.

    The 64-bit hash, read as a fraction of its range, is uniform on [0, 1): below
    ``test_size`` is test, then ``validation_size`` more is validation, the rest train.
    """
    keys = pd.DataFrame({name: stable_key(frame[name]) for name in key})
    hashes = seeded(pd.util.hash_pandas_object(keys, index=False).to_numpy(), seed)
    position = hashes / 2.0**64
    cuts = [sizes.test_size, sizes.test_size + sizes.validation_size]
    return np.searchsorted(cuts, position, side="right").astype(np.int8)


def split_counts(frame: pd.DataFrame, codes: np.ndarray, target: str) -> pd.DataFrame:
{%- if cookiecutter.task == 'classification' %}
    """Rows per split, per class of ``target``."""
    groups = frame[target].to_numpy()
{%- else %}
    """Rows per split, in one group "all"."""
    groups = np.full(len(frame), "all")
{%- endif %}
    counts = pd.crosstab(pd.Series(groups, name="group"), pd.Series(codes, name="split"))
    return counts.reindex(columns=range(len(SPLITS)), fill_value=0).set_axis(SPLITS, axis=1)


def check_counts(counts: pd.DataFrame, target: str) -> None:
    """Every group needs test and train rows; a group too small to get both is named."""
    for group, row in counts.iterrows():
        if row["test"] < 1 or row["train"] < 1:
            empty = "test" if row["test"] < 1 else "train"
            raise DataError(
                f"{paths.FEATURES}: too few rows ({int(row.sum())}) in group {group!r} of "
                f"{target!r} to split: none fell in {empty}. Add rows, merge rare classes, "
                "or change seed (conf/config.yaml), or key or the fractions in conf/split/."
            )


def split_rows(frame: pd.DataFrame, params: Params) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """The three splits of ``frame`` (each in the frame's row order) and their counts."""
    codes = assign_splits(frame, key_columns(params), params.split, params.seed)
    counts = split_counts(frame, codes, params.data.target)
    frames = {name: frame[codes == code].reset_index(drop=True) for code, name in enumerate(SPLITS)}
    return frames, counts


def split_frame(frame: pd.DataFrame, params: Params) -> dict[str, pd.DataFrame]:
    """The three splits of ``frame``, once every group is known to have test and train rows."""
    frames, counts = split_rows(frame, params)
    check_counts(counts, params.data.target)
    return frames


def split_file(part: Path, outputs: list[Path], params: Params) -> pd.DataFrame:
    """One Parquet part of the features cut into its three splits (the dask engine)."""
    frames, counts = split_rows(pd.read_parquet(part), params)
    for frame, output in zip(frames.values(), outputs, strict=True):
        frame.to_parquet(output, index=False)
    return counts


def split_on_cluster(params: Params) -> dict[str, int]:
    """Every Parquet part of the features split on the cluster; the rows in each split."""
    from ..core.cluster import map_parts

    totals: list[pd.DataFrame] = []

    def check(results: list[pd.DataFrame]) -> None:
        totals.append(functools.reduce(lambda a, b: a.add(b, fill_value=0), results))
        check_counts(totals[0], params.data.target)

    require_input(paths.FEATURES)
    targets = list(DESTINATIONS.values())
    map_parts(params.compute, split_file, paths.FEATURES, targets, params, check=check)
    return {name: int(totals[0][name].sum()) for name in SPLITS}


def check_learnable(inputs: pd.DataFrame, y: Any, target: str) -> None:
    """Refuse a training set nothing can be learnt from, naming the column and the count,
    before scikit-learn fails on it with a traceback."""
    values, rows = pd.Series(y), len(y)
    if values.nunique() < 2:
        kind, seen = "{{ 'class' if cookiecutter.task == 'classification' else 'value' }}", values.unique()[:1].tolist()
        raise DataError(
            f"{paths.TRAIN}: target {target!r} holds one {kind} {seen} in all {rows} training "
            "rows: there is nothing to learn. Check the raw data, and the rows clean dropped "
            "(reports/data_quality.json)."
        )
    empty = [column for column in inputs.columns if inputs[column].isna().all()]
    if empty:
        raise DataError(
            f"{paths.TRAIN}: input(s) {', '.join(map(repr, empty))} missing in all {rows} "
            "training rows: take them out of conf/features/ or fix the raw data"
        )
