"""Raw rows to model-ready rows: the schema in conf/data/ (pandera), tidying, features.

Training (the clean and featurize stages), batch prediction and the API all call these
functions, so what is served cannot drift from what was trained. A row that breaks the
schema is reported by column, check, offending values and CSV line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from .core.config import Column
from .core.errors import ConfigError, DataError, shorten

DTYPES = {
    "float": "float64",
    "int": "Int64",
    "category": str,
    "date": "datetime64[ns]",
    "text": str,
}
SHOWN_FAILURES = 5  # offending values listed per problem; the rest are counted


def build_schema(columns: dict[str, Column]) -> Any:
    """A pandera schema over the raw (source) column names that also parses types."""
    import pandera.pandas as pa  # only commands that validate raw data pay for pandera

    schema = {}
    for column in columns.values():
        checks = []
        if column.min is not None:
            checks.append(pa.Check.ge(column.min))
        if column.max is not None:
            checks.append(pa.Check.le(column.max))
        if column.allowed is not None:
            checks.append(pa.Check.isin(column.allowed))
        schema[column.source] = pa.Column(
            DTYPES[column.type], checks=checks, nullable=not column.required, coerce=True
        )
    return pa.DataFrameSchema(schema, strict=False)


def read_raw_csv(path: Path, na_values: list[str]) -> pd.DataFrame:
    """Read every raw column as text, with the source's own missing-value markers."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} not found")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=na_values)
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


def validate_raw(frame: pd.DataFrame, columns: dict[str, Column], source: Any) -> pd.DataFrame:
    """The raw frame with parsed types, or a DataError describing every failure."""
    from pandera.errors import SchemaErrors

    require_columns(frame, columns, source)
    try:
        return build_schema(columns).validate(frame, lazy=True)
    except SchemaErrors as errors:
        raise DataError(describe_failures(errors.failure_cases, source)) from None


def describe_failures(cases: pd.DataFrame, source: Any) -> str:
    """One line per (column, check): the offending values and the CSV lines they sit on."""
    lines = [f"{source} breaks the declared schema (conf/data/):"]
    for (column, check), group in cases.groupby(["column", "check"], sort=False):
        shown = group.head(SHOWN_FAILURES)
        values = ", ".join(
            f"{shorten(case)} (line {csv_line(index)})"
            for case, index in zip(shown["failure_case"], shown["index"], strict=True)
        )
        more = f" and {len(group) - len(shown)} more" if len(group) > len(shown) else ""
        lines.append(f"  column {column!r} fails {check}: {values}{more}")
    return "\n".join(lines)


def csv_line(index: Any) -> str:
    """Row index 0 is line 2 of the file: line 1 is the header."""
    return "?" if pd.isna(index) else str(int(index) + 2)


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
