"""Raw rows to the cleaned table: checked, tidied, without unlabelled or repeated rows.

The pandas engine cleans the whole table at once (``clean_parsed``). The dask engine
reads the data in pieces (CSV blocks, Parquet row groups), cleans each with the same
functions as one task, then finds exact duplicates across pieces by their row hashes,
one task per part or hash bucket, so no process holds every row.
"""

from __future__ import annotations

import operator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..core.config import Compute, Data
from ..core.errors import DataError
from ..core.files import atomic_path
from ..features import tidy
from .blocks import Block, numbered_blocks
from .parquet import RowGroup, is_parquet, row_groups
from .schema import RawSchema

HASH_BUCKETS = 16  # most hash buckets searched for repeats, one task each (dask)


def row_hashes(frame: pd.DataFrame) -> np.ndarray:
    """One 64-bit hash per row, of its values (a category hashes as its value)."""
    return pd.util.hash_pandas_object(frame, index=False).to_numpy()


def first_repeats(frame: pd.DataFrame) -> np.ndarray:
    """Rows that exactly repeat an earlier row of ``frame``, compared in full."""
    return frame.duplicated().to_numpy()


def duplicate_rows(frame: pd.DataFrame, among: np.ndarray | None = None) -> np.ndarray:
    """Rows that exactly repeat an earlier row, of the rows ``among`` marks (default all).

    Rows are hashed first (vectorised, faster than comparing whole rows), and
    only rows whose hash repeats are compared in full, so a hash collision never drops a row.
    """
    considered = np.flatnonzero(np.ones(len(frame), dtype=bool) if among is None else among)
    suspects = considered[pd.Series(row_hashes(frame)[considered]).duplicated(keep=False)]
    duplicate = np.zeros(len(frame), dtype=bool)
    duplicate[suspects] = first_repeats(frame.iloc[suspects])
    return duplicate


def drop_unlabelled(frame: pd.DataFrame, target: str) -> tuple[pd.DataFrame, int]:
    """Rows with a target, and how many had none."""
    labelled = frame[target].notna().to_numpy()
    return frame[labelled].reset_index(drop=True), int((~labelled).sum())


def quality_report(rows_in: int, rows_out: int, duplicate: int, unlabelled: int) -> dict:
    dropped = {"duplicate": duplicate, "missing_target": unlabelled}
    return {"rows_in": rows_in, "rows_out": rows_out, "rows_dropped": dropped}


def clean_parsed(parsed: pd.DataFrame, data: Data) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Tidy and filter rows that passed the schema: drop rows without a target, then
    exact duplicate rows; return the rest with the quality report."""
    tidied = tidy(parsed, data.columns)
    labelled = tidied[data.target].notna().to_numpy()
    duplicate = duplicate_rows(tidied, among=labelled)
    frame = tidied[labelled & ~duplicate].reset_index(drop=True)  # the one copy
    unlabelled = int((~labelled).sum())
    report = quality_report(len(parsed), len(frame), int(duplicate.sum()), unlabelled)
    return frame, {**report, "missing_values": missing_counts(frame)}


def missing_counts(frame: pd.DataFrame) -> dict[str, int]:
    return {column: int(n) for column, n in frame.isna().sum().items()}


# The dask engine: each function up to clean_on_cluster is one task, on one block or part.


def clean_block(
    block: Block | RowGroup, data: Data, part: Path
) -> tuple[dict[str, Any], np.ndarray]:
    """One piece parsed, checked, tidied and without unlabelled rows, written to ``part``;
    returns its counts and its rows' hashes."""
    parsed = RawSchema.of(data).read(data.raw_path, block)
    frame, unlabelled = drop_unlabelled(tidy(parsed, data.columns), data.target)
    frame.to_parquet(part, index=False)
    counts = {"rows_in": len(parsed), "rows": len(frame), "unlabelled": unlabelled}
    return {**counts, "missing": frame.isna().sum()}, row_hashes(frame)


def bucket(hashes: np.ndarray, number: int, buckets: int) -> np.ndarray:
    return hashes[hashes % buckets == number]


def repeated(*pieces: np.ndarray) -> np.ndarray:
    """The hashes that occur more than once across ``pieces``."""
    hashes = pd.Series(np.concatenate(pieces))
    return hashes[hashes.duplicated()].unique()


