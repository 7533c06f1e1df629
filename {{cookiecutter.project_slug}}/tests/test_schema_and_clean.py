"""The clean stage and the schema it enforces, on small raw frames."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.core.config import Data, parse
from {{ cookiecutter.package_name }}.core.errors import ConfigError, DataError
from {{ cookiecutter.package_name }}.data.blocks import (
    count_lines,
    csv_blocks,
    numbered,
)
from {{ cookiecutter.package_name }}.data.cleaning import (
    clean_parsed,
    duplicate_rows,
)
from {{ cookiecutter.package_name }}.data.parquet import row_groups
from {{ cookiecutter.package_name }}.data.reading import Unconvertible
from {{ cookiecutter.package_name }}.data.schema import RawSchema
from {{ cookiecutter.package_name }}.data.splitting import assign_splits
from {{ cookiecutter.package_name }}.features import recoded

COLUMNS = {
    "kind": {
        "source": "Kind",
        "type": "category",
        "required": True,
        "allowed": ["A", "B"],
        "recode": {"A": "alpha", "B": "beta"},
    },
    "weight": {"source": "Weight (kg)", "type": "float", "min": 0},
    "count": {"source": "Count", "type": "int"},
    "seen": {"source": "Seen", "type": "date"},
}
NA_VALUES = ["NA", "."]


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def raw_csv(tmp_path: Path, *rows: str) -> Path:
    header = "Kind,Weight (kg),Count,Seen,Notes"
    return write_csv(tmp_path / "raw.csv", "\n".join([header, *rows]) + "\n")


def data_config(target: str = "kind", columns=COLUMNS, **dialect: str) -> Data:
    config = {"raw_path": "raw.csv", "target": target, "na_values": NA_VALUES, "columns": columns}
    return parse(Data, {**config, **dialect}, "params.yaml", "data")


def schema(target: str = "kind", columns=COLUMNS, **dialect: str) -> RawSchema:
    return RawSchema.of(data_config(target, columns, **dialect))


def run_clean(path: Path, target: str = "kind", columns=COLUMNS, **dialect: str):
    """The clean stage's work on the file as text: the path every failure takes."""
    data = data_config(target, columns, **dialect)
    reader = RawSchema.of(data)
    return clean_parsed(reader.validate(reader.read_text(path), path), data)


def test_clean_renames_parses_recodes_and_counts_drops(tmp_path):
    path = raw_csv(
        tmp_path,
        "A,1.5,3,2020-01-02,ok",
        "A,1.5,3,2020-01-02,ok",  # duplicate
        "B,NA,.,2020-02-03,",
        "B,2.0,4,2020-03-04,x",
    )
    frame, report = run_clean(path, target="weight")
    assert list(frame.columns) == ["kind", "weight", "count", "seen"]
    assert frame["kind"].tolist() == ["alpha", "beta"]
    assert frame["weight"].tolist() == [1.5, 2.0]
    assert str(frame["count"].dtype) == "Int64"
    assert frame["seen"].dt.year.tolist() == [2020, 2020]
    assert report["rows_in"] == 4
    assert report["rows_out"] == 2
    assert report["rows_dropped"] == {"duplicate": 1, "missing_target": 1}


