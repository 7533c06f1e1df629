"""The raw data's schema, built once from conf/data/: the one way raw rows are read,
parsed, checked and described when they fail.

``clean`` (through data/cleaning.py), ``predict``, ``serve`` and ``monitor`` all hold a
``RawSchema``, so what is served cannot be read differently from what was trained. It
knows the declared columns and how the file is written (missing-value markers, encoding,
delimiter, decimal mark) and how a row is named in an error (its CSV line, or its row in
Parquet), so none of that is passed from function to function.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..core.config import Column, Data
from ..core.errors import ConfigError, DataError, shorten
from ..features import as_categorical, map_categories, normalized
from .blocks import Block
from .reading import Unconvertible, read_csv_table, read_header, require_columns

SHOWN_FAILURES = 5  # offending values listed per problem; the rest are counted
NUMBER = r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$"  # what parses as a number


@dataclass(frozen=True)
class RawSchema:
    """The declared raw columns (keyed by clean name) and how their file is written."""

    columns: dict[str, Column]
    na_values: tuple[str, ...] = ()
    encoding: str = "utf-8"
    delimiter: str = ","
    decimal: str = "."
    rows_named: Literal["line", "row"] = "line"  # in errors: CSV line, or Parquet row

    @classmethod
    def of(cls, data: Data, inputs_only: bool = False) -> RawSchema:
        """The schema of ``data`` (conf/data/); ``inputs_only``: without the target, for new
        rows, which need not have it."""
        columns = data.inputs() if inputs_only else data.columns
        dialect = {"encoding": data.encoding, "delimiter": data.delimiter}
        return cls(columns, tuple(data.na_values), decimal=data.decimal, **dialect)

    @property
    def sources(self) -> list[str]:
        """The columns' raw headers."""
        return [column.source for column in self.columns.values()]

    # Reading: a file (or one piece of it) to its declared columns, parsed and checked.

    def read(self, path: Path, piece: Any = None) -> pd.DataFrame:
        """A CSV or Parquet file (or one block or row group of it), parsed and checked."""
        from .parquet import is_parquet, read_parquet_table

        if is_parquet(path):
            raw = read_parquet_table(path, self.sources, self.na_values, piece)
            return replace(self, rows_named="row").validate(raw, path)
        return self.read_csv(path, piece)

    def read_csv(self, path: Path, block: Block | None = None) -> pd.DataFrame:
        """A raw CSV's declared columns, parsed and checked.

        The file is first read typed (numbers as float64, other columns dictionary-encoded:
        a small code per row), which keeps memory near the table's own size. Only when a
        value does not convert or a check fails is it read again as text, so the error can
        quote each offending value as written, with its line.
        """
        import pyarrow as pa

        try:
            typed = self.read_text(path, block=block, typed=True)
        except Unconvertible:
            typed = None
        parsed, failures = (None, None) if typed is None else self.check(typed, path)
        del typed  # its buffers go back to the OS before the next step needs memory
        pa.default_memory_pool().release_unused()
        if parsed is not None and not len(failures):
            return parsed
        return self.validate(self.read_text(path, block=block), path)

    def read_text(
        self,
        path: Path,
        block: Block | None = None,
        rows: int | None = None,
        typed: bool = False,
        every_column: bool = False,
    ) -> pd.DataFrame:
        """The declared columns (or ``every_column``) as text, with the file's missing-value
        markers as missing; ``typed``: numbers as float64 and the rest dictionary-encoded,
        or Unconvertible when a value does not convert. With ``block``, only that part of
        the file, its rows indexed as in the whole file."""
        import pyarrow as pa
        import pyarrow.csv as csv

        path = Path(path)
        header = read_header(path, self.encoding, self.delimiter)
        wanted = header if every_column else list(dict.fromkeys(self.sources))
        require_columns(header, wanted, path)
        if repeated := sorted({name for name in wanted if header.count(name) > 1}):
            raise DataError(
                f"{path}: the header names column(s) {', '.join(map(repr, repeated))} more "
                "than once; rename the copies so each column has one name"
            )
        types = {name: pa.string() for name in wanted}
        for column in self.columns.values() if typed else ():
            number = column.type in ("float", "int")
            types[column.source] = (
                pa.float64() if number else pa.dictionary(pa.int32(), pa.string())
            )
        convert = csv.ConvertOptions(
            column_types=types,
            include_columns=wanted,
            null_values=list(self.na_values),
            strings_can_be_null=True,
            decimal_point=self.decimal,
        )
        table = read_csv_table(path, convert, self.encoding, self.delimiter, rows, block)
        if table.num_rows == 0 and block is None:
            raise DataError(f"{path} has a header but no data rows")
        frame = table.to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow")}.get)
        if block is not None:
            frame.index = pd.RangeIndex(block.first_row, block.first_row + len(frame))
        return frame

    # Parsing and checking rows already in memory (a file's, or an API request's).

    def parse(self, raw: pd.DataFrame, source: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The declared columns parsed, and one row per value that does not parse:
        column, check ("not int"), row index."""
        require_columns(list(raw.columns), self.sources, source)
        parsed = pd.DataFrame(
            {c.source: self.parse_column(raw[c.source], c) for c in self.columns.values()}
        )
        failures = [
            pd.DataFrame({"column": c.source, "check": f"not {c.type}", "index": raw.index[bad]})
            for c in self.columns.values()
            if (bad := raw[c.source].notna().to_numpy() & parsed[c.source].isna().to_numpy()).any()
        ]
        return parsed, concat_failures(failures)

    def check(self, raw: pd.DataFrame, source: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The declared columns parsed, and one row per failure: column, check, row index.

        A value that does not parse is one failure ("not int"); the checks then see it as
        missing, so it is not reported again.
        """
        from pandera.errors import SchemaErrors

        parsed, unparsed = self.parse(raw, source)
        found = [unparsed]
        try:
            with warnings.catch_warnings():
                # pandas 2 warns about a concat in pandera's report of a missing value: noise
                warnings.simplefilter("ignore", FutureWarning)
                self.pandera().validate(parsed, lazy=True, inplace=True)  # checks, no copy
        except SchemaErrors as errors:
            cases = errors.failure_cases
            if cases["index"].isna().any():  # a check that cannot run on the column at all
                column, check, case = cases[cases["index"].isna()].iloc[0][
                    ["column", "check", "failure_case"]
                ]
                raise ConfigError(
                    f"conf/data/: column {column!r} cannot be checked with {check} (min and "
                    f"max suit int, float and date columns): {shorten(case)}"
                ) from None
            seen = set(zip(unparsed["column"], unparsed["index"], strict=True))
            pairs = zip(cases["column"], cases["index"], strict=True)
            keep = [(column, int(index)) not in seen for column, index in pairs]
            found.append(cases[keep].astype({"index": int}))
        return parsed, concat_failures(found)

    def validate(self, raw: pd.DataFrame, source: Any) -> pd.DataFrame:
        """The declared columns with parsed types, or a DataError describing every failure."""
        parsed, failures = self.check(raw, source)
        if len(failures):
            raise DataError(self.describe(failures, raw, source))
        return parsed

    def valid_rows(self, raw: pd.DataFrame, source: Any) -> tuple[pd.DataFrame, str | None]:
        """The parsed rows that pass, and what is wrong with the others (None: nothing).

        For monitoring, where a few bad rows should be reported, not stop the measurement.
        """
        parsed, failures = self.check(raw, source)
        if not len(failures):
            return parsed, None
        valid = parsed.drop(index=failures["index"].unique())
        return valid, self.describe(failures, raw, source)

    def describe(self, failures: pd.DataFrame, raw: pd.DataFrame, source: Any) -> str:
        """One line per (column, check): the offending raw values and where each sits."""
        lines = [f"{source} breaks the declared schema (conf/data/):"]
        groups = failures.groupby(["column", "check"], sort=False)
        shown_rows = {int(i) for _, group in groups for i in group["index"].head(SHOWN_FAILURES)}
        where = self.places(shown_rows, source)
        for (column, check), group in groups:
            shown = group["index"].head(SHOWN_FAILURES)
            values = ", ".join(
                f"{raw_value(raw.at[index, column])} ({where[int(index)]})" for index in shown
            )
            more = f" and {len(group) - len(shown)} more" if len(group) > len(shown) else ""
            lines.append(f"  column {column!r} fails {check}: {values}{more}")
        return "\n".join(lines)

    def places(self, rows: set[int], source: Any) -> dict[int, str]:
        """Where each row is: its CSV line (line 1 is the header), or its Parquet row."""
        if self.rows_named == "row":
            return {index: f"row {index + 1}" for index in rows}
        lines = {}
        if isinstance(source, Path) and source.is_file() and rows:
            lines = physical_lines(source, rows, self.encoding, self.delimiter)
        return {index: f"line {lines.get(index, line_of(index))}" for index in rows}

    def pandera(self) -> Any:
        """A pandera schema of the checks on parsed columns, keyed by raw (source) name."""
        import pandera.pandas as pa  # only commands that validate raw data pay for pandera

        schema = {}
        for column in self.columns.values():
            checks = []
            if column.min is not None:
                checks.append(pa.Check.ge(column.min))
            if column.max is not None:
                checks.append(pa.Check.le(column.max))
            if column.allowed is not None:
                checks.append(pa.Check.isin([str(value) for value in column.allowed]))
            schema[column.source] = pa.Column(checks=checks, nullable=not column.required)
        return pa.DataFrameSchema(schema)

    # One column's values as its declared type.

    def parse_column(self, values: pd.Series, column: Column) -> pd.Series:
        """Raw text as the declared type; a value that does not parse becomes missing.

        Vectorised in Arrow. ``int`` takes integral numbers written as floats ("74.0"),
        not "74.5"; numbers must be finite. Categories and text become pandas
        categoricals (one small code per row). Dates are parsed once per distinct value,
        with the format pandas infers from the first one; a timestamp with an offset or
        ``Z`` is converted to UTC, and all dates are then plain (naive) UTC times, so one
        column may mix offsets and every later stage sees one kind of date.
        """
        if column.type == "date":
            codes, distinct = pd.factorize(values)
            with warnings.catch_warnings():  # no format to infer ("Mar-2018"): each is parsed
                warnings.simplefilter("ignore", UserWarning)
                series = pd.Series(distinct, dtype=object)
                distinct = pd.to_datetime(series, errors="coerce", utc=True).dt.tz_localize(None)
            dates = distinct.to_numpy()
            return pd.Series(pd.api.extensions.take(dates, codes, allow_fill=True), values.index)
        if column.type in ("category", "text"):
            if not column.normalize:
                return as_categorical(values)
            return map_categories(values, lambda value: normalized(value, column.normalize))
        numbers = self.parse_numbers(values)
        if column.type == "int":
            return numbers.where(numbers == np.floor(numbers)).astype("Int64")
        return numbers

    def parse_numbers(self, values: pd.Series) -> pd.Series:
        """Finite float64 where the text is a number written with this file's decimal mark
        (or already a number: an API record), else NaN."""
        import pyarrow as pa
        import pyarrow.compute as pc

        if pd.api.types.is_numeric_dtype(values.dtype):
            result = values if values.dtype == "float64" else values.astype("float64")
        else:
            text = pa.array(values, type=pa.string(), from_pandas=True)
            if self.decimal != ".":  # "39,1" is read as 39.1, and "39.1" is not a number
                dotted = pc.match_substring(text, ".")
                text = pc.if_else(dotted, None, pc.replace_substring(text, self.decimal, "."))
            try:  # the common case: every value is a plain number, cast in one pass
                numbers = pc.cast(text, pa.float64())
            except pa.ArrowInvalid:  # some are not: keep those that look like numbers
                number_text = pc.if_else(pc.match_substring_regex(text, NUMBER), text, None)
                numbers = pc.cast(pc.utf8_trim_whitespace(number_text), pa.float64())
            result = pd.Series(numbers.to_numpy(zero_copy_only=False), index=values.index)
        infinite = np.isinf(result.to_numpy())  # missing (NaN) stays missing, uncopied
        return result.where(~infinite) if infinite.any() else result


def line_of(index: Any) -> Any:
    """The CSV line of row ``index`` (a number or an array): line 1 is the header."""
    return index + 2


def physical_lines(path: Path, rows: set[int], encoding: str, delimiter: str) -> dict[int, int]:
    """The line each row starts on, as an editor numbers them: line ends inside quoted
    values count, and blank lines (which the reader skips) too. Empty when the file has no
    quote and no blank line, or when it cannot be scanned: every row is then ``line_of``."""
    import csv

    with path.open("rb") as handle:
        chunks = iter(lambda: handle.read(1 << 20), b"")
        if not any(b'"' in c or b"\n\n" in c or b"\n\r\n" in c for c in chunks):
            return {}
    lines, index, last = {}, 0, max(rows)
    with path.open(encoding=encoding, errors="replace", newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        try:
            next(reader, None)  # the header
            start = reader.line_num + 1
            for row in reader:
                if row:  # a blank line is no row
                    if index in rows:
                        lines[index] = start
                    if index == last:
                        break
                    index += 1
                start = reader.line_num + 1
        except csv.Error:  # a field over the csv module's limit: no exact lines
            return {}
    return lines


def concat_failures(failures: list[pd.DataFrame]) -> pd.DataFrame:
    found = [frame for frame in failures if len(frame)]
    if not found:
        return pd.DataFrame({"column": [], "check": [], "index": []})
    return pd.concat(found, ignore_index=True)


def raw_value(value: Any) -> str:
    return "missing" if pd.isna(value) else shorten(value)
