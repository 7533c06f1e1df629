"""Draft the schema and feature lists of a new raw CSV, so a first ``dvc repro`` just works.

    python -m <package> draft-schema data/raw/FILE.csv --target COLUMN

Reads the file (its first ``--rows`` rows), infers each column's type with the same
parsers ``clean`` uses, finds the file's missing-value markers, suggests ``normalize``
and ``allowed`` for categories, and writes ``conf/data/<file>.yaml`` and
``conf/features/default.yaml`` (each left-out column with the reason), selects the file
in ``conf/config.yaml`` and recomposes params.yaml. Bounds are suggestions, commented
out. Review the drafts: they describe the data you have, not the data you expect.
"""

from __future__ import annotations

import argparse
import re
import shutil
import tempfile
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from pandas.tseries.api import guess_datetime_format

from ..core.compose import compose_params, to_yaml
from ..core.config import DATA_DIRS_VARIABLE, Column, Params, outside_the_project, parse
from ..core.errors import ConfigError, DataError
from ..core.files import write_text
from ..core.paths import CONF, PARAMS
from .schema import RawSchema

MARKERS = {"", "?", "-", "--", ".", "na", "n/a", "nan", "null", "none", "missing"}
COMMA_NUMBER = r"\s*[+-]?\d+,\d+\s*"  # 39,1: a number with a decimal comma
# A column of text is a category while its values repeat: up to 30 levels (fewer than
# half the rows), or up to 500 that each recur on ten rows on average. Beyond, free text.
FEW_LEVELS, MAX_LEVELS, ROWS_PER_LEVEL = 30, 500, 10
FEATURES = CONF / "features" / "default.yaml"
UNTOUCHED_FEATURES = {"derived": {}, "numeric": [], "categorical": []}
PLAIN = RawSchema({})  # a reader of numbers written with a decimal point
# Headers of a first column that numbers the rows (pandas' to_csv and R's write.csv write
# an empty one; spreadsheets and other tools, one of the rest).
INDEX_HEADERS = {"", "index", "#", "row", "rownames", "row_number", "no", "no."}
# Month-year and year-month text ("Mar-2018", "March 2018", "03/2018", "2018-03"): a date
# whose format pandas does not guess from one value.
PERIOD = r"\s*(?:[A-Za-z]{3,9}[-/ .]\s*\d{4}|\d{1,2}[-/.]\d{4}|\d{4}[-/.]\d{1,2})\s*"
IDENTIFIER_WORDS = {"id", "key", "uuid", "identifier"}
SPLIT_KEY_NOTE = "a column that identifies an entity; null: all but the target"
SLICE_NOTE = "columns of conf/data/ whose groups the fairness check compares"
# Numbers a date yields for the model, drafted as commented examples under `derived`.
DATE_PARTS = {"year": "dt.year", "month": "dt.month", "weekday": "dt.day_of_week"}


def snake_case(header: str) -> str:
    name = re.sub(r"[^0-9a-zA-Z]+", "_", header).strip("_").lower() or "column"
    return f"c_{name}" if name[0].isdigit() else name


def decimal_mark(raw: pd.DataFrame, delimiter: str) -> str:
    """A comma when a column is mostly numbers written with one (39,1), as spreadsheets in
    much of Europe export them, with ";" between fields; else a point."""
    if delimiter == ",":
        return "."
    for _, values in raw.items():
        text = values.str.strip()
        if (text != "").any() and text[text != ""].str.fullmatch(COMMA_NUMBER).mean() >= 0.5:
            return ","
    return "."


def missing_markers(raw: pd.DataFrame, reader: RawSchema = PLAIN) -> list[str]:
    """Marker-like values in otherwise numeric columns: the file's missing-value tokens.
    A column may be mostly markers (R's NA in a sparse measurement): only the values that
    are no marker need to be numbers."""
    found = {""}
    for _, values in raw.items():
        text = values.str.strip()
        marker = text.str.lower().isin(MARKERS)
        numeric = reader.parse_numbers(text[~marker]).notna()
        if len(numeric) and numeric.mean() >= 0.5:
            found |= set(text[marker].unique())
    return sorted(found)