def test_duplicates_found_by_hash_are_exactly_the_repeated_rows():
    rng = np.random.default_rng(0)
    picks = rng.integers(0, 40, size=2_000)  # 40 distinct rows, each repeated many times
    frame = pd.DataFrame(
        {
            "kind": pd.Categorical(np.array(["a", "b", None], dtype=object)[picks % 3]),
            "weight": np.where(picks % 5 == 0, np.nan, picks / 7),
            "count": pd.array(np.where(picks % 4 == 0, None, picks // 2), dtype="Int64"),
        }
    )
    expected = frame.astype(str).duplicated().to_numpy()  # pandas, comparing whole rows
    assert expected.sum() == len(frame) - len(frame.astype(str).drop_duplicates())
    assert (duplicate_rows(frame) == expected).all()
    assert duplicate_rows(frame.drop_duplicates()).sum() == 0


def test_missing_values_are_counted_per_column(tmp_path):
    frame, report = run_clean(raw_csv(tmp_path, "A,NA,.,2020-01-02,", "B,3,1,NA,"))
    assert report["missing_values"] == {"kind": 0, "weight": 1, "count": 1, "seen": 1}
    assert len(frame) == 2


def test_text_in_numeric_column_names_column_value_and_line(tmp_path):
    path = raw_csv(tmp_path, "A,1.5,3,2020-01-02,", "B,heavy,3,2020-01-02,")
    with pytest.raises(DataError) as error:
        run_clean(path)
    message = str(error.value)
    assert "'Weight (kg)'" in message
    assert "'heavy'" in message
    assert "line 3" in message


def test_value_outside_allowed_set_is_refused(tmp_path):
    with pytest.raises(DataError, match=r"'Kind'.*'C' \(line 2\)"):
        run_clean(raw_csv(tmp_path, "C,1.5,3,2020-01-02,"))


def test_int_takes_integral_floats_and_names_a_fraction(tmp_path):
    frame, _ = run_clean(raw_csv(tmp_path, "A,1.5,74.0,2020-01-02,"))
    assert frame["count"].tolist() == [74]
    with pytest.raises(DataError, match=r"'Count' fails not int: '74.5' \(line 2\)"):
        run_clean(raw_csv(tmp_path, "A,1.5,74.5,2020-01-02,"))


def test_each_failure_is_reported_once_with_its_raw_value(tmp_path):
    path = raw_csv(tmp_path, "A,heavy,3,2020-01-02,", "A,-1,3,2020-01-02,", "NA,2,x,soon,")
    with pytest.raises(DataError) as error:
        run_clean(path)
    problems = str(error.value).splitlines()[1:]
    assert problems == [
        "  column 'Weight (kg)' fails not float: 'heavy' (line 2)",
        "  column 'Count' fails not int: 'x' (line 4)",
        "  column 'Seen' fails not date: 'soon' (line 4)",
        "  column 'Kind' fails not_nullable: missing (line 4)",
        "  column 'Weight (kg)' fails greater_than_or_equal_to(0.0): '-1' (line 3)",
    ]


def test_normalize_collapses_case_and_space_variants_before_allowed(tmp_path):
    columns = {**COLUMNS, "kind": {**COLUMNS["kind"], "normalize": "both", "allowed": ["a", "b"],
                                   "recode": {"a": "alpha", "b": "beta"}}}  # fmt: skip
    path = raw_csv(tmp_path, " A,1,3,2020-01-02,", "a ,2,3,2020-01-02,", "B,3,3,2020-01-02,")
    frame, _ = run_clean(path, "weight", columns)
    assert frame["kind"].tolist() == ["alpha", "alpha", "beta"]
    with pytest.raises(DataError, match=r"'Kind' fails isin.*' C' \(line 2\)"):
        run_clean(raw_csv(tmp_path, " C,1,3,2020-01-02,"), "weight", columns)


def test_a_bound_on_a_category_is_a_config_error_not_a_silent_pass(tmp_path):
    columns = {**COLUMNS, "kind": {**COLUMNS["kind"], "min": 1}}
    with pytest.raises(ConfigError, match=r"'Kind' cannot be checked with greater_than"):
        run_clean(raw_csv(tmp_path, "A,1,3,2020-01-02,"), "weight", columns)


def test_value_below_minimum_is_refused(tmp_path):
    with pytest.raises(DataError, match=r"'Weight \(kg\)'.*greater_than_or_equal_to.*-1"):
        run_clean(raw_csv(tmp_path, "A,-1,3,2020-01-02,"))


def test_missing_required_value_is_refused(tmp_path):
    with pytest.raises(DataError, match=r"'Kind' fails not_nullable: missing \(line 2\)"):
        run_clean(raw_csv(tmp_path, "NA,1,3,2020-01-02,"))


def test_missing_column_is_named(tmp_path):
    path = write_csv(tmp_path / "raw.csv", "Kind,Count,Seen\nA,3,2020-01-02\n")
    with pytest.raises(DataError, match=r"missing column\(s\) 'Weight \(kg\)'"):
        run_clean(path)


def test_empty_file_is_refused(tmp_path):
    path = write_csv(tmp_path / "raw.csv", "")
    with pytest.raises(DataError, match="is empty"):
        schema().read_text(path)


def test_header_without_rows_is_refused(tmp_path):
    with pytest.raises(DataError, match="no data rows"):
        schema().read_text(raw_csv(tmp_path))


def test_missing_file_is_named(tmp_path):
    with pytest.raises(DataError, match=r"absent\.csv not found"):
        schema().read_text(tmp_path / "absent.csv")


def test_unknown_column_type_names_the_key():
    with pytest.raises(ConfigError, match=r"data\.columns\.weight\.type: .*'number'"):
        data_config("weight", {"weight": {"source": "W", "type": "number"}})


def test_unknown_column_option_names_the_key():
    with pytest.raises(ConfigError, match=r"data\.columns\.weight\.minimum: Extra inputs"):
        data_config("weight", {"weight": {"type": "float", "minimum": 0}})


def test_target_must_be_a_declared_column():
    with pytest.raises(ConfigError, match=r"target 'price' is not one of data\.columns"):
        data_config(target="price")


def test_source_defaults_to_the_clean_name():
    assert data_config("w", {"w": {"type": "float"}}).columns["w"].source == "w"


def test_long_failure_lists_are_shortened(tmp_path):
    rows = [f"A,bad{i},3,2020-01-02," for i in range(8)]
    with pytest.raises(DataError, match="and 3 more"):
        run_clean(raw_csv(tmp_path, *rows))


def test_clean_output_is_a_plain_frame_ready_for_parquet(tmp_path):
    frame, _ = run_clean(raw_csv(tmp_path, "A,1.5,3,2020-01-02,"))
    target = tmp_path / "clean.parquet"
    frame.to_parquet(target, index=False)
    pd.testing.assert_frame_equal(pd.read_parquet(target), frame, check_dtype=False)


def test_a_row_with_extra_fields_is_refused_with_its_line(tmp_path):
    path = raw_csv(tmp_path, "A,1.5,3,2020-01-02,ok", "A,1.5,3,2020-01-02,ok,surplus")
    with pytest.raises(DataError, match=r"line 3: 6 fields where the header has 5"):
        run_clean(path)


def test_a_repeated_header_is_refused_not_renamed(tmp_path):
    header = "Kind,Weight (kg),Count,Seen,Count"
    path = write_csv(tmp_path / "raw.csv", f"{header}\nA,1,2,2020-01-02,3\n")
    with pytest.raises(DataError, match="'Count' more than once"):
        run_clean(path)


def test_a_file_with_another_separator_gets_a_hint_and_reads_with_that_delimiter(tmp_path):
    path = write_csv(tmp_path / "raw.csv", "Kind;Weight (kg);Count;Seen\nA;1;2;2020-01-02\n")
    with pytest.raises(DataError, match=r"set data\.delimiter: ';' in conf/data/"):
        run_clean(path)
    frame, _ = run_clean(path, delimiter=";")
    assert frame["weight"].tolist() == [1.0]


def test_a_file_that_is_not_utf8_is_a_clean_error(tmp_path):
    path = tmp_path / "raw.csv"
    text = "Kind,Weight (kg),Count,Seen\nA,1,2,2020-01-02\nB,1,2,caf\xe9\n"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(DataError, match=r"line 3: byte b'\\xe9' is not valid utf-8\. Set data\."):
        run_clean(path)
    with pytest.raises(DataError, match="'caf\u00e9' \\(line 3\\)"):  # read, then refused as a date
        run_clean(path, encoding="latin-1")


def test_a_bad_row_that_is_not_utf8_either_names_its_line_without_a_traceback(tmp_path, capfd):
    path = tmp_path / "raw.csv"
    path.write_bytes(b"Kind,Weight (kg),Count,Seen\nA,1,2,2020-01-02\nB,1,2,2020-01-02,x\xe9\n")
    with pytest.raises(DataError, match="line 3: byte"):
        run_clean(path)
    assert "Traceback" not in capfd.readouterr().err


def test_an_unknown_encoding_or_a_long_delimiter_names_the_key():
    with pytest.raises(ConfigError, match=r"data\.encoding: .*unknown encoding 'klingon'"):
        data_config(encoding="klingon")
    with pytest.raises(ConfigError, match=r"data\.delimiter: String should have at most 1"):
        data_config(delimiter=";;")
    with pytest.raises(ConfigError, match=r"data\.decimal: Input should be '\.' or ','"):
        data_config(decimal="·")
    with pytest.raises(ConfigError, match=r"data: decimal and delimiter are both ','"):
        data_config(decimal=",")


def test_numbers_with_a_decimal_comma_read_typed_or_as_text_alike(tmp_path):
    """A European export: ";" between fields, "1,5" for one and a half; the typed read
    (pyarrow's own decimal mark) and the text read give the same rows, and a number
    written with a point is refused there, as written."""
    rows = ["A;1,5;3;2020-01-02;", "B; 2,5;4,0;2020-01-03;", "B;NA;.;2020-01-03;"]
    path = write_csv(tmp_path / "raw.csv", "\n".join(["Kind;Weight (kg);Count;Seen;Notes", *rows]))
    data = data_config(target="weight", delimiter=";", decimal=",")
    typed = RawSchema.of(data).read(path)
    assert typed["Weight (kg)"].tolist()[:2] == [1.5, 2.5] and typed["Count"].iat[1] == 4
    as_text = run_clean(path, target="weight", delimiter=";", decimal=",")
    pd.testing.assert_frame_equal(
        clean_parsed(typed, data)[0], as_text[0], check_dtype=False, check_categorical=False
    )
    write_csv(path, "\n".join(["Kind;Weight (kg);Count;Seen;Notes", *rows, "A;1.5;3;;"]))
    with pytest.raises(DataError, match=r"'Weight \(kg\)' fails not float: '1\.5' \(line 5\)"):
        RawSchema.of(data).read(path)


def test_only_declared_columns_are_read(tmp_path):
    path = raw_csv(tmp_path, "A,1.5,3,2020-01-02,free text")
    raw = schema(columns={name: COLUMNS[name] for name in ("kind", "count")}).read_text(path)
    assert list(raw.columns) == ["Kind", "Count"]
    assert raw["Count"].tolist() == ["3"]  # text, as written, until clean parses it


@pytest.mark.parametrize(
    ("rows", "converts"),
    [
        (["A,1.5,3,2020-01-02,", "B, 2.5,4,2020-01-03,"], True),  # " 2.5", padded
        (["A,1.5,3,2020-01-02,", "B,2.5,4.0,2020-01-03,"], True),  # "4.0" for an int
        (["A,1.5,3,2020-01-02,", "A,1.5,3,2020-01-02,", "B,NA,.,2020-01-03,"], True),
    ],
    ids=["padded number", "integral float", "duplicates and markers"],
)
def test_the_typed_read_parses_as_the_text_read_does(tmp_path, rows, converts):
    path = raw_csv(tmp_path, *rows)
    data = data_config(target="weight")
    try:
        RawSchema.of(data).read_text(path, typed=True)
    except Unconvertible:
        assert not converts
    else:
        assert converts
    typed = clean_parsed(RawSchema.of(data).read(path), data)
    as_text = run_clean(path, target="weight")
    assert typed[1] == as_text[1]
    pd.testing.assert_frame_equal(typed[0], as_text[0], check_dtype=False, check_categorical=False)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("A,heavy,3,2020-01-02,", "'Weight (kg)' fails not float: 'heavy' (line 3)"),
        ("A,-1,3,2020-01-02,", "fails greater_than_or_equal_to(0.0): '-1' (line 3)"),
        ("A,1e400,3,2020-01-02,", "fails not float: '1e400' (line 3)"),
        ("A,1.5,3.5,2020-01-02,", "'Count' fails not int: '3.5' (line 3)"),
        ("C,1.5,3,2020-01-02,", "'Kind' fails isin(['A', 'B']): 'C' (line 3)"),
    ],
)
def test_the_typed_read_reports_failures_as_written(tmp_path, row, message):
    path = raw_csv(tmp_path, "A,1.5,3,2020-01-02,", row)
    with pytest.raises(DataError) as error:
        schema().read(path)
    assert message in str(error.value)


