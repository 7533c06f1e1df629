"""Raw rows to model-ready rows: the schema in conf/data/ (pandera), tidying, features.

Training (the clean and featurize stages), batch prediction and the API all call these
functions, so what is served cannot drift from what was trained. A row that breaks the
schema is reported by column, check, offending values and CSV line.
"""

from __future__ import annotations

import codecs
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..core.config import Column
from ..core.errors import ConfigError, DataError, shorten
from .blocks import Block

SHOWN_FAILURES = 5  # offending values listed per problem; the rest are counted
LONG_ROW_BLOCK = 1 << 28  # bytes read at once when one row is longer than pyarrow's 1 MB
SHOWN_COLUMNS = 30  # header names listed when a declared column is missing
NUMBER = r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$"  # what parses as a number
NORMALIZE = {  # a category's or text's raw value before ``allowed`` and ``recode``
    "strip": str.strip,
    "lower": str.lower,
    "both": lambda value: value.strip().lower(),
}


def normalized(value: Any, how: str) -> Any:
    """One text value normalized as ``how`` says; nothing left is a missing value."""
    return (NORMALIZE[how](value) or None) if isinstance(value, str) else value


def parse_column(values: pd.Series, column: Column, decimal: str = ".") -> pd.Series:
    """Raw text as the declared type; a value that does not parse becomes missing.

    Vectorised in Arrow, so millions of rows parse in seconds. ``int`` takes integral
    numbers written as floats ("74.0"), not "74.5"; numbers must be finite and written
    with the ``decimal`` mark (``data.decimal``: "39,1" when it is a comma). Categories
    and text become pandas categoricals (one small code per row). Dates are parsed
    once per distinct value, with the format pandas infers from the first one.
    """
    if column.type == "date":
        codes, distinct = pd.factorize(values)
        dates = pd.to_datetime(pd.Series(distinct, dtype=object), errors="coerce").to_numpy()
        return pd.Series(pd.api.extensions.take(dates, codes, allow_fill=True), values.index)
    if column.type in ("category", "text"):
        if not column.normalize:
            return as_categorical(values)
        return map_categories(values, lambda value: normalized(value, column.normalize))
    numbers = parse_numbers(values, decimal)
    if column.type == "int":
        return numbers.where(numbers == np.floor(numbers)).astype("Int64")
    return numbers


