"""A CSV file as an Arrow table: pyarrow's reader, with the fallbacks real files need.

pyarrow reads on every core in 1 MB blocks. Two things make it read again: a row longer
than a block (read with 256 MB blocks), and a row with the wrong number of fields
(read on one core, which numbers its line right). A file that is not the declared
encoding is reported with the line where it stops being so.
"""

from __future__ import annotations

import codecs
import sys
from pathlib import Path
from typing import Any

from ..core.errors import ConfigError, DataError, shorten
from .blocks import Block

LONG_ROW_BLOCK = 1 << 28  # bytes read at once when one row is longer than pyarrow's 1 MB
MAX_HEADER_CHARS = 1 << 20  # a first line longer than this is not a header row
SHOWN_COLUMNS = 30  # header names listed when a declared column is missing


class Unconvertible(DataError):
    """A value that a typed read cannot convert: read the file as text instead."""


class RowTooLong(DataError):
    """A row longer than the read's block size."""


def read_header(path: Path, encoding: str = "utf-8", delimiter: str = ",") -> list[str]:
    import csv
    import io

    if not path.is_file():
        raise DataError(f"{path} not found")
    try:
        encoding = "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding
    except LookupError:
        raise ConfigError(f"unknown encoding {encoding!r} for {path}") from None
    with path.open(encoding=encoding, errors="replace", newline="") as handle:
        start = handle.read(MAX_HEADER_CHARS + 1)  # a quoted header name may hold a newline
    if len(start) > MAX_HEADER_CHARS and "\n" not in start and "\r" not in start:
        raise DataError(
            f"{path}, line 1: over {MAX_HEADER_CHARS} characters with no line end: expected "
            "a CSV file whose first line is its header"
        )
    try:
        header = next(csv.reader(io.StringIO(start), delimiter=delimiter), None)
    except csv.Error as error:  # a header name over the csv module's field limit
        raise DataError(f"{path}, line 1 (the header): {error}") from None
    if not header:
        raise DataError(f"{path} is empty: expected a CSV file with a header row")
    return header


def require_columns(found: list[str], wanted: list[str], source: Any) -> None:
    missing = [name for name in wanted if name not in found]
    if missing:
        hint = ""
        if len(found) == 1 and (marks := [m for m in ";\t|" if m in found[0]]):
            hint = (
                f" The header is one column holding {marks[0]!r}: if that separates the "
                f"columns, set data.delimiter: {marks[0]!r} in conf/data/."
            )
        shown = ", ".join(shorten(name, 40) for name in found[:SHOWN_COLUMNS])
        more = f" and {len(found) - SHOWN_COLUMNS} more" if len(found) > SHOWN_COLUMNS else ""
        raise DataError(
            f"{source}: missing column(s) {', '.join(shorten(m, 40) for m in missing)}. "
            f"Found: {shown}{more}.{hint}"
        )


def read_csv_table(
    path: Path,
    convert: Any,
    encoding: str,
    delimiter: str,
    rows: int | None = None,
    block: Block | None = None,
) -> Any:
    """The file (or its first ``rows``, or one ``block``) as an Arrow table. A row with the
    wrong number of fields is an error naming its line."""
    settings = {"encoding": encoding, "delimiter": delimiter, "rows": rows, "block": block}
    try:
        table, malformed = read_once(path, convert, threads=True, block_size=None, **settings)
        block_size = None
    except RowTooLong:
        block_size = LONG_ROW_BLOCK
        table, malformed = read_once(path, convert, threads=True, block_size=block_size, **settings)
    if not malformed:
        return table
    # Threads may find a later bad row first: one core reports the first one.
    _, malformed = read_once(path, convert, threads=False, block_size=block_size, **settings)
    row = malformed[0]
    line = row.number + (block.first_row if block else 0)
    raise DataError(
        f"{path}, line {line}: {row.actual_columns} fields where the header has "
        f"{row.expected_columns}: {shorten(row.text)}"
    )


def read_once(
    path: Path,
    convert: Any,
    encoding: str,
    delimiter: str,
    rows: int | None,
    block: Block | None,
    threads: bool,
    block_size: int | None,
) -> tuple[Any, list[Any]]:
    """One read of the file: the table, and the rows with the wrong number of fields."""
    import pyarrow as pa
    import pyarrow.csv as csv

    malformed: list[Any] = []

    def refuse(row: Any) -> str:
        malformed.append(row)
        return "skip"

    options = {
        "read_options": csv.ReadOptions(
            use_threads=threads, encoding=encoding, block_size=block_size
        ),
        "parse_options": csv.ParseOptions(
            delimiter=delimiter, newlines_in_values=True, invalid_row_handler=refuse
        ),
        "convert_options": convert,
    }
    undecoded: list[Any] = []  # pyarrow cannot hand over a bad row that is not ``encoding``
    hook, sys.unraisablehook = sys.unraisablehook, undecoded.append
    source = path if block is None else pa.BufferReader(block.read())
    try:
        if rows is None:
            return csv.read_csv(source, **options), malformed
        with csv.open_csv(source, **options) as reader:  # stop once enough rows are read
            batches, count = [], 0
            while count < rows and (batch := next(reader, None)) is not None:
                batches.append(batch)
                count += batch.num_rows
            return pa.Table.from_batches(batches, schema=reader.schema).slice(0, rows), malformed
    except pa.ArrowInvalid as error:
        raise read_failure(str(error), path, encoding, bool(undecoded), block_size) from None
    finally:
        sys.unraisablehook = hook


def read_failure(
    message: str, path: Path, encoding: str, undecoded: bool, block_size: int | None
) -> DataError:
    """What pyarrow's error means (it has one exception type; its message says which)."""
    if undecoded or "UTF8" in message or "UTF-8" in message:
        return DataError(undecodable(path, encoding))
    if "conversion error" in message:  # only a typed read converts
        return Unconvertible(path)
    if "straddl" in message and block_size is None:
        return RowTooLong(path)
    return DataError(f"{path} cannot be read as CSV: {shorten(message, 200)}")


def undecodable(path: Path, encoding: str) -> str:
    """Where a file stops being valid ``encoding``: its line, and the fix."""
    decoder, line = codecs.getincrementaldecoder(encoding)(), 1
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as error:
                line += chunk[: error.start].count(b"\n")
                byte = chunk[error.start : error.start + 1]
                return (
                    f"{path}, line {line}: byte {byte!r} is not valid {encoding}. Set "
                    "data.encoding in conf/data/ to the file's encoding (for example "
                    "latin-1 or cp1252), or re-save the file as UTF-8."
                )
            line += chunk.count(b"\n")
    return f"{path} is not valid {encoding}: set data.encoding in conf/data/"
