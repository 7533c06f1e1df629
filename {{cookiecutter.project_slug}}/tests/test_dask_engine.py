"""The dask engine on real Dask clusters: the same rows, split and metrics as pandas.

Each test runs the real stage commands on a copy of the reproduced project with
``compute.engine: dask`` and partitions small enough that the demo's raw CSV becomes
several of them, against a two-worker cluster on 127.0.0.1 that this module starts
itself, or against the local cluster a stage starts when no scheduler is given.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import yaml
from helpers import command, free_port

from {{ cookiecutter.package_name }}.core import paths
from {{ cookiecutter.package_name }}.core.config import load_params

pytestmark = pytest.mark.slow

PACKAGE = "{{ cookiecutter.package_name }}"
PARTITION_MB = 0.01  # about 10 kB of CSV per partition
TABLES = (paths.CLEAN, paths.FEATURES, paths.TRAIN, paths.VALIDATION, paths.TEST)
REPORTS = (paths.DATA_QUALITY, paths.MISSING_VALUES, paths.VALIDATION_METRICS, paths.METRICS)


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """The address of a two-worker cluster on 127.0.0.1, stopped after the module."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=logging.ERROR,
    ) as cluster:
        yield cluster.scheduler_address


def copy_of(project: Path, folder: Path) -> Path:
    copy = folder / project.name
    shutil.copytree(project, copy, symlinks=True)
    return copy


def use_dask(project: Path, **compute: object) -> None:
    """Switch the copy's params.yaml to the dask engine, with ``compute`` overrides."""
    path = project / "params.yaml"
    params = yaml.safe_load(path.read_text(encoding="utf-8"))
    params["compute"] |= {"engine": "dask", "partition_mb": PARTITION_MB, **compute}
    path.write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")


def table(path: Path) -> pd.DataFrame:
    """A file or a directory of parts; categories as values, since each part orders its own."""
    frame = pd.read_parquet(path)
    return frame.astype({column: object for column in frame.select_dtypes("category")})


def report(path: Path) -> object:
    return json.loads(path.read_text(encoding="utf-8"))


def raw_lines(project: Path) -> list[bytes]:
    raw = load_params(project / "params.yaml").data.raw_path
    return (project / raw).read_bytes().splitlines(keepends=True)


def write_raw(project: Path, lines: list[bytes]) -> None:
    raw = load_params(project / "params.yaml").data.raw_path
    (project / raw).write_bytes(b"".join(lines))


def with_value(lines: list[bytes], number: int, column: str, value: str) -> None:
    """Set one field of line ``number`` (0 is the header) to ``value``."""
    header = next(csv.reader([lines[0].decode()]))
    row = next(csv.reader([lines[number].decode()]))
    row[header.index(column)] = value
    written = io.StringIO()
    csv.writer(written, lineterminator="\n").writerow(row)
    lines[number] = written.getvalue().encode()


def stage(project: Path, name: str):
    return command(project, "-m", f"{PACKAGE}.stages.{name}")


