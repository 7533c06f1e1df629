"""Stage 1, clean: validate raw data against the declared schema and tidy it.

Reads ``data.raw_path``; writes the cleaned table and ``reports/data_quality.json``
(rows in, rows out, rows dropped per reason, missing values per column).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from .. import paths
from ..errors import ConfigError, DataError, run_main
from ..files import write_json, write_parquet
from ..params import get, load_params
from ..schema import ColumnSpec, column_specs, read_raw_csv, validate_raw


def tidy(raw: pd.DataFrame, specs: list[ColumnSpec]) -> pd.DataFrame:
    """Keep the declared columns under their clean names, with categories recoded."""
    frame = raw[[spec.source for spec in specs]].rename(
        columns={spec.source: spec.name for spec in specs}
    )
    for spec in specs:
        if spec.recode:
            frame[spec.name] = frame[spec.name].replace(spec.recode)
    return frame


def drop_unusable_rows(frame: pd.DataFrame, target: str) -> tuple[pd.DataFrame, dict[str, int]]:
    """Drop exact duplicate rows, then rows without a target; count each reason."""
    deduplicated = frame.drop_duplicates()
    labelled = deduplicated.dropna(subset=[target])
    dropped = {
        "duplicate": len(frame) - len(deduplicated),
        "missing_target": len(deduplicated) - len(labelled),
    }
    return labelled.reset_index(drop=True), dropped


def quality_report(rows_in: int, clean: pd.DataFrame, dropped: dict[str, int]) -> dict[str, Any]:
    return {
        "rows_in": rows_in,
        "rows_out": len(clean),
        "rows_dropped": dropped,
        "missing_values": {column: int(n) for column, n in clean.isna().sum().items()},
    }


def clean(
    raw: pd.DataFrame, specs: list[ColumnSpec], target: str, source: Any
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Validate, tidy and filter a raw frame; return it with its quality report."""
    if target not in {spec.name for spec in specs}:
        raise ConfigError(f"params.yaml: data.target {target!r} is not a column in data.columns")
    frame, dropped = drop_unusable_rows(tidy(validate_raw(raw, specs, source), specs), target)
    return frame, quality_report(len(raw), frame, dropped)


def main() -> None:
    params = load_params()
    raw_path = get(params, "data.raw_path")
    specs = column_specs(get(params, "data.columns"))
    if not Path(raw_path).is_file():
        raise DataError(
            f"{raw_path} not found. Put your raw data there and version it with "
            f"`dvc add {raw_path}`, or point data.raw_path in conf/data/ at it."
        )
    raw = read_raw_csv(raw_path, get(params, "data.na_values"))
    frame, report = clean(raw, specs, get(params, "data.target"), raw_path)
    write_parquet(frame, paths.CLEAN)
    write_json(report, paths.DATA_QUALITY)
    print(f"clean: {report['rows_in']} rows in, {report['rows_out']} out -> {paths.CLEAN}")


if __name__ == "__main__":
    run_main(main)