def parse_numbers(values: pd.Series, decimal: str = ".") -> pd.Series:
    """Finite float64 where the text is a number (or already one: an API record), else NaN."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pd.api.types.is_numeric_dtype(values.dtype):
        result = values if values.dtype == "float64" else values.astype("float64")
    else:
        text = pa.array(values, type=pa.string(), from_pandas=True)
        if decimal != ".":  # "39,1" is read as 39.1, and "39.1" is not a number here
            dotted = pc.match_substring(text, ".")
            text = pc.if_else(dotted, None, pc.replace_substring(text, decimal, "."))
        try:  # the common case: every value is a plain number, cast in one pass
            numbers = pc.cast(text, pa.float64())
        except pa.ArrowInvalid:  # some are not: keep those that look like numbers
            number_text = pc.if_else(pc.match_substring_regex(text, NUMBER), text, None)
            numbers = pc.cast(pc.utf8_trim_whitespace(number_text), pa.float64())
        result = pd.Series(numbers.to_numpy(zero_copy_only=False), index=values.index)
    infinite = np.isinf(result.to_numpy())  # missing (NaN) stays missing, uncopied
    return result.where(~infinite) if infinite.any() else result


def build_schema(columns: dict[str, Column]) -> Any:
    """A pandera schema of the checks on parsed columns, keyed by raw (source) name."""
    import pandera.pandas as pa  # only commands that validate raw data pay for pandera

    schema = {}
    for column in columns.values():
        checks = []
        if column.min is not None:
            checks.append(pa.Check.ge(column.min))
        if column.max is not None:
            checks.append(pa.Check.le(column.max))
        if column.allowed is not None:
            checks.append(pa.Check.isin([str(value) for value in column.allowed]))
        schema[column.source] = pa.Column(checks=checks, nullable=not column.required)
    return pa.DataFrameSchema(schema)


def read_checked_csv(
    path: Path,
    na_values: list[str],
    columns: dict[str, Column],
    block: Block | None = None,
    **dialect: str,
) -> pd.DataFrame:
    """The declared columns of a raw CSV, parsed and checked against the schema.

    The file is first read typed (numbers as float64, other columns dictionary-encoded:
    a small code per row), which keeps memory near the table's own size. Only when a
    value does not convert or a check fails is it read again as text, so the error can
    quote each offending value as written, with its line. With ``block``, only that
    part of the file is read (the dask engine), its rows indexed as in the whole file.
    """
    import pyarrow as pa

    sources = [column.source for column in columns.values()]
    typed = read_raw_csv(path, na_values, sources, typed=columns, block=block, **dialect)
    parsed, failures = (None, None) if typed is None else check_rows(typed, columns, path)
    del typed  # its buffers go back to the OS before the next step needs memory
    pa.default_memory_pool().release_unused()
    if parsed is not None and not len(failures):
        return parsed
    raw = read_raw_csv(path, na_values, sources, block=block, **dialect)
    return validate_raw(raw, columns, path, decimal=dialect.get("decimal", "."))


def read_raw_csv(
    path: Path,
    na_values: list[str],
    sources: list[str] | None = None,
    rows: int | None = None,
    typed: dict[str, Column] | None = None,
    encoding: str = "utf-8",
    delimiter: str = ",",
    decimal: str = ".",
    block: Block | None = None,
) -> Any:
    """The raw columns as text, with the source's own missing-value markers.

    pyarrow parses the file on every core into Arrow strings, and keeps only the
    columns in ``sources`` (every column when None), so memory follows what is declared.
    With ``typed``, numbers are read as float64 and the rest dictionary-encoded, or None
    is returned when a value does not convert. ``encoding``, ``delimiter`` and
    ``decimal`` are ``data.encoding``, ``data.delimiter`` and ``data.decimal`` in conf/data/.
    """
    import pyarrow as pa
    import pyarrow.csv as csv

    path = Path(path)
    header = read_header(path, encoding, delimiter)
    wanted = header if sources is None else list(dict.fromkeys(sources))
    require_columns(header, wanted, path)
    if repeated := sorted({name for name in wanted if header.count(name) > 1}):
        raise DataError(
            f"{path}: the header names column(s) {', '.join(map(repr, repeated))} more than "
            "once; rename the copies so each column has one name"
        )
    types = {name: pa.string() for name in wanted}
    for column in (typed or {}).values():
        number = column.type in ("float", "int")
        types[column.source] = pa.float64() if number else pa.dictionary(pa.int32(), pa.string())
    convert = csv.ConvertOptions(
        column_types=types,
        include_columns=wanted,
        null_values=na_values,
        strings_can_be_null=True,
        decimal_point=decimal,
    )
    try:
        dialect = (encoding, delimiter)
        table = read_table(path, convert, rows, typed=bool(typed), dialect=dialect, block=block)
    except Unconvertible:
        return None
    if table.num_rows == 0 and block is None:
        raise DataError(f"{path} has a header but no data rows")
    frame = table.to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow")}.get)
    if block is not None:
        frame.index = pd.RangeIndex(block.first_row, block.first_row + len(frame))
    return frame


class Unconvertible(DataError):
    """A value that a typed read cannot convert: read the file as text instead."""


def read_header(path: Path, encoding: str = "utf-8", delimiter: str = ",") -> list[str]:
    import csv

    if not path.is_file():
        raise DataError(f"{path} not found")
    try:
        encoding = "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding
    except LookupError:
        raise ConfigError(f"unknown encoding {encoding!r} for {path}") from None
    with path.open(encoding=encoding, errors="replace", newline="") as handle:
        header = next(csv.reader(handle, delimiter=delimiter), None)
    if not header:
        raise DataError(f"{path} is empty: expected a CSV file with a header row")
    return header


def read_table(
    path: Path,
    convert: Any,
    rows: int | None,
    typed: bool = False,
    threads: bool = True,
    dialect: tuple[str, str] = ("utf-8", ","),
    block_size: int | None = None,
    block: Block | None = None,
) -> Any:
    """The file (or its first ``rows``, or one ``block``) as an Arrow table. A row with the
    wrong number of fields is an error naming its line, which a second, single-threaded
    read numbers."""
    import pyarrow as pa
    import pyarrow.csv as csv

    malformed: list[Any] = []

    def refuse(row: Any) -> str:
        malformed.append(row)
        return "skip"

    options = {
        "read_options": csv.ReadOptions(
            use_threads=threads, encoding=dialect[0], block_size=block_size
        ),
        "parse_options": csv.ParseOptions(
            delimiter=dialect[1], newlines_in_values=True, invalid_row_handler=refuse
        ),
        "convert_options": convert,
    }
    undecoded: list[Any] = []  # pyarrow cannot hand over a bad row that is not ``encoding``
    hook, sys.unraisablehook = sys.unraisablehook, undecoded.append
    source = path if block is None else pa.BufferReader(block.read())
    try:
        if rows is None:
            table = csv.read_csv(source, **options)
        else:  # stream, and stop once enough rows are read
            with csv.open_csv(source, **options) as reader:
                batches, count = [], 0
                while count < rows and (batch := next(reader, None)) is not None:
                    batches.append(batch)
                    count += batch.num_rows
                table = pa.Table.from_batches(batches, schema=reader.schema).slice(0, rows)
    except pa.ArrowInvalid as error:
        if typed and "conversion error" in str(error):
            raise Unconvertible(path) from None
        if "straddl" in str(error) and block_size is None:  # one row longer than a block
            return read_table(path, convert, rows, typed, threads, dialect, LONG_ROW_BLOCK, block)
        if undecoded or "UTF8" in str(error) or "UTF-8" in str(error):
            raise DataError(undecodable(path, dialect[0])) from None
        raise DataError(f"{path} cannot be read as CSV: {shorten(str(error), 200)}") from None
    finally:
        sys.unraisablehook = hook
    if malformed and threads:
        return read_table(path, convert, rows, typed, False, dialect, block_size, block)
    if malformed:
        row = malformed[0]
        line = row.number + (block.first_row if block else 0)
        raise DataError(
            f"{path}, line {line}: {row.actual_columns} fields where the header has "
            f"{row.expected_columns}: {shorten(row.text)}"
        )
    return table


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


def parse_rows(
    raw: pd.DataFrame, columns: dict[str, Column], source: Any, decimal: str = "."
) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """The declared columns parsed, and per column with values that do not parse, a frame
    of failures (column, check, row index)."""
    require_columns(list(raw.columns), [c.source for c in columns.values()], source)
    parsed = pd.DataFrame(
        {c.source: parse_column(raw[c.source], c, decimal) for c in columns.values()}
    )
    failures = [
        pd.DataFrame({"column": c.source, "check": f"not {c.type}", "index": raw.index[bad]})
        for c in columns.values()
        if (bad := raw[c.source].notna().to_numpy() & parsed[c.source].isna().to_numpy()).any()
    ]
    return parsed, failures


def check_rows(
    raw: pd.DataFrame, columns: dict[str, Column], source: Any, decimal: str = "."
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The declared columns parsed, and one row per failure: column, check, row index.

    A value that does not parse is one failure ("not int"); the checks then see it as
    missing, so it is not reported again.
    """
    from pandera.errors import SchemaErrors

    parsed, failures = parse_rows(raw, columns, source, decimal)
    unparsed = {(f["column"].iat[0], i) for f in failures for i in f["index"]}
    try:
        with warnings.catch_warnings():
            # pandas 2 warns about a concat in pandera's report of a missing value: noise here
            warnings.simplefilter("ignore", FutureWarning)
            build_schema(columns).validate(parsed, lazy=True, inplace=True)  # checks, no copy
    except SchemaErrors as errors:
        cases = errors.failure_cases
        if cases["index"].isna().any():  # a check that cannot run on the column at all
            column, check, case = cases[cases["index"].isna()].iloc[0][
                ["column", "check", "failure_case"]
            ]
            raise ConfigError(
                f"conf/data/: column {column!r} cannot be checked with {check} (min and max "
                f"suit int, float and date columns): {shorten(case)}"
            ) from None
        pairs = zip(cases["column"], cases["index"], strict=True)
        keep = [(column, int(index)) not in unparsed for column, index in pairs]
        failures.append(cases[keep].astype({"index": int}))
    found = pd.concat(failures, ignore_index=True) if failures else pd.DataFrame()
    return parsed, found


