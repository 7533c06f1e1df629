"""Raw data as Parquet, a file or a directory of them: read, checked, cut into row groups.

Parquet carries its own types and missing values, so the declared columns go straight
to the same parsing and schema checks as a CSV's (text markers in ``na_values`` still
count as missing). An offending value is reported by its row, 1 being the first, since
Parquet has no lines. The dask engine reads one row group per task.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..core.errors import DataError, shorten
from .reading import require_columns


@dataclass(frozen=True)
class RowGroup:
    path: Path  # one Parquet file
    group: int  # its row group
    first_row: int  # rows of the data before this group: the index of its first row


def is_parquet(path: Path) -> bool:
    return Path(path).suffix == ".parquet"


def parquet_files(path: Path) -> list[Path]:
    """The data's files in row order: the file itself, or a directory's files by name."""
    path = Path(path).absolute()
    files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
    if not files:
        raise DataError(f"{path} holds no .parquet files")
    return files


def row_groups(path: Path) -> list[RowGroup]:
    """Every row group of the data, numbered from its first row, read from the footers."""
    import pyarrow.parquet as pq

    groups, before = [], 0
    for file in parquet_files(path):
        metadata = pq.read_metadata(file)
        for number in range(metadata.num_row_groups):
            groups.append(RowGroup(file, number, before))
            before += metadata.row_group(number).num_rows
    return groups


def read_parquet_table(
    path: Path, sources: list[str], na_values: tuple[str, ...], piece: RowGroup | None = None
) -> pd.DataFrame:
    """The ``sources`` columns of raw Parquet data (or of one row group) as pandas, indexed
    by row, with the text markers of a missing value as missing."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = parquet_files(path) if piece is None else [piece.path]
    try:
        require_columns(pq.read_schema(files[0]).names, sources, path)
        if piece is None:
            table = pa.concat_tables([pq.read_table(file, columns=sources) for file in files])
        else:
            table = pq.ParquetFile(piece.path).read_row_group(piece.group, columns=sources)
    except (pa.ArrowInvalid, OSError) as error:
        raise DataError(f"{path} cannot be read as Parquet: {shorten(str(error), 200)}") from None
    if table.num_rows == 0 and piece is None:
        raise DataError(f"{path} holds no rows")
    raw = table.to_pandas()
    first = 0 if piece is None else piece.first_row
    raw.index = pd.RangeIndex(first, first + len(raw))
    return without_markers(raw, na_values)


def without_markers(raw: pd.DataFrame, na_values: tuple[str, ...]) -> pd.DataFrame:
    """Text columns with the missing-value markers as missing."""
    text = [name for name in raw.columns if is_text(raw[name])]
    return raw.assign(**{name: raw[name].mask(raw[name].isin(list(na_values))) for name in text})


def is_text(values: Any) -> bool:
    return pd.api.types.is_string_dtype(values.dtype) or values.dtype == object
