"""The raw data's schema: declared in conf/data/, enforced with pandera.

Each entry of ``data.columns`` names a clean column and describes the raw column it
comes from::

    body_mass_g:
      source: Body Mass (g)   # header in the raw CSV
      type: float             # float | int | category | date | text
      required: false         # true: no missing values allowed
      min: 0                  # optional bounds for float and int
      allowed: [MALE, FEMALE] # optional raw values for category
      recode: {MALE: male}    # optional raw -> clean value mapping for category

A violation is reported by column, check, offending values and CSV line numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from .errors import ConfigError, DataError

DTYPES = {
    "float": "float64",
    "int": "Int64",
    "category": str,
    "date": "datetime64[ns]",
    "text": str,
}
SHOWN_FAILURES = 5  # offending values listed per problem; the rest are counted


@dataclass(frozen=True)
class ColumnSpec:
    """One declared column, checked for sense when it is read from config."""

    name: str
    source: str
    type: str
    required: bool = False
    min: float | None = None
    max: float | None = None
    allowed: list[Any] | None = None
    recode: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_config(cls, name: str, entry: Any) -> ColumnSpec:
        where = f"params.yaml: data.columns.{name}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where} must be a mapping with at least 'source' and 'type'")
        unknown = set(entry) - {"source", "type", "required", "min", "max", "allowed", "recode"}
        if unknown:
            raise ConfigError(f"{where} has unknown keys: {', '.join(sorted(unknown))}")
        if entry.get("type") not in DTYPES:
            raise ConfigError(
                f"{where}.type is {entry.get('type')!r}; expected one of {', '.join(DTYPES)}"
            )
        return cls(name=name, source=str(entry.get("source", name)), **_without(entry, "source"))


def _without(mapping: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if k != key and v is not None}


def column_specs(columns_config: Any) -> list[ColumnSpec]:
    """Parse ``data.columns`` into specs, refusing an empty or malformed declaration."""
    if not isinstance(columns_config, dict) or not columns_config:
        raise ConfigError("params.yaml: data.columns must declare at least one column")
    return [ColumnSpec.from_config(name, entry) for name, entry in columns_config.items()]


def build_schema(specs: list[ColumnSpec]) -> pa.DataFrameSchema:
    """A pandera schema over the raw (source) column names that also parses types."""
    columns = {}
    for spec in specs:
        checks = []
        if spec.min is not None:
            checks.append(pa.Check.ge(spec.min))
        if spec.max is not None:
            checks.append(pa.Check.le(spec.max))
        if spec.allowed is not None:
            checks.append(pa.Check.isin(spec.allowed))
        columns[spec.source] = pa.Column(
            DTYPES[spec.type], checks=checks, nullable=not spec.required, coerce=True
        )
    return pa.DataFrameSchema(columns, strict=False)


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


def validate_raw(frame: pd.DataFrame, specs: list[ColumnSpec], source: Path) -> pd.DataFrame:
    """Check the raw frame against the declared schema and return it with parsed types."""
    require_columns(frame, specs, source)
    try:
        return build_schema(specs).validate(frame, lazy=True)
    except SchemaErrors as errors:
        raise DataError(describe_failures(errors.failure_cases, source)) from None


def require_columns(frame: pd.DataFrame, specs: list[ColumnSpec], source: Path) -> None:
    missing = [spec.source for spec in specs if spec.source not in frame.columns]
    if missing:
        raise DataError(
            f"{source}: missing column(s) {', '.join(map(repr, missing))}. "
            f"Found: {', '.join(map(repr, frame.columns))}"
        )


def split_valid(
    frame: pd.DataFrame, specs: list[ColumnSpec], source: Path
) -> tuple[pd.DataFrame, str | None]:
    """The rows that pass the schema, and what is wrong with the others (None if nothing).

    For monitoring, where a few bad rows should be reported, not stop the measurement.
    A missing column, or a failure not tied to rows, still raises DataError.
    """
    require_columns(frame, specs, source)
    try:
        return build_schema(specs).validate(frame, lazy=True), None
    except SchemaErrors as errors:
        cases = errors.failure_cases
    if cases["index"].isna().any():  # a failure of the whole column or frame
        raise DataError(describe_failures(cases, source))
    valid = frame.drop(index=cases["index"].astype(int).unique())
    return validate_raw(valid, specs, source), describe_failures(cases, source)


def describe_failures(failure_cases: pd.DataFrame, source: Path) -> str:
    """One line per (column, check): the offending values and the CSV lines they sit on."""
    lines = [f"{source} breaks the declared schema (conf/data/):"]
    for (column, check), cases in failure_cases.groupby(["column", "check"], sort=False):
        shown = cases.head(SHOWN_FAILURES)
        values = ", ".join(
            f"{case!r} (line {_csv_line(index)})"
            for case, index in zip(shown["failure_case"], shown["index"], strict=True)
        )
        more = len(cases) - len(shown)
        suffix = f" and {more} more" if more > 0 else ""
        lines.append(f"  column {column!r} fails {check}: {values}{suffix}")
    return "\n".join(lines)


def _csv_line(index: Any) -> str:
    """Row index 0 is line 2 of the file: line 1 is the header."""
    return "?" if pd.isna(index) else str(int(index) + 2)