@pytest.fixture(scope="module")
def on_dask(reproduced: Path, scheduler: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the reproduced project, reproduced again on the dask engine up to evaluate.

    Shared by the tests below: each puts back what it changes.
    """
    project = copy_of(reproduced, tmp_path_factory.mktemp("on_dask"))
    use_dask(project, scheduler=scheduler)
    repro = command(project, "-m", "dvc", "repro", "evaluate")
    assert repro.returncode == 0, repro.stdout + repro.stderr
    return project


def test_the_pipeline_on_dask_matches_pandas(reproduced, on_dask):
    assert len(list((on_dask / paths.CLEAN).glob("*.parquet"))) > 3  # really partitioned
    for output in TABLES:
        pd.testing.assert_frame_equal(table(on_dask / output), table(reproduced / output))
    for output in REPORTS:
        assert report(on_dask / output) == report(reproduced / output), output


def test_tuning_on_dask_sends_its_fits_to_the_cluster(on_dask, scheduler, tmp_path):
    from distributed import Client, get_task_stream

    project = copy_of(on_dask, tmp_path)
    params_file = project / "params.yaml"
    params = yaml.safe_load(params_file.read_text(encoding="utf-8"))
    params["tuning"] |= {"enabled": True, "candidates": 3}
    params_file.write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    with Client(scheduler) as client, get_task_stream(client) as stream:
        run = stage(project, "train")
    assert run.returncode == 0, run.stderr
    tuning = report(project / paths.TUNING)
    assert tuning["enabled"] is True and tuning["candidates"] == 3
    ran = [str(task["key"]) for task in stream.data]
    assert sum("fit_and_score" in key for key in ran) >= 3, ran  # folds x candidates


def test_duplicates_and_unlabelled_rows_are_dropped_across_partitions(reproduced, tmp_path):
    project = copy_of(reproduced, tmp_path)
    lines = raw_lines(project)
    data = load_params(project / "params.yaml").data
    with_value(lines, 5, data.columns[data.target].source, "")
    write_raw(project, [*lines, lines[1], lines[2]])  # two rows again, in the last partition
    assert stage(project, "clean").returncode == 0
    expected = {output: report(project / output) for output in REPORTS[:2]}
    rows = table(project / paths.CLEAN)
    unlabelled_before = report(reproduced / paths.DATA_QUALITY)["rows_dropped"]["missing_target"]
    dropped = expected[paths.DATA_QUALITY]["rows_dropped"]
    assert dropped == {"duplicate": 2, "missing_target": unlabelled_before + 1}

    use_dask(project)  # no scheduler: the stage starts a local cluster sized to the machine
    run = stage(project, "clean")
    assert run.returncode == 0, run.stderr
    assert (project / paths.CLEAN).is_dir()  # the pandas engine's file was replaced
    pd.testing.assert_frame_equal(table(project / paths.CLEAN), rows)
    assert {output: report(project / output) for output in REPORTS[:2]} == expected


def test_parquet_raw_data_on_dask_matches_the_csv_on_pandas(reproduced, scheduler, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    project = copy_of(reproduced, tmp_path)
    params = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
    raw = pd.read_csv(project / params["data"]["raw_path"], dtype=str, keep_default_na=False)
    export = project / "data/raw/export.parquet"  # a directory of files, as a database writes
    export.mkdir()
    for number, start in enumerate(range(0, len(raw), 120)):
        rows = pa.Table.from_pandas(raw.iloc[start : start + 120], preserve_index=False)
        pq.write_table(rows, export / f"part-{number}.parquet", row_group_size=50)
    params["data"]["raw_path"] = str(export.relative_to(project))
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    use_dask(project, scheduler=scheduler)
    run = stage(project, "clean")
    assert run.returncode == 0, run.stderr
    assert len(list((project / paths.CLEAN).glob("*.parquet"))) == 9  # one per row group
    pd.testing.assert_frame_equal(table(project / paths.CLEAN), table(reproduced / paths.CLEAN))
    for output in REPORTS[:2]:
        assert report(project / output) == report(reproduced / output), output


def digests(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.md5(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_a_bad_value_in_a_later_partition_is_named_by_its_csv_line(on_dask):
    lines = raw_lines(on_dask)
    broken = list(lines)
    with_value(broken, 300, "Clutch Completion", "Perhaps")
    before = digests(on_dask / "data") | digests(on_dask / "reports")
    write_raw(on_dask, broken)
    try:
        run = stage(on_dask, "clean")
    finally:
        write_raw(on_dask, lines)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert "column 'Clutch Completion' fails isin" in run.stderr
    assert "'Perhaps' (line 301)" in run.stderr
    assert digests(on_dask / "data") | digests(on_dask / "reports") == before
    assert not list((on_dask / paths.CLEAN.parent).glob(".*.tmp"))


@pytest.mark.parametrize("where", ["compute.scheduler", "DASK_SCHEDULER_ADDRESS"])
def test_an_unreachable_scheduler_is_named(reproduced, tmp_path, where):
    project = copy_of(reproduced, tmp_path)
    address = f"tcp://127.0.0.1:{free_port()}"
    if where == "compute.scheduler":
        use_dask(project, scheduler=address, connect_timeout_s=0.5)
        run = stage(project, "featurize")
    else:
        use_dask(project, connect_timeout_s=0.5)
        run = command(project, "-m", f"{PACKAGE}.stages.featurize", DASK_SCHEDULER_ADDRESS=address)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    waited = "within 0.5 s (compute.connect_timeout_s)"
    assert f"{where}: no Dask scheduler answers at {address} {waited}" in run.stderr


{%- if cookiecutter.operations == 'yes' %}


def test_batch_prediction_on_dask_matches_pandas(reproduced, on_dask, tmp_path):
    raw = load_params(reproduced / "params.yaml").data.raw_path
    arguments = ["-m", PACKAGE, "predict", "--input", str(raw), "--output"]
    pandas = command(reproduced, *arguments, str(tmp_path / "pandas.parquet"))
    assert pandas.returncode == 0, pandas.stderr
    dask = command(on_dask, *arguments, str(tmp_path / "dask.parquet"))
    assert dask.returncode == 0, dask.stderr
    assert len(list((tmp_path / "dask.parquet").glob("*.parquet"))) > 3
    expected = pd.read_parquet(tmp_path / "pandas.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "dask.parquet"), expected)
    assert expected["line"].tolist() == list(range(2, len(raw_lines(reproduced)) + 1))
{%- endif %}