def infer_column(
    values: pd.Series, label: bool = False, reader: RawSchema = PLAIN
) -> dict[str, Any]:
    """Type, normalize and allowed values of one column's raw text (markers removed).

    The first of int, float and date that parses every value, else category, or text
    when there are too many distinct values. A classification ``label`` is a category.
    A date needs a format pandas recognises in its first value: without one, pandas
    guesses each value on its own and would read "39,1" as the year 2039.
    """
    present = values.dropna()
    for kind in () if label else ("int", "float", "date"):
        if kind == "date" and not looks_like_dates(present):
            continue
        with warnings.catch_warnings():  # pandas warns when no date format fits
            warnings.simplefilter("ignore", UserWarning)
            column = Column(type=kind)
            fits = reader.parse_column(present.head(1000), column).notna().all()
            parsed = reader.parse_column(present, column) if fits else None
        if len(present) and fits and parsed.notna().all():
            daily = kind == "date" and "%d" in (guess_datetime_format(present.iat[0]) or "")
            return {"type": kind, "parsed": parsed, "daily": daily}
    stripped = present.str.strip()
    strip = (present != stripped).any()
    lower = stripped.str.lower().nunique() < stripped.nunique()
    normalize = {(True, True): "both", (True, False): "strip", (False, True): "lower"}.get(
        (bool(strip), bool(lower))
    )
    category = Column(type="category", normalize=normalize)
    categories = reader.parse_column(present, category).unique()
    if not label and not repeats_enough(len(categories), len(present)):
        return {"type": "text", "distinct": len(categories)}
    # Few levels are a closed list; many are open: a level new to the model is "infrequent".
    allowed = sorted(categories) if len(categories) <= FEW_LEVELS else None
    return {"type": "category", "normalize": normalize, "allowed": allowed}


def looks_like_dates(present: pd.Series) -> bool:
    """Whether text may be dates: pandas guesses a format from the first value, or every
    value is a month and a year."""
    if present.empty:
        return False
    first_has_format = bool(guess_datetime_format(present.iat[0]))
    return first_has_format or bool(present.str.fullmatch(PERIOD).all())


def names_an_identifier(header: str) -> bool:
    """Whether a header reads as an identifier: "id", "patient_id", "PatientID", "Key"."""
    words = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", header)
    return bool(words) and words[-1].lower() in IDENTIFIER_WORDS


def is_row_number(header: str, values: pd.Series) -> bool:
    """Whether a first column is an exported row index: named like one (or not at all)
    and counting up by one from 0 or 1."""
    if header.strip().lower() not in INDEX_HEADERS:
        return False
    numbers = pd.to_numeric(values, errors="coerce")
    steps = numbers.diff().iloc[1:]
    return numbers.notna().all() and numbers.iat[0] in (0, 1) and bool((steps == 1).all())