def suspect_rows(part: Path, number: int, hashes: np.ndarray, *repeats: np.ndarray) -> pd.DataFrame:
    """A part's rows whose hash repeats somewhere, with their part, position and hash."""
    chosen = np.isin(hashes, np.concatenate(repeats))
    return pd.read_parquet(part)[chosen].assign(
        _part=number, _position=np.flatnonzero(chosen), _hash=hashes[chosen]
    )


def repeats_in_bucket(
    number: int, buckets: int, *suspects: pd.DataFrame
) -> tuple[pd.DataFrame, pd.Series]:
    """Of one hash bucket's suspect rows, in file order, those that exactly repeat an
    earlier row: their part and position, and their missing values per column."""
    rows = pd.concat([s[s["_hash"] % buckets == number] for s in suspects], ignore_index=True)
    values = rows.drop(columns=["_part", "_position", "_hash"])
    removed = first_repeats(values)
    return rows.loc[removed, ["_part", "_position"]], values[removed].isna().sum()


def drop_positions(part: Path, positions: np.ndarray) -> None:
    frame = pd.read_parquet(part)
    keep = np.ones(len(frame), dtype=bool)
    keep[positions] = False
    frame[keep].to_parquet(part, index=False)


def drop_duplicates_across(
    client: Any, parts: list[Path], hashes: list[Any]
) -> tuple[int, pd.Series]:
    """Remove exact repeats of earlier rows from the parts: how many, and their missing
    values per column.

    Every step is a task on one part or one bucket of the hash range, so no process holds
    every row's hash or every suspect row: repeated hashes are found per bucket, each part
    picks its suspect rows, and each bucket compares its suspects in full, in file order.
    ``hashes`` (futures, one per part) is emptied, so the cluster can free them early.
    """
    buckets = min(len(hashes), HASH_BUCKETS)
    numbers = range(buckets)
    repeats = [client.submit(repeated, *[client.submit(bucket, h, b, buckets) for h in hashes])
               for b in numbers]  # fmt: skip
    if not sum(client.gather([client.submit(len, r) for r in repeats])):
        return 0, pd.Series(dtype=int)
    suspects = [
        client.submit(suspect_rows, part, n, h, *repeats)
        for n, (part, h) in enumerate(zip(parts, hashes, strict=True))
    ]
    hashes.clear()  # each part's hashes are freed on the cluster once its suspects are picked
    found = client.gather(
        [client.submit(repeats_in_bucket, b, buckets, *suspects) for b in numbers]
    )
    removed = pd.concat([positions for positions, _ in found])
    client.gather(
        [
            client.submit(drop_positions, parts[int(n)], group.to_numpy())
            for n, group in removed.groupby("_part")["_position"]
        ]
    )
    return len(removed), sum(missing for _, missing in found)


def clean_on_cluster(data: Data, compute: Compute, target: Path) -> dict[str, Any]:
    """The clean stage piece by piece (CSV blocks or Parquet row groups); writes ``target``
    as a directory of parts."""
    from ..core.cluster import connect, part_path

    data = data.model_copy(update={"raw_path": data.raw_path.absolute()})  # for any worker
    parquet = is_parquet(data.raw_path)
    with connect(compute) as client, atomic_path(target, directory=True) as folder:
        if parquet:
            blocks = row_groups(data.raw_path)
        else:  # a block's first row comes from the lines before it
            blocks = numbered_blocks(client, data.raw_path, compute.partition_bytes)
        parts = [part_path(folder, number) for number in range(len(blocks))]
        futures = client.map(clean_block, blocks, [data] * len(blocks), parts, pure=False)
        counts = client.gather([client.submit(operator.getitem, f, 0) for f in futures])
        if not sum(count["rows_in"] for count in counts):
            empty = "holds no rows" if parquet else "has a header but no data rows"
            raise DataError(f"{data.raw_path} {empty}")
        hashes = [client.submit(operator.getitem, f, 1) for f in futures]
        del futures  # the hashes alone stay on the cluster
        duplicates, missing_in_duplicates = drop_duplicates_across(client, parts, hashes)
    missing = sum(count["missing"] for count in counts)
    missing = missing.sub(missing_in_duplicates, fill_value=0).reindex(missing.index)
    report = quality_report(
        sum(count["rows_in"] for count in counts),
        sum(count["rows"] for count in counts) - duplicates,
        duplicates,
        sum(count["unlabelled"] for count in counts),
    )
    return {**report, "missing_values": {column: int(n) for column, n in missing.items()}}