def line_place(index: int) -> str:
    return f"line {csv_line(index)}"


def validate_raw(
    raw: pd.DataFrame,
    columns: dict[str, Column],
    source: Any,
    place: Callable[[int], str] = line_place,
    decimal: str = ".",
) -> pd.DataFrame:
    """The declared columns with parsed types, or a DataError describing every failure."""
    parsed, failures = check_rows(raw, columns, source, decimal)
    if len(failures):
        raise DataError(describe_failures(failures, raw, source, place))
    return parsed


def describe_failures(
    failures: pd.DataFrame,
    raw: pd.DataFrame,
    source: Any,
    place: Callable[[int], str] = line_place,
) -> str:
    """One line per (column, check): the offending raw values and where each sits (the CSV
    line, by default)."""
    lines = [f"{source} breaks the declared schema (conf/data/):"]
    for (column, check), group in failures.groupby(["column", "check"], sort=False):
        shown = group["index"].head(SHOWN_FAILURES)
        values = ", ".join(
            f"{raw_value(raw.at[index, column])} ({place(index)})" for index in shown
        )
        more = f" and {len(group) - len(shown)} more" if len(group) > len(shown) else ""
        lines.append(f"  column {column!r} fails {check}: {values}{more}")
    return "\n".join(lines)


def raw_value(value: Any) -> str:
    return "missing" if pd.isna(value) else shorten(value)


