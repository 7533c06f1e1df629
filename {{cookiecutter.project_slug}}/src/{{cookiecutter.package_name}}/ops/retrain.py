"""Add the labelled batches in data/batches/ to the raw training data, each one once.

Once the batches ``monitor`` checked carry their labels, they are what to retrain on.
Each new batch is checked against the whole raw schema, target included (every row
labelled), and its header must be the raw file's. Its rows are then appended to
``data.raw_path`` as written, so the raw file keeps its own dialect. The raw file is
versioned again with ``dvc add``, and data/added_batches.csv records each batch by
name, MD5 and rows: a batch already there is skipped, and anyone can read which
batches the training data holds. ``dvc repro`` then retrains. The retrain workflow
runs both on a schedule and opens a pull request.
"""

from __future__ import annotations

import argparse
import codecs
import csv
import io
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from ..core import paths
from ..core.config import Data, load_params
from ..core.errors import DataError
from ..core.files import atomic_path, file_md5, write_csv
from ..data.reading import read_header
from ..data.schema import RawSchema
from ..review import actions
from ..review.revisions import dvc

BATCHES = Path("data/batches")
RECORD = Path("data/added_batches.csv")  # in git: the batches the raw data holds
RECORD_COLUMNS = ["batch", "md5", "rows"]


@dataclass(frozen=True)
class Batch:
    path: Path
    md5: str
    rows: int = 0


def read_record() -> pd.DataFrame:
    """The batches already added: one row each (none before the first)."""
    if not RECORD.is_file():
        return pd.DataFrame(columns=RECORD_COLUMNS)
    return pd.read_csv(RECORD, dtype={"batch": str, "md5": str, "rows": int})


def new_batches(folder: Path, record: pd.DataFrame) -> list[Batch]:
    """The CSV files in ``folder`` not added yet. One added before and changed since is
    refused: its earlier rows are in the training data and cannot be taken back."""
    added = dict(zip(record["batch"], record["md5"], strict=True))
    known, found = set(added.values()), []
    for path in sorted(Path(folder).glob("*.csv")):
        md5 = file_md5(path)
        if added.get(path.name, md5) != md5:
            raise DataError(
                f"{path} changed after it was added to the training data (MD5 "
                f"{added[path.name]} in {RECORD}, {md5} now): its rows cannot be "
                "taken back; put the new rows in a batch of their own"
            )
        if md5 in known:
            print(f"{path}: already in the training data, skipped")
        else:
            known.add(md5)
            found.append(Batch(path, md5))
    return found


def labelled_schema(data: Data) -> RawSchema:
    """The raw schema, with the target required: a row without its label cannot train."""
    target = data.columns[data.target].model_copy(update={"required": True})
    schema = RawSchema.of(data)
    return replace(schema, columns={**schema.columns, data.target: target})


def checked(batch: Batch, raw_header: list[str], data: Data) -> Batch:
    """``batch`` with its row count, once its header and every row pass; else a DataError
    naming the columns, or the values and their lines."""
    header = read_header(batch.path, data.encoding, data.delimiter)
    if header != raw_header:
        missing = [name for name in raw_header if name not in header]
        extra = [name for name in header if name not in raw_header]
        detail = (
            f"missing {missing}" * bool(missing)
            + "; " * bool(missing and extra)
            + f"not in the raw data {extra}" * bool(extra)
        ) or "the same columns in another order"
        if header[:1] == [""] and header[1:] == raw_header:
            detail = "an unnamed first column: the row numbers pandas' to_csv() writes unless "
            detail += "given index=False"
        raise DataError(
            f"{batch.path}: its header is not {data.raw_path}'s ({detail}); a batch is "
            "appended as written, so it must have the raw file's columns in its order"
        )
    rows = len(labelled_schema(data).read(batch.path))
    return replace(batch, rows=rows)


def data_lines(path: Path, data: Data) -> bytes:
    """The file's text after its header line(s), encoded as the raw file is."""
    utf8 = codecs.lookup(data.encoding).name == "utf-8"
    text = path.read_bytes().decode("utf-8-sig" if utf8 else data.encoding)  # no BOM inside
    lines = io.StringIO(text, newline="")
    next(csv.reader(lines, delimiter=data.delimiter))  # a quoted header may span lines
    body = text[lines.tell() :]
    return (body if not body or body.endswith(("\n", "\r")) else body + "\n").encode(data.encoding)


def append_rows(raw: Path, batches: list[Batch], data: Data) -> None:
    """Write the raw file followed by each batch's rows, atomically."""
    with atomic_path(raw) as temporary:
        shutil.copyfile(raw, temporary)
        with temporary.open("r+b") as handle:
            handle.seek(0, io.SEEK_END)
            if handle.tell():
                handle.seek(-1, io.SEEK_END)
                if handle.read(1) not in (b"\n", b"\r"):
                    handle.write(b"\n")
            for batch in batches:
                handle.write(data_lines(batch.path, data))


def add_batches(folder: Path) -> list[Batch]:
    """Add the new labelled batches in ``folder``; return them (none: nothing changed)."""
    data = load_params().data
    raw = Path(data.raw_path)
    if raw.suffix.lower() != ".csv" or not raw.is_file():
        raise DataError(
            f"data.raw_path {raw} is not a CSV file: batches are appended to a CSV raw file"
        )
    record = read_record()
    raw_header = read_header(raw, data.encoding, data.delimiter)
    batches = [checked(b, raw_header, data) for b in new_batches(folder, record)]
    if not batches:
        return []
    append_rows(raw, batches, data)
    added = [[b.path.name, b.md5, b.rows] for b in batches]
    write_csv(pd.concat([record, pd.DataFrame(added, columns=RECORD_COLUMNS)]), RECORD)
    dvc("add", str(raw))
    return batches


def title(batches: list[Batch]) -> str:
    names = ", ".join(b.path.name for b in batches)
    rows = sum(b.rows for b in batches)
    return f"Retrain with {rows} labelled rows from {names}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=Path, default=BATCHES, help="folder of CSV batches")
    args = parser.parse_args(argv)
    batches = add_batches(args.batches)
    if not batches:
        print(f"no new labelled batch in {args.batches}: the training data is unchanged")
        return
    for batch in batches:
        print(f"{batch.path}: {batch.rows} rows added to the training data")
    print(f"recorded in {RECORD}; run `dvc repro` to retrain")
    actions.set_output("title", title(batches))
    actions.set_output("branch", f"retrain/{paths.file_stem(batches[-1].path.stem)}")
    actions.add_to_summary(f"**{title(batches)}**")
