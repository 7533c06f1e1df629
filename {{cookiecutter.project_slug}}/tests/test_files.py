"""Atomic outputs: a stage's file or directory of parts appears whole or not at all."""

from __future__ import annotations

import pytest

from {{ cookiecutter.package_name }}.core.commands import git
from {{ cookiecutter.package_name }}.core.errors import (
    DataError,
    PipelineError,
    run_main,
)
from {{ cookiecutter.package_name }}.core.files import (
    atomic_path,
    parquet_rows,
    read_json,
    write_parquet,
)


def test_a_directory_of_parts_replaces_a_file_and_a_file_replaces_it(tmp_path):
    import pandas as pd

    target = tmp_path / "clean.parquet"
    write_parquet(pd.DataFrame({"x": [1, 2]}), target)  # the pandas engine's file
    with atomic_path(target, directory=True) as folder:  # the dask engine's parts
        for number in range(3):
            pd.DataFrame({"x": [number]}).to_parquet(folder / f"part-{number}.parquet")
    assert target.is_dir() and parquet_rows(target) == 3
    assert oct(target.stat().st_mode & 0o777) == oct(0o755)
    write_parquet(pd.DataFrame({"x": [7]}), target)  # and back to pandas
    assert target.is_file() and pd.read_parquet(target)["x"].tolist() == [7]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["clean.parquet"]


def test_a_failed_directory_write_leaves_the_old_output_and_no_temporary(tmp_path):
    target = tmp_path / "features.parquet"
    target.mkdir()
    (target / "part-00000.parquet").write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_path(target, directory=True) as folder:
        (folder / "part-00000.parquet").write_bytes(b"new, half")
        raise RuntimeError("a task failed")
    assert (target / "part-00000.parquet").read_bytes() == b"old"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["features.parquet"]


def test_a_killed_write_s_temporary_directory_is_removed_by_the_next(tmp_path):
    target = tmp_path / "train.parquet"
    stale = tmp_path / ".train.parquet.killed.tmp"
    stale.mkdir()
    (stale / "part-00000.parquet").write_bytes(b"half")
    with atomic_path(target, directory=True):
        pass
    assert not stale.exists() and target.is_dir()


def test_a_damaged_json_input_is_named_with_where_it_breaks(tmp_path):
    damaged = tmp_path / "metrics.json"
    damaged.write_text('{"accuracy": 0.9,\n "f1')
    with pytest.raises(DataError, match=r"metrics.json: not valid JSON \(.*line 2 column 2\)"):
        read_json(damaged)


def test_ctrl_c_and_sigterm_end_in_one_line(capsys):
    def interrupted() -> None:
        raise KeyboardInterrupt

    with pytest.raises(SystemExit) as stopped:
        run_main(interrupted)
    assert stopped.value.code == 130
    assert capsys.readouterr().err == "stopped by Ctrl-C\n"


def test_a_program_that_is_not_installed_is_named_with_how_to_get_it(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no git on it
    with pytest.raises(PipelineError, match=r"git is not installed here .*install git"):
        git("status")