def test_a_column_with_no_value_at_all_is_recoded_to_missing():
    values = pd.Series([None, None], dtype=object).astype("category")
    assert recoded(values, {"A": "alpha"}).isna().all()


def numbered_rows(count: int) -> list[str]:
    return [f"{'AB'[i % 2]},{i / 10},{i},2020-01-02,note {i}" for i in range(count)]


def file_blocks(path: Path, size: int = 1_000):
    blocks = csv_blocks(path, size)
    return numbered(blocks, [count_lines(block) for block in blocks])


def test_blocks_cover_the_rows_and_end_at_line_ends(tmp_path):
    path = raw_csv(tmp_path, *numbered_rows(500))
    content, blocks = path.read_bytes(), file_blocks(path)
    assert len(blocks) > 10
    assert blocks[0].start == content.index(b"\n") + 1
    assert blocks[-1].end == len(content)
    assert all(before.end == after.start for before, after in itertools.pairwise(blocks))
    assert all(content[block.end - 1 : block.end] == b"\n" for block in blocks)
    assert sum(map(count_lines, blocks)) == 500
    assert [b.first_row for b in blocks[1:]] == list(np.cumsum(list(map(count_lines, blocks)))[:-1])


def test_a_last_line_without_a_line_end_is_counted(tmp_path):
    path = write_csv(tmp_path / "raw.csv", "\n".join(["Kind", *numbered_rows(300)]))
    assert sum(map(count_lines, file_blocks(path))) == 300


