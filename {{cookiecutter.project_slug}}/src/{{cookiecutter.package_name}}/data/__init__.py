"""Raw rows to model-ready rows: the schema in conf/data/ (pandera), tidying, features.

Training (the clean and featurize stages), batch prediction and the API all call these
functions, so what is served cannot drift from what was trained. A row that breaks the
schema is reported by column, check, offending values and CSV line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..core.config import Column
from ..core.errors import ConfigError, DataError, shorten

SHOWN_FAILURES = 5  # offending values listed per problem; the rest are counted
NORMALIZE = {  # a category's or text's raw values before ``allowed`` and ``recode``
    "strip": lambda values: values.str.strip(),
    "lower": lambda values: values.str.lower(),
    "both": lambda values: values.str.strip().str.lower(),
}


def parse_column(values: pd.Series, column: Column) -> pd.Series:
    """Raw text as the declared type; a value that does not parse becomes missing.

    ``int`` takes integral numbers written as floats ("74.0"), not "74.5"; numbers must
    be finite. Dates are parsed with the format pandas infers from the first one.
    """
    if column.type == "date":
        return pd.to_datetime(values, errors="coerce")
    if column.type in ("category", "text"):
        if column.normalize:
            values = NORMALIZE[column.normalize](values)
            values = values.mask(values == "")  # nothing left: a missing value
        return values
    numbers = pd.to_numeric(values, errors="coerce").astype("float64")
    numbers = numbers.where(np.isfinite(numbers))
    if column.type == "int":
        return numbers.where(numbers == np.floor(numbers)).astype("Int64")
    return numbers


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


def read_raw_csv(path: Path, na_values: list[str], rows: int | None = None) -> pd.DataFrame:
    """Read every raw column as text, with the source's own missing-value markers."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} not found")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=na_values, nrows=rows)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path} is empty: expected a CSV file with a header row") from None
    except pd.errors.ParserError as error:
        raise DataError(f"{path} is not valid CSV: {error}") from None
    if frame.empty:
        raise DataError(f"{path} has a header but no data rows")
    return frame


def require_columns(frame: pd.DataFrame, columns: dict[str, Column], source: Any) -> None:
    missing = [c.source for c in columns.values() if c.source not in frame.columns]
    if missing:
        raise DataError(
            f"{source}: missing column(s) {', '.join(map(repr, missing))}. "
            f"Found: {', '.join(map(repr, frame.columns))}"
        )


def check_rows(
    raw: pd.DataFrame, columns: dict[str, Column], source: Any
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The declared columns parsed, and one row per failure: column, check, row index.

    A value that does not parse is one failure ("not int"); the checks then see it as
    missing, so it is not reported again.
    """
    from pandera.errors import SchemaErrors

    require_columns(raw, columns, source)
    parsed = pd.DataFrame({c.source: parse_column(raw[c.source], c) for c in columns.values()})
    failures = [
        pd.DataFrame({"column": c.source, "check": f"not {c.type}", "index": raw.index[bad]})
        for c in columns.values()
        if (bad := (raw[c.source].notna() & parsed[c.source].isna()).to_numpy()).any()
    ]
    unparsed = {(f["column"].iat[0], i) for f in failures for i in f["index"]}
    try:
        build_schema(columns).validate(parsed, lazy=True)
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


def validate_raw(raw: pd.DataFrame, columns: dict[str, Column], source: Any) -> pd.DataFrame:
    """The declared columns with parsed types, or a DataError describing every failure."""
    parsed, failures = check_rows(raw, columns, source)
    if len(failures):
        raise DataError(describe_failures(failures, raw, source))
    return parsed


def describe_failures(failures: pd.DataFrame, raw: pd.DataFrame, source: Any) -> str:
    """One line per (column, check): the offending raw values and the CSV lines they sit on."""
    lines = [f"{source} breaks the declared schema (conf/data/):"]
    for (column, check), group in failures.groupby(["column", "check"], sort=False):
        shown = group["index"].head(SHOWN_FAILURES)
        values = ", ".join(
            f"{raw_value(raw.at[index, column])} (line {csv_line(index)})" for index in shown
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
            frame[name] = frame[name].replace(column.recode)
    return frame


def derive_features(frame: pd.DataFrame, derived: dict[str, str]) -> pd.DataFrame:
    """Add one column per expression, in order, so later ones may use earlier ones."""
    result = frame.copy()
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
