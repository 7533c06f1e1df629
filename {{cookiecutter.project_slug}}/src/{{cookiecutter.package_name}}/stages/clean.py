"""Stage 1, clean: validate raw data against the declared schema and tidy it.

Reads ``data.raw_path``; writes the cleaned table, ``reports/data_quality.json`` (rows in,
rows out, rows dropped per reason: a DVC metric) and ``reports/missing_values.json`` (per
column, kept out of the metrics so that ``dvc metrics show`` stays readable).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..core import paths
from ..core.config import Data, load_params
from ..core.errors import DataError, run_main
from ..core.files import write_json, write_parquet
from ..data import read_raw_csv, tidy, validate_raw


def drop_unusable_rows(frame: pd.DataFrame, target: str) -> tuple[pd.DataFrame, dict[str, int]]:
    """Drop exact duplicate rows, then rows without a target; count each reason."""
    deduplicated = frame.drop_duplicates()
    labelled = deduplicated.dropna(subset=[target])
    dropped = {
        "duplicate": len(frame) - len(deduplicated),
        "missing_target": len(deduplicated) - len(labelled),
    }
    return labelled.reset_index(drop=True), dropped


def clean(raw: pd.DataFrame, data: Data, source: Any) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Validate, tidy and filter a raw frame; return it with its quality report."""
    tidied = tidy(validate_raw(raw, data.columns, source), data.columns)
    frame, dropped = drop_unusable_rows(tidied, data.target)
    return frame, {
        "rows_in": len(raw),
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
    sources = [column.source for column in data.columns.values()]
    raw = read_raw_csv(data.raw_path, data.na_values, sources)
    frame, report = clean(raw, data, data.raw_path)
    write_parquet(frame, paths.CLEAN)
    write_json(report.pop("missing_values"), paths.MISSING_VALUES)
    write_json(report, paths.DATA_QUALITY)
    print(f"clean: {report['rows_in']} rows in, {report['rows_out']} out -> {paths.CLEAN}")


if __name__ == "__main__":
    run_main(main)
