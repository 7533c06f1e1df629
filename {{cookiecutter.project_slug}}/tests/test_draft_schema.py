"""draft-schema: a new raw CSV to conf/data/ and conf/features/ that clean accepts as is."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest
import yaml

from {{ cookiecutter.package_name }}.core.config import load_params
from {{ cookiecutter.package_name }}.core.errors import ConfigError, DataError
from {{ cookiecutter.package_name }}.data.cleaning import clean_parsed
from {{ cookiecutter.package_name }}.data.draft import infer_column
from {{ cookiecutter.package_name }}.data.draft import main as draft_schema
from {{ cookiecutter.package_name }}.data.schema import RawSchema
from {{ cookiecutter.package_name }}.data.splitting import assign_splits, key_columns
from {{ cookiecutter.package_name }}.features import derive_features

LABELS = {{ '["yes", "no"]' if cookiecutter.task == 'classification' else '["1.5", "2.5"]' }}  # the target's values
ROWS = [
    # Row ID, Height (cm), Visits, Region, Joined, Note, Outcome
    f"{i},{150 + i % 40}.5,{i % 7},{region},2021-03-{1 + i % 28:02d},note {i},{LABELS[i % 2]}"
    for i, region in zip(range(60), ["North", "north ", " East", "east", "SOUTH"] * 12, strict=True)
]
MESSY = ["100,?,3,North,2021-01-01,x,", "101,-,4.0,east,2021-01-02,y,"]
PACKAGE = "{{ cookiecutter.package_name }}"
FORCE = "--force"  # conf/features/default.yaml may already list the demo's inputs


@pytest.fixture
def messy_csv(project_copy):
    path = project_copy / "data/raw/my table.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    header = "Row ID,Height (cm),Visits,Region,Joined,Note,Outcome"
    path.write_text("\n".join([header, *ROWS, *MESSY]) + "\n", encoding="utf-8")
    return path.relative_to(project_copy)


def test_draft_describes_the_file_and_clean_accepts_it_unedited(messy_csv, project_copy):
    draft_schema([str(messy_csv), "--target", "Outcome", FORCE])
    data = yaml.safe_load((project_copy / "conf/data/my_table.yaml").read_text())
    columns = data["columns"]
    assert data["target"] == "outcome" and data["raw_path"] == str(messy_csv)
    assert {"?", "-"} <= set(data["na_values"])
    assert columns["height_cm"] == {"source": "Height (cm)", "type": "float"}
    assert columns["visits"]["type"] == "int"  # "4.0" is an integral number
    assert columns["joined"]["type"] == "date" and columns["note"]["type"] == "text"
    assert columns["region"]["normalize"] == "both"
    assert columns["region"]["allowed"] == ["east", "north", "south"]
    features_text = (project_copy / "conf/features/default.yaml").read_text()
    features = yaml.safe_load(features_text)
    assert features["numeric"] == ["height_cm", "visits"]
    assert features["categorical"] == ["region"]
    for reason in ("row_id: unique per row", "joined: a date", "note: free text", "the target"):
        assert reason in features_text
    params = load_params()  # params.yaml was recomposed with the new file selected
    assert params.data.raw_path == messy_csv
    frame, report = clean_parsed(RawSchema.of(params.data).read(messy_csv), params.data)
    assert report["rows_dropped"]["missing_target"] == 2
    assert sorted(frame["region"].unique()) == ["east", "north", "south"]


def export_rows() -> list[list[str]]:
    """40 rows, then 5 of them again: repeats that differ only in an exported row number."""
    regions = ["North", "East"]
    rows = [[f"{150 + i % 40}.5", str(i % 7), regions[i % 2], LABELS[i % 2]] for i in range(40)]
    return rows + rows[:5]


@pytest.mark.parametrize("export", ["pandas to_csv", "R write.csv"])
def test_an_exported_row_index_is_not_declared_and_repeats_are_still_found(export, project_copy):
    header = ["Height (cm)", "Visits", "Region", "Outcome"]
    if export == "pandas to_csv":  # an empty header; rows counted from 0
        lines = [",".join(["", *header])]
        lines += [",".join([str(i), *row]) for i, row in enumerate(export_rows())]
    else:  # every header and text quoted, the row names too; rows counted from 1
        lines = [",".join(f'"{name}"' for name in ["", *header])]
        lines += [
            ",".join([f'"{i}"', height, visits, f'"{region}"', f'"{label}"'])
            for i, (height, visits, region, label) in enumerate(export_rows(), start=1)
        ]
    path = project_copy / "data/raw/export.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    draft_schema([str(path.relative_to(project_copy)), "--target", "Outcome", FORCE])
    drafted = (project_copy / "conf/data/export.yaml").read_text()
    assert "numbers the rows" in drafted
    assert set(yaml.safe_load(drafted)["columns"]) == {"height_cm", "visits", "region", "outcome"}
    assert yaml.safe_load(drafted)["columns"]["visits"]["required"] is True  # no gaps
    params = load_params()
    frame, report = clean_parsed(RawSchema.of(params.data).read(params.data.raw_path), params.data)
    assert report["rows_dropped"]["duplicate"] == 5 and len(frame) == 40


def test_an_empty_header_that_is_no_row_number_is_read_by_its_empty_name(project_copy):
    rows = [f"{['a', 'b', 'c'][i % 3]},{i % 5},{LABELS[i % 2]}" for i in range(30)]
    path = project_copy / "data/raw/blank.csv"
    path.write_text("\n".join([",Visits,Outcome", *rows]) + "\n", encoding="utf-8")
    draft_schema([str(path.relative_to(project_copy)), "--target", "Outcome", FORCE])
    columns = yaml.safe_load((project_copy / "conf/data/blank.yaml").read_text())["columns"]
    assert columns["column"]["source"] == ""
    params = load_params()
    parsed = RawSchema.of(params.data).read(params.data.raw_path)
    assert sorted(parsed[""].unique()) == ["a", "b", "c"]


def test_many_levels_make_an_open_category_and_unique_text_is_left_out(project_copy):
    rows = [
        f"country {i % 98},state {i % 50},comment number {i},{LABELS[i % 2]}" for i in range(2000)
    ]
    path = project_copy / "data/raw/levels.csv"
    path.write_text("\n".join(["Country,State,Comment,Outcome", *rows]) + "\n", encoding="utf-8")
    draft_schema([str(path.relative_to(project_copy)), "--target", "Outcome", FORCE])
    columns = yaml.safe_load((project_copy / "conf/data/levels.yaml").read_text())["columns"]
    for name in ("country", "state"):  # a category, open to levels the file lacks
        assert columns[name]["type"] == "category" and "allowed" not in columns[name]
    assert columns["comment"]["type"] == "text"
    features = (project_copy / "conf/features/default.yaml").read_text()
    assert yaml.safe_load(features)["categorical"] == ["country", "state"]
    assert "comment: free text (2000 distinct values)" in features


def test_a_target_that_looks_like_the_other_tasks_is_named(project_copy, capsys):
{%- if cookiecutter.task == 'classification' %}
    targets = [f"{1000 + 7 * i}" for i in range(300)]  # a price: 300 distinct numbers
{%- else %}
    targets = [["1", "2", "3"][i % 3] for i in range(300)]  # three codes
{%- endif %}
    rows = [f"{i % 17},{['a', 'b'][i % 2]},{target}" for i, target in enumerate(targets)]
    path = project_copy / "data/raw/odd.csv"
    path.write_text("\n".join(["Visits,Kind,Outcome", *rows]) + "\n", encoding="utf-8")
    draft_schema([str(path.relative_to(project_copy)), "--target", "Outcome", FORCE])
    assert "warning: target 'Outcome' holds" in capsys.readouterr().out


def test_draft_refuses_to_overwrite_without_force(messy_csv, project_copy):
    draft_schema([str(messy_csv), "--target", "Outcome", FORCE])
    drafted = project_copy / "conf/data/my_table.yaml"
    drafted.write_text(drafted.read_text() + "# my edit\n")
    with pytest.raises(ConfigError, match=r"my_table\.yaml exists: pass --force"):
        draft_schema([str(messy_csv), "--target", "Outcome"])
    assert drafted.read_text().endswith("# my edit\n")
    draft_schema([str(messy_csv), "--target", "Outcome", "--force"])
    assert not drafted.read_text().endswith("# my edit\n")


def test_draft_names_an_unknown_target_and_writes_nothing(messy_csv, project_copy):
    params_before = (project_copy / "params.yaml").read_text()
    with pytest.raises(DataError, match=r"no column 'Outcom'\. Found: 'Row ID'"):
        draft_schema([str(messy_csv), "--target", "Outcom", FORCE])
    assert not (project_copy / "conf/data/my_table.yaml").exists()
    assert (project_copy / "params.yaml").read_text() == params_before


def test_a_decimal_comma_export_drafts_the_same_schema_and_cleans_to_the_same_rows(
    messy_csv, project_copy
):
    """The same table as a spreadsheet in much of Europe exports it: ";" between fields
    and "150,5". The draft finds the decimal comma itself."""
    draft_schema([str(messy_csv), "--target", "Outcome", FORCE])
    columns = yaml.safe_load((project_copy / "conf/data/my_table.yaml").read_text())["columns"]
    expected = RawSchema.of(load_params().data).read(messy_csv)
    lines = (project_copy / messy_csv).read_text().splitlines()
    european = messy_csv.with_name("european.csv")
    (project_copy / european).write_text(
        "\n".join(";".join(field.replace(".", ",") for field in line.split(",")) for line in lines)
    )
    draft_schema([str(european), "--target", "Outcome", "--delimiter", ";", FORCE])
    drafted = project_copy / "conf/data/european.yaml"
    data = yaml.safe_load(drafted.read_text())
    assert (data["delimiter"], data["decimal"]) == (";", ",")
    assert data["columns"] == columns
    found = drafted.read_text()
    dialect = ["--delimiter", ";", "--decimal", ","]
    draft_schema([str(european), "--target", "Outcome", *dialect, FORCE])
    assert drafted.read_text() == found  # saying it gives what finding it gave
    pd.testing.assert_frame_equal(RawSchema.of(load_params().data).read(european), expected)


def test_numbers_with_a_decimal_comma_are_not_taken_for_dates():
    """pandas, finding no date format in "39,1", would guess each value alone: the year 2039."""
    assert infer_column(pd.Series(["39,1", "40,2"] * 5))["type"] == "category"
    comma = RawSchema({}, decimal=",")
    assert infer_column(pd.Series(["39,1", "40,2"]), reader=comma)["type"] == "float"
    assert infer_column(pd.Series(["2021-03-01", "2021-03-02"]))["type"] == "date"


def test_a_repeated_id_is_the_split_key_and_dates_draft_their_parts(project_copy):
    months = ["Jan-2018", "Feb-2018", "Mar-2018"]
    rows = [
        f"P{i // 3:03d},{months[i % 3]},2021-03-{1 + i % 28:02d},{i % 11}.5,{LABELS[i // 3 % 2]}"
        for i in range(300)  # 100 patients, each tested in three months
    ]
    path = project_copy / "data/raw/tests.csv"
    header = "PatientID,Test Month,Tested On,Level,Outcome"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    draft_schema([str(path.relative_to(project_copy)), "--target", "Outcome", FORCE])
    columns = yaml.safe_load((project_copy / "conf/data/tests.yaml").read_text())["columns"]
    assert columns["test_month"]["type"] == "date"  # a month-year, not a closed category
    assert "allowed" not in columns["test_month"]
    features_file = project_copy / "conf/features/default.yaml"
    features = features_file.read_text()
    assert "patientid: an identifier that repeats (100 values over 300 rows)" in features
    params = load_params()
    assert params.split.key == "patientid" and params.features.inputs == ["level"]
    assert "# tested_on_year: tested_on.dt.year" in features
    # The commented examples work as they are once uncommented.
    features_file.write_text(features.replace("  # ", "  "), encoding="utf-8")
    subprocess.run([sys.executable, "-m", PACKAGE, "compose"], check=True, cwd=project_copy)
    params = load_params()
    assert "test_month_month" in params.features.numeric
    frame, _ = clean_parsed(RawSchema.of(params.data).read(path), params.data)
    derived = derive_features(frame, params.features.derived)
    assert derived["test_month_month"].tolist()[:3] == [1, 2, 3]
    assert derived["tested_on_weekday"].iat[0] == pd.Timestamp("2021-03-01").day_of_week
    codes = assign_splits(frame, key_columns(params), params.split, params.seed)
    parts = frame.assign(part=codes).groupby("patientid", observed=True)["part"].nunique()
    assert (parts == 1).all() and len(set(codes)) == 3  # no patient spans two splits
