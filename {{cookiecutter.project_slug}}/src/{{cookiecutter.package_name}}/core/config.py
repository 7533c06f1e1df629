"""params.yaml, the resolved snapshot of conf/, read into typed sections checked once.

Commands read this file rather than composing Hydra themselves: it is exactly what DVC
hashed. The whole file is validated when it is loaded, so a wrong type, an unknown key or
a missing key stops a command before any work, naming the params.yaml key.
"""

from __future__ import annotations

import codecs
import os
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .errors import ConfigError, shorten
from .paths import PARAMS
from .yaml_files import read_yaml


class Section(BaseModel):
    """A group of params: unknown keys are refused, so a typo cannot pass unnoticed, and
    text or true/false where a number belongs is refused, not converted."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_text_for_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        kinds = set(get_args(cls.model_fields[info.field_name].annotation)) or {
            cls.model_fields[info.field_name].annotation
        }
        wants_number = bool(kinds & {int, float}) and not kinds & {str, bool}
        if isinstance(value, str) and wants_number:
            raise ValueError("expected a number, not text: write it without quotes")
        if isinstance(value, bool) and wants_number:
            raise ValueError("expected a number, not true or false")
        if isinstance(value, str) and bool in kinds and str not in kinds:
            raise ValueError("expected true or false, not text")
        return value


class Column(Section):
    """One raw column: its header, its type, and the checks its values must pass."""

    source: str | None = None  # the raw header; None: the same as the clean name
    type: Literal["float", "int", "category", "date", "text"]
    required: bool = False  # true: no missing values allowed
    min: float | None = None
    max: float | None = None
    normalize: Literal["strip", "lower", "both"] | None = None  # category/text, first
    allowed: list[Any] | None = None  # values a category may take (after normalize)
    recode: dict[str, Any] = {}  # raw -> clean category values


# Absolute directories, separated by os.pathsep, that data.raw_path may name besides
# the project's own folder (a shared data disk, say).
DATA_DIRS_VARIABLE = "{{ cookiecutter.package_name | upper }}_DATA_DIRS"
MAX_MARKERS, MAX_MARKER_LENGTH = 1000, 100  # na_values: the CSV reader's limits are lower


def outside_the_project(path: Path) -> bool:
    """Whether ``path`` leaves the project (``..``, or absolute) for a directory not
    listed in ``DATA_DIRS_VARIABLE``."""
    plain = Path(os.path.normpath(path))
    if not plain.is_absolute():
        return plain.parts[:1] == ("..",)
    allowed = [Path(d) for d in os.environ.get(DATA_DIRS_VARIABLE, "").split(os.pathsep) if d]
    return not any(plain.is_relative_to(directory) for directory in allowed)


class Data(Section):
    raw_path: Path
    target: str
    na_values: list[str] = Field([], max_length=MAX_MARKERS)
    encoding: str = "utf-8"  # any Python codec name: latin-1, cp1252, utf-16, ...
    delimiter: str = Field(",", min_length=1, max_length=1)
    decimal: Literal[".", ","] = "."  # the decimal mark of the file's numbers
    columns: dict[str, Column] = Field(min_length=1)
    # Headers the file has but nothing reads (an exported row index, notes): the API
    # accepts a raw row holding them, and refuses any other undeclared key.
    unread_columns: list[str] = []

    @field_validator("raw_path")
    @classmethod
    def _inside_the_project(cls, path: Path) -> Path:
        if outside_the_project(path):
            raise ValueError(
                "the raw data must be inside the project (a path relative to its root, "
                f"not leaving it), or under a directory listed in {DATA_DIRS_VARIABLE}"
            )
        return path

    @field_validator("na_values")
    @classmethod
    def _short_markers(cls, markers: list[str]) -> list[str]:
        if long := [marker for marker in markers if len(marker) > MAX_MARKER_LENGTH]:
            limit = f"over {MAX_MARKER_LENGTH} characters"
            raise ValueError(f"a missing-value marker {limit}: {shorten(long[0])}")
        return markers

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, encoding: str) -> str:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ValueError(f"unknown encoding {encoding!r}") from None
        return encoding

    @field_validator("columns")
    @classmethod
    def _sources(cls, columns: dict[str, Column]) -> dict[str, Column]:
        """No ``source`` means the raw header is the clean name (an empty header is one)."""
        named = {n: c.source if c.source is not None else n for n, c in columns.items()}
        return {n: c.model_copy(update={"source": named[n]}) for n, c in columns.items()}

    @model_validator(mode="after")
    def _target_declared(self) -> Data:
        if self.target not in self.columns:
            raise ValueError(f"target {self.target!r} is not one of data.columns")
        return self

    @model_validator(mode="after")
    def _decimal_mark_is_not_the_delimiter(self) -> Data:
        if self.decimal == self.delimiter:
            raise ValueError(f"decimal and delimiter are both {self.delimiter!r}")
        return self

    def inputs(self) -> dict[str, Column]:
        """The columns new data must have: all but the target."""
        return {name: c for name, c in self.columns.items() if name != self.target}


class Features(Section):
    derived: dict[str, str] = {}  # new column: pandas expression
    numeric: list[str] = []
    categorical: list[str] = []

    @field_validator("derived", "numeric", "categorical", mode="before")
    @classmethod
    def _empty(cls, value: Any, info: ValidationInfo) -> Any:
        """A key left empty in YAML (its entries commented out) holds nothing."""
        if value is None:
            return {} if info.field_name == "derived" else []
        return value

    @property
    def inputs(self) -> list[str]:
        return [*self.numeric, *self.categorical]


class Split(Section):
    test_size: float = Field(gt=0, lt=1)
    validation_size: float = Field(ge=0, lt=1)
    key: str | None = None  # a declared column that identifies a row; None: all but the target

    @model_validator(mode="after")
    def _leaves_training_rows(self) -> Split:
        if self.test_size + self.validation_size >= 1:
            raise ValueError("test_size + validation_size must leave rows to train on")
        return self


class Model(Section):
    """An estimator: ``_target_`` class path, its arguments, and a search space to tune."""

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)
    target: str = Field(alias="_target_", pattern=r"^[A-Za-z_][\w.]*$")
    search_space: dict[str, Any] = {}

    @property
    def arguments(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class Tuning(Section):
    enabled: bool = False
    candidates: int = Field(ge=1)
    folds: int = Field(ge=2)
    scoring: str


class Evaluate(Section):
    slice_columns: list[str] = []
    fairness_gap: float = Field(ge=0)
    importance_repeats: int = Field(ge=1)
    sample_rows: int = Field(ge=1)  # rows for importance and plots; metrics use all


class Limit(Section):
    """How far a metric may worsen: ``max_drop`` (higher is better) or ``max_rise``.

    With ``relative`` the allowance is a fraction of the base value: the natural limit
    for a metric in the target's unit (RMSE, MAE), whatever the data's scale.
    """

    max_drop: float | None = Field(None, ge=0)
    max_rise: float | None = Field(None, ge=0)
    relative: bool = False

    @model_validator(mode="after")
    def _exactly_one(self) -> Limit:
        if (self.max_drop is None) == (self.max_rise is None):
            raise ValueError("give exactly one of max_drop or max_rise")
        return self


class Review(Section):
    tolerance: float = Field(ge=0)
    limits: dict[str, Limit] = {}
    primary_metric: str
    beat_baseline: bool = True  # the gate fails when the model does not beat the baseline
{%- if cookiecutter.operations == 'yes' %}


class Monitor(Section):
    bins: int = Field(ge=2)
    psi_threshold: float = Field(gt=0)
    p_value: float = Field(gt=0, lt=1)
    min_psi: float = Field(0.05, ge=0)  # the least shift a significant test may flag
    missing_rate_increase: float = Field(ge=0)
    min_rows: int = Field(ge=1)
    unseen_share: float = Field(0.05, ge=0, le=1)
    # Labelled batches (ops/performance.py): how much worse than the test score counts.
    performance_drop: float = Field(0.05, ge=0)
    performance_p_value: float = Field(0.01, gt=0, lt=1)
    resamples: int = Field(1000, ge=100, le=100_000)
{%- endif %}


class Compute(Section):
    """Where the row-wise stages run: in this process (pandas) or on a Dask cluster."""

    engine: Literal["pandas", "dask"] = "pandas"
    scheduler: str | None = None  # None: $DASK_SCHEDULER_ADDRESS, else a local cluster
    connect_timeout_s: float = Field(10, gt=0)  # how long a named scheduler may take to answer
    partition_mb: float = Field(64, gt=0)  # MB of raw CSV per partition (dask)
    max_train_rows: int | None = Field(None, ge=1)  # beyond it, train fits on a sample

    @property
    def partition_bytes(self) -> int:
        return int(self.partition_mb * (1 << 20))


class Params(Section):
    """The whole of params.yaml: the template's sections, typed and strict, and your own.

    A top-level key the template does not know is your own section, composed from a
    conf/ group you added: it must be a mapping, and ``read_section`` hands it to a stage.
    """

    model_config = ConfigDict(extra="allow", frozen=True)
    task: Literal["{{ cookiecutter.task }}"]  # chosen when the project was generated
    seed: int = Field(ge=0, le=2**32 - 1)  # numpy's range for a seed
    data: Data
    features: Features
    split: Split
    model: Model
    tuning: Tuning
    evaluate: Evaluate
    review: Review
{%- if cookiecutter.operations == 'yes' %}
    monitor: Monitor
{%- endif %}
    compute: Compute

    @model_validator(mode="before")
    @classmethod
    def _own_sections_are_mappings(cls, raw: Any) -> Any:
        """A stray scalar is a typo far more often than a setting: name it first."""
        for name, value in (raw if isinstance(raw, dict) else {}).items():
            if name not in cls.model_fields and not isinstance(value, dict):
                raise ValueError(
                    f"{name}: not a key the template knows; your own settings go in a section "
                    f"of their own (conf/{name}/default.yaml, listed in conf/config.yaml)"
                )
        return raw

    @model_validator(mode="after")
    def _split_key_declared(self) -> Params:
        key, inputs = self.split.key, self.data.inputs()
        if key is None or key in inputs:
            return self
        names = shorten(", ".join(inputs), 300).strip("'")
        headers = {column.source or name: name for name, column in inputs.items()}
        hint = f" ({key!r} is the CSV header of {headers[key]!r})" if key in headers else ""
        raise ValueError(
            f"split.key: {key!r} must be one of data.columns other than the target{hint}: {names}"
        )


def parse(model: type[Section], raw: Any, source: object, prefix: str = "") -> Any:
    """``raw`` as ``model``, or a ConfigError listing every key that does not fit."""
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        lines = [f"{source} does not hold valid params:"]
        for problem in error.errors():
            key = ".".join([prefix, *map(str, problem["loc"])]).strip(".")
            message = problem["msg"].removeprefix("Value error, ")
            value = problem.get("input")
            shown = "" if isinstance(value, (dict, list)) else f" (got {shorten(value)})"
            lines.append(f"  {key}: {message}{shown}" if key else f"  {message}")
        raise ConfigError("\n".join(lines)) from None


def read_params(path: Path = PARAMS) -> dict[str, Any]:
    """params.yaml as plain data, naming the command that writes it when it is missing."""
    if not path.is_file():
        raise ConfigError(
            f"{path} not found. Run `python -m {__package__.split('.')[0]} compose` from the "
            "project root to compose it from conf/."
        )
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError(f"{path} must hold a mapping of keys, found {type(raw).__name__}")
    return raw


def load_params(path: Path = PARAMS) -> Params:
    """params.yaml, validated as a whole."""
    return parse(Params, read_params(path), path)


def read_section(name: str, schema: type[BaseModel] | None = None, path: Path = PARAMS) -> Any:
    """Your own section of params.yaml (a conf/ group you added), in one call.

    params.yaml is checked whole first, as for every stage. With ``schema`` (a pydantic
    model) the section is typed and checked too, and a problem names its key.
    """
    own = load_params(path).model_extra or {}
    if name not in own:
        raise ConfigError(
            f"{path} has no section {name!r}: add conf/{name}/default.yaml, list "
            f"`- {name}: default` in conf/config.yaml's defaults, then run "
            f"`python -m {__package__.split('.')[0]} compose`"
        )
    return own[name] if schema is None else parse(schema, own[name], path, prefix=name)


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``, so differences can be named by key."""
    if not isinstance(tree, dict) or not tree:
        return {prefix: tree}
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        flat.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def differing_keys(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    left, right = flatten(expected), flatten(actual)
    return sorted(key for key in left.keys() | right.keys() if left.get(key) != right.get(key))