def target_warning(header: str, values: pd.Series, task: str, reader: RawSchema) -> str | None:
    """A word when the target looks like the other task's: many distinct numbers for
    classification (each would be a class), or a handful of values for regression."""
    present = values.dropna()
    distinct = present.nunique()
    numeric = len(present) and reader.parse_numbers(present).notna().mean() >= 0.95
    if task == "classification" and numeric and distinct > max(20, len(present) // 20):
        return (
            f"warning: target {header!r} holds {distinct} distinct numbers: each becomes a "
            "class. If it is a quantity to predict, generate a regression project instead."
        )
    if task == "regression" and distinct <= 10:
        return (
            f"warning: target {header!r} holds only {distinct} distinct values: if they are "
            "classes, generate a classification project instead."
        )
    return None


def repeats_enough(levels: int, rows: int) -> bool:
    """Whether ``levels`` distinct values over ``rows`` rows make a category, not text."""
    if levels <= FEW_LEVELS:
        return levels <= rows / 2
    return levels <= MAX_LEVELS and levels * ROWS_PER_LEVEL <= rows


def column_yaml(
    name: str, header: str, inferred: dict[str, Any], target: bool, complete: bool
) -> list[str]:
    lines = [f"  {name}:", f"    source: {dump(header)}", f"    type: {inferred['type']}"]
    if target:
        lines[0] += "  # the target: rows without one are dropped by clean"
    elif complete:
        lines.append("    required: true  # no value is missing in the file; remove to allow gaps")
    if inferred.get("normalize"):
        lines.append(f"    normalize: {inferred['normalize']}")
    if inferred.get("allowed") is not None:
        lines.append(f"    allowed: {dump([str(v) for v in inferred['allowed']])}")
    if inferred["type"] in ("int", "float"):
        parsed = inferred["parsed"]
        lines.append(f"    # min: {parsed.min()}  # smallest value seen; uncomment to enforce")
        lines.append(f"    # max: {parsed.max()}  # largest value seen")
    return lines


def dump(value: Any) -> str:
    """``value`` as one line of YAML."""
    text = yaml.safe_dump(value, default_flow_style=True, width=10**6)
    return text.removesuffix("\n...\n").strip()


def listing(names: list[str], commented: list[str] = ()) -> str:
    """A YAML list, one name a line, to read and edit easily; ``commented`` names follow,
    commented out."""
    lines = [f"\n  - {name}" for name in names] + [f"\n  # - {name}" for name in commented]
    return "".join(lines) or " []"


def left_out(header: str, inferred: dict[str, Any], values: pd.Series) -> str | None:
    """Why a column is not a model input, or None when it is one."""
    present = values.dropna()
    distinct = present.nunique()
    if distinct <= 1:
        return "one value only"
    if inferred["type"] == "date":
        return "a date: uncomment its lines under derived and numeric to use it"
    if present.is_unique and (inferred["type"] == "int" or names_an_identifier(header)):
        return "unique per row: an identifier"
    if names_an_identifier(header) and distinct > FEW_LEVELS:
        return (
            f"an identifier that repeats ({distinct} values over {len(present)} rows): "
            "several rows per entity, so it is split.key and no input"
        )
    if inferred["type"] == "text":
        return f"free text ({inferred['distinct']} distinct values)"
    return None


def date_parts(name: str, daily: bool) -> dict[str, str]:
    """Derived numbers of a date column (a month-year has no weekday), as ``derived``."""
    parts = DATE_PARTS if daily else {k: v for k, v in DATE_PARTS.items() if k != "weekday"}
    return {f"{name}_{part}": f"{name}.{expression}" for part, expression in parts.items()}


def draft(
    csv: Path,
    target: str,
    task: str,
    rows: int,
    encoding: str = "utf-8",
    delimiter: str = ",",
    decimal: str | None = None,
) -> tuple[str, str, str, str | None]:
    """The data config, the feature config and a summary, all as text, and the column to
    split by (a repeated identifier), if any. ``decimal`` is found in the file when not
    given."""
    reader = RawSchema({}, encoding=encoding, delimiter=delimiter)
    text = reader.read_text(csv, rows=rows, every_column=True)  # every value as written
    reader = replace(reader, decimal=decimal or decimal_mark(text, delimiter))
    dialect = {"encoding": encoding, "delimiter": delimiter, "decimal": reader.decimal}
    markers = missing_markers(text, reader)
    raw = text.mask(text.isin(markers))
    index, unread = raw.columns[0], []
    if len(raw.columns) > 1 and is_row_number(index, text[index]):
        raw = raw.drop(columns=index)
        unread = [
            f"# The first column ({dump(index)}) numbers the rows, as an exported index does: it",
            "# is not read, so it is no input and rows differing only in it are duplicates.",
            f"unread_columns: {dump([index])}",
        ]
    names = {header: snake_case(header) for header in raw.columns}
    if len(set(names.values())) < len(names):
        names = {h: f"{n}_{i}" for i, (h, n) in enumerate(names.items())}
    if target not in names and target not in names.values():
        raise DataError(f"{csv}: no column {target!r}. Found: {', '.join(map(repr, raw))}")
    target = names.get(target, target)
    columns, inputs, excluded, warnings = [], {"numeric": [], "categorical": []}, [], []
    dates: dict[str, str] = {}  # derived examples, commented out
    split_key = None
    for header, name in names.items():
        values, is_target = raw[header], name == target
        inferred = infer_column(values, is_target and task == "classification", reader)
        if is_target and inferred["type"] not in ("int", "float", "category"):
            raise DataError(f"{csv}: target {header!r} is not numeric, so not a {task} target")
        if is_target and (warning := target_warning(header, values, task, reader)):
            warnings.append(warning)
        columns += column_yaml(name, header, inferred, is_target, bool(values.notna().all()))
        reason = "the target" if is_target else left_out(header, inferred, values)
        if reason and inferred["type"] == "date" and values.nunique() > 1:
            dates |= date_parts(name, inferred["daily"])
        if reason and "split.key" in reason:
            split_key = split_key or name
        if reason:
            excluded.append(f"# {name}: {reason}")
        else:
            inputs["numeric" if "parsed" in inferred else "categorical"].append(name)
    data = [
        f"# Drafted by `draft-schema` from {csv} ({len(raw)} rows read). Review it.",
        f"raw_path: {dump(str(csv))}",
        f"target: {target}",
        f"na_values: {dump(markers)}  # the markers this file uses for a missing value",
        *(f"{key}: {dump(value)}" for key, value in dialect.items()),
        *unread,
        "columns:",
        *columns,
    ]
    derived = "".join(f"\n  # {name}: {expression}" for name, expression in dates.items())
    features = [
        "# Drafted by `draft-schema`. Left out of the model's inputs:",
        *excluded,
        "# derived: new_column: pandas expression over the columns",
        f"derived:{derived or ' {}'}",
        f"numeric:{listing(inputs['numeric'], list(dates))}",
        f"categorical:{listing(inputs['categorical'])}",
    ]
    summary = (
        f"{len(names)} columns: {len(inputs['numeric'])} numeric and "
        f"{len(inputs['categorical'])} categorical inputs, {len(excluded)} left out"
    )
    if split_key:
        summary += f"; split.key: {split_key} (an entity's rows stay in one split)"
    summary = "\n".join([summary, *warnings])
    return "\n".join(data) + "\n", "\n".join(features) + "\n", summary, split_key


def with_line(text: str, key: str, value: Any, comment: str) -> str:
    """A config file's text with its top-level ``key`` set to ``value``, comments kept."""
    line = f"{key}: {dump(value)}  # {comment}"
    changed, count = re.subn(rf"(?m)^{key}:.*$", lambda _: line, text)
    return changed if count else f"{text.rstrip()}\n{line}\n"


def redrafted_group(group: str, config: str) -> Path:
    """The file conf/config.yaml selects for ``group``."""
    return CONF / group / f"{selected(config, group)}.yaml"


def selected(config: str, group: str) -> str:
    """The option conf/config.yaml's defaults list selects for ``group``."""
    found = re.search(rf"(?m)^\s*- {group}:\s*([\w-]+)", config)
    if not found:
        raise ConfigError(f"{CONF}/config.yaml: no `- {group}: ...` line in its defaults list")
    return found[1]


def select(config: str, option: str) -> str:
    """conf/config.yaml with ``data: option`` in its defaults list, comments kept."""
    selected, count = re.subn(r"(?m)^(\s*- data:\s*)[\w-]+", rf"\g<1>{option}", config)
    if count != 1:
        raise ConfigError(f"{CONF}/config.yaml: no `- data: ...` line in its defaults list")
    return selected


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", type=Path, help="the raw CSV, e.g. data/raw/FILE.csv")
    parser.add_argument("--target", required=True, help="the column to predict")
    parser.add_argument("--task", choices=["classification", "regression"])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows to read at most")
    parser.add_argument("--encoding", default="utf-8", help="the file's encoding, e.g. latin-1")
    parser.add_argument("--delimiter", default=",", help="the field separator, e.g. ';'")
    parser.add_argument(
        "--decimal", choices=[".", ","], help="the numbers' decimal mark (default: from the file)"
    )
    parser.add_argument("--force", action="store_true", help="overwrite existing drafts")
    args = parser.parse_args(argv)
    if outside_the_project(args.csv):
        raise ConfigError(
            f"{args.csv} is outside the project: copy it under data/raw/ (then `dvc add` it), "
            f"or list its directory in {DATA_DIRS_VARIABLE}"
        )
    task = compose_params()["task"]
    if args.task and args.task != task:
        raise ConfigError(
            f"this project is set up for {task} (task in {CONF}/config.yaml, with {task} "
            f"models in {CONF}/model/): generate a new project with task={args.task}"
        )
    option = snake_case(args.csv.stem)
    data_file = CONF / "data" / f"{option}.yaml"
    for path in (data_file, FEATURES):
        if not path.exists() or args.force:
            continue
        if path != FEATURES or yaml.safe_load(path.read_text()) != UNTOUCHED_FEATURES:
            raise ConfigError(f"{path} exists: pass --force to overwrite it")
    data_text, features_text, summary, split_key = draft(
        args.csv, args.target, task, args.rows, args.encoding, args.delimiter, args.decimal
    )
    config = (CONF / "config.yaml").read_text()
    split, evaluate = redrafted_group("split", config), redrafted_group("evaluate", config)
    columns = yaml.safe_load(data_text)["columns"]
    slices = yaml.safe_load(evaluate.read_text()).get("slice_columns") or []
    files = {
        data_file: data_text,
        FEATURES: features_text,
        CONF / "config.yaml": select(config, option),
        split: with_line(split.read_text(), "key", split_key, SPLIT_KEY_NOTE),
        evaluate: with_line(
            evaluate.read_text(), "slice_columns", [c for c in slices if c in columns], SLICE_NOTE
        ),
    }
    with tempfile.TemporaryDirectory() as scratch:  # compose the drafts before writing any
        trial = Path(scratch) / "conf"
        shutil.copytree(CONF, trial)
        for path, text in files.items():
            (trial / path.relative_to(CONF)).write_text(text, encoding="utf-8")
        params = compose_params(config_dir=trial)
    parse(Params, params, "the drafted conf/")
    for path, text in files.items():
        write_text(text, path)
    write_text(to_yaml(params), PARAMS)
    print(f"draft-schema: {summary}")
    print(f"wrote {', '.join(map(str, files))} and {PARAMS}; review them, then `dvc repro`")
