"""Stage 1, clean: validate raw data against the declared schema and tidy it.

Reads ``data.raw_path``; writes the cleaned table, ``reports/data_quality.json`` (rows in,
rows out, rows dropped per reason: a DVC metric) and ``reports/missing_values.json`` (per
column, kept out of the metrics so that ``dvc metrics show`` stays readable).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..core import paths
from ..core.config import Data, load_params
from ..core.errors import DataError, run_main
from ..core.files import write_json, write_parquet
from ..data import read_checked_csv, tidy, validate_raw


def duplicate_rows(frame: pd.DataFrame) -> np.ndarray:
    """Rows that exactly repeat an earlier row.

    Rows are hashed first (vectorised, about twice as fast as comparing whole rows), and
    only rows whose hash repeats are compared in full, so a hash collision never drops a row.
    """
    candidates = pd.util.hash_pandas_object(frame, index=False).duplicated(keep=False)
    duplicate = np.zeros(len(frame), dtype=bool)
    duplicate[candidates.to_numpy()] = frame[candidates.to_numpy()].duplicated().to_numpy()
    return duplicate


def drop_unusable_rows(frame: pd.DataFrame, target: str) -> tuple[pd.DataFrame, dict[str, int]]:
    """Drop exact duplicate rows, then rows without a target; count each reason."""
    duplicate = duplicate_rows(frame)
    unlabelled = frame[target].isna().to_numpy() & ~duplicate
    dropped = {"duplicate": int(duplicate.sum()), "missing_target": int(unlabelled.sum())}
    return frame[~(duplicate | unlabelled)].reset_index(drop=True), dropped  # one copy


def clean(raw: pd.DataFrame, data: Data, source: Any) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Validate, tidy and filter a raw frame; return it with its quality report."""
    return clean_parsed(validate_raw(raw, data.columns, source), data)


def clean_parsed(parsed: pd.DataFrame, data: Data) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Tidy and filter rows that passed the schema; return them with the quality report."""
    frame, dropped = drop_unusable_rows(tidy(parsed, data.columns), data.target)
    return frame, {
        "rows_in": len(parsed),
        "rows_out": len(frame),
        "rows_dropped": dropped,
        "missing_values": {column: int(n) for column, n in frame.isna().sum().items()},
    }


def main() -> None:
    data = load_params().data
    if not data.raw_path.is_file():
        raise DataError(
            f"{data.raw_path} not found. Put your raw data there and version it with "
            f"`dvc add {data.raw_path}`, or point data.raw_path in conf/data/ at it."
        )
    parsed = read_checked_csv(data.raw_path, data.na_values, data.columns, **data.dialect())
    frame, report = clean_parsed(parsed, data)
    write_parquet(frame, paths.CLEAN)
    write_json(report.pop("missing_values"), paths.MISSING_VALUES)
    write_json(report, paths.DATA_QUALITY)
    print(f"clean: {report['rows_in']} rows in, {report['rows_out']} out -> {paths.CLEAN}")


if __name__ == "__main__":
    run_main(main)