def csv_line(index: int) -> int:
    """Row index 0 is line 2 of the file: line 1 is the header."""
    return int(index) + 2


def tidy(raw: pd.DataFrame, columns: dict[str, Column]) -> pd.DataFrame:
    """Keep the declared columns under their clean names, with categories recoded."""
    frame = raw[[c.source for c in columns.values()]]
    frame = frame.rename(columns={c.source: name for name, c in columns.items()})
    for name, column in columns.items():
        if column.recode:
            frame[name] = recoded(frame[name], column.recode)
    return frame


def recoded(values: pd.Series, recode: dict[str, Any]) -> pd.Series:
    """A categorical with its categories renamed; two raw values may become one."""
    return map_categories(values, lambda value: recode.get(value, value))


def as_categorical(values: pd.Series) -> pd.Series:
    return values if isinstance(values.dtype, pd.CategoricalDtype) else values.astype("category")


def map_categories(values: pd.Series, rename: Callable[[Any], Any]) -> pd.Series:
    """``rename`` applied once per distinct value, not per row: two values may become one,
    and a value renamed to None becomes missing."""
    values = as_categorical(values)
    codes, categories = pd.factorize(pd.Series([rename(c) for c in values.cat.categories]))
    lookup = np.append(codes, -1)  # a missing value (code -1) stays missing
    new_codes = lookup[values.cat.codes.to_numpy()]
    return pd.Series(pd.Categorical.from_codes(new_codes, categories), index=values.index)


def derive_features(frame: pd.DataFrame, derived: dict[str, str]) -> pd.DataFrame:
    """Add one column per expression, in order, so later ones may use earlier ones."""
    result = frame.copy(deep=False)  # new columns only: no need to copy the data
    for name, expression in derived.items():
        if name in result.columns:
            raise ConfigError(f"params.yaml: features.derived.{name} would overwrite a column")
        try:
            result[name] = result.eval(str(expression))
        except Exception as error:  # pandas raises many types for a bad expression
            raise ConfigError(
                f"params.yaml: features.derived.{name} = {expression!r} cannot be evaluated "
                f"on columns {list(result.columns)}: {error}"
            ) from None
    return result
