"""Stage 1, clean: validate raw data against the declared schema and tidy it.

Reads ``data.raw_path`` (CSV, or Parquet: a file or a directory of them); writes the
cleaned table, ``reports/data_quality.json`` (rows in, rows out, rows dropped per
reason: a DVC metric) and ``reports/missing_values.json`` (per column, kept out of the
metrics so that ``dvc metrics show`` stays readable). The work is in data/cleaning.py.
"""

from __future__ import annotations

from ..core import paths
from ..core.config import load_params
from ..core.errors import DataError, run_main
from ..core.files import write_json, write_parquet
from ..data.cleaning import clean_on_cluster, clean_parsed
from ..data.schema import RawSchema


def main() -> None:
    params = load_params()
    data = params.data
    if not data.raw_path.exists():
        raise DataError(
            f"{data.raw_path} not found. Put your raw data there and version it with "
            f"`dvc add {data.raw_path}`, or draft a schema for your own file with "
            "draft-schema (README.md, 'Bring your own data')."
        )
    if params.compute.engine == "dask":
        report = clean_on_cluster(data, params.compute, paths.CLEAN)
    else:
        frame, report = clean_parsed(RawSchema.of(data).read(data.raw_path), data)
        write_parquet(frame, paths.CLEAN)
    write_json(report.pop("missing_values"), paths.MISSING_VALUES)
    write_json(report, paths.DATA_QUALITY)
    print(f"clean: {report['rows_in']} rows in, {report['rows_out']} out -> {paths.CLEAN}")


if __name__ == "__main__":
    run_main(main)