def test_blocks_read_the_rows_of_the_whole_file_with_its_index(tmp_path):
    path, reader = raw_csv(tmp_path, *numbered_rows(500)), schema()
    whole = reader.read(path)
    pieces = [reader.read(path, block) for block in file_blocks(path)]
    pd.testing.assert_frame_equal(pd.concat(pieces).astype(str), whole.astype(str))


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("A,heavy,3,2020-01-02,x", r"'Weight \(kg\)' fails not float: 'heavy' \(line 402\)"),
        ("A,1.5,3,2020-01-02,x,extra", r"raw\.csv, line 402: 6 fields where the header has 5"),
    ],
)
def test_a_bad_row_in_a_later_block_is_named_by_its_line_in_the_file(tmp_path, row, expected):
    rows = numbered_rows(500)
    rows[400] = row
    path, reader = raw_csv(tmp_path, *rows), schema()
    blocks = file_blocks(path)
    for block in blocks[:-1]:
        if block.first_row + count_lines(block) <= 400:
            reader.read(path, block)  # the blocks before are fine
    (holding,) = [b for b in blocks if b.first_row <= 400 < b.first_row + count_lines(b)]
    with pytest.raises(DataError, match=expected):
        reader.read(path, holding)


def as_parquet(csv_path: Path, target: Path, rows_per_group: int = 10_000) -> Path:
    """The CSV's cells as Parquet text columns, as an export from a database might be."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), target, rows_per_group)
    return target


def test_parquet_raw_data_reads_as_the_same_csv_does(tmp_path):
    path, reader = raw_csv(tmp_path, *numbered_rows(300)), schema()
    parquet = as_parquet(path, tmp_path / "raw.parquet", rows_per_group=70)
    whole = reader.read(parquet)
    expected = reader.read(path)
    pd.testing.assert_frame_equal(whole.astype(str), expected.astype(str))
    groups = row_groups(parquet)
    assert [group.first_row for group in groups] == [0, 70, 140, 210, 280]
    pieces = [reader.read(parquet, group) for group in groups]
    pd.testing.assert_frame_equal(pd.concat(pieces).astype(str), expected.astype(str))


def test_a_bad_value_in_parquet_is_named_by_its_row(tmp_path):
    rows = numbered_rows(300)
    rows[200] = "A,heavy,3,2020-01-02,x"
    parquet = as_parquet(raw_csv(tmp_path, *rows), tmp_path / "raw.parquet", rows_per_group=70)
    expected = r"'Weight \(kg\)' fails not float: 'heavy' \(row 201\)"
    with pytest.raises(DataError, match=expected):
        schema().read(parquet)
    (holding,) = [group for group in row_groups(parquet) if group.first_row == 140]
    with pytest.raises(DataError, match=expected):
        schema().read(parquet, holding)


def test_parquet_without_a_declared_column_or_not_parquet_at_all_is_named(tmp_path):
    parquet = as_parquet(raw_csv(tmp_path, *numbered_rows(5)), tmp_path / "raw.parquet")
    columns = {**COLUMNS, "size": {"source": "Size", "type": "float"}}
    with pytest.raises(DataError, match=r"raw\.parquet: missing column\(s\) 'Size'"):
        schema(columns=columns).read(parquet)
    broken = write_csv(tmp_path / "broken.parquet", "Kind\nA\n")
    with pytest.raises(DataError, match=r"broken\.parquet cannot be read as Parquet"):
        schema().read(broken)


def test_timestamps_with_offsets_are_read_as_utc_and_split(tmp_path, params_with):
    """Exports write `Z` (JSON, R) or `+01:00` (pandas with a timezone); one column may mix
    them. They become plain UTC times, so split and the features see one kind of date."""
    path = raw_csv(
        tmp_path,
        "A,1.5,3,2013-01-01T05:00:00Z,",
        "B,2.5,4,2013-01-01T06:00:00+01:00,",
        "A,3.5,5,2013-01-01T00:00:00-05:00,",
        "B,4.5,6,NA,",
    )
    clean, _ = run_clean(path)
    assert clean["seen"].tolist()[:3] == [pd.Timestamp("2013-01-01 05:00")] * 3
    assert clean["seen"].dt.tz is None and clean["seen"].isna().tolist()[-1]
    many = pd.concat([clean] * 30, ignore_index=True).assign(weight=np.arange(120.0))
    params = params_with(split={"test_size": 0.25, "validation_size": 0.25, "key": None})
    key = [column for column in many.columns if column != "kind"]
    parts = assign_splits(many, key, params.split, params.seed)
    assert set(parts) == {0, 1, 2}
