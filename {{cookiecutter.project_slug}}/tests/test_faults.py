"""Faults and hostile input, end to end on a reproduced copy of this project.

Each case breaks one thing a user or an attacker could break, runs the real command in
a subprocess, and expects one short message that names the file, line or key and the
fix: exit code 1, no traceback, and no result file changed. Then the case is undone.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import PROJECT_ROOT, command, git

from {{ cookiecutter.package_name }}.core.config import load_params
from {{ cookiecutter.package_name }}.core.errors import DEBUG_VARIABLE

pytestmark = pytest.mark.slow

PACKAGE = "{{ cookiecutter.package_name }}"
RAW = load_params(PROJECT_ROOT / "params.yaml").data.raw_path
MODEL = Path("models/model.skops")
RESULTS = ("data", "models", "reports")
MODEL_ARGUMENT = "{{ 'C' if cookiecutter.task == 'classification' else 'alpha' }}"
MARKERS = ", ".join(f"m{i}" for i in range(30_000))  # missing-value markers, 230 KB
MAX_MESSAGE = 3000  # characters: one paragraph, not an echo of the input


def results(project: Path) -> dict[str, str]:
    """MD5 of every file the pipeline writes."""
    return {
        str(path.relative_to(project)): hashlib.md5(path.read_bytes()).hexdigest()
        for folder in RESULTS
        for path in sorted((project / folder).rglob("*"))
        if path.is_file()
    }


# --- the ways to break things -------------------------------------------------------


def in_first_row(old: bytes, new: bytes) -> Callable[[bytes], bytes]:
    """Replace ``old`` on the first data row that holds it."""

    def change(content: bytes) -> bytes:
        at = content.index(old, content.index(b"\n"))
        return content[:at] + new + content[at + len(old) :]

    return change


def extra_column(name: bytes) -> Callable[[bytes], bytes]:
    def change(content: bytes) -> bytes:
        header, *rows = content.split(b"\n")
        return b"\n".join([header + b"," + name, *(row + b",x" for row in rows if row)]) + b"\n"

    return change


def replace_text(pattern: str, new: str) -> Callable[[bytes], bytes]:
    def change(content: bytes) -> bytes:
        text, count = re.subn(pattern, new, content.decode(), count=1, flags=re.MULTILINE)
        assert count == 1, f"{pattern!r} not found"
        return text.encode()

    return change


def alias_bomb(content: bytes) -> bytes:
    """A "billion laughs": nine lines whose aliases expand to 9**9 values."""
    lines, previous = [b"bomb:", b"  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"], b"a"
    for name in b"bcdefghi":
        alias = b"*" + previous
        lines.append(b"  %c: &%c [%s]" % (name, name, b", ".join([alias] * 9)))
        previous = bytes([name])
    return content + b"\n" + b"\n".join(lines) + b"\n"


def quoted_newlines_then_a_bad_value(content: bytes) -> bytes:
    """Row 2's last field becomes a quoted value over three lines; row 11 gets an unknown
    island, so it sits on line 14 of the file, not line 12."""
    lines = content.split(b"\n")
    lines[2] = lines[2].rsplit(b",", 1)[0] + b',"a note\nover\nthree lines"'
    lines[11] = lines[11].replace(b"Torgersen", b"Atlantis", 1)
    return b"\n".join(lines)


def untrusted_model(_: bytes) -> bytes:
    """A valid skops file holding a type skops itself trusts but the project does not list."""
    import skops.io as sio
    from sklearn.svm import SVC

    return sio.dumps(SVC().fit([[0.0], [1.0]], [0, 1]))


@dataclass(frozen=True)
class Case:
    name: str
    file: Path
    change: Callable[[bytes], bytes]
    run: tuple[str, ...]
    words: tuple[str, ...]  # the message must hold each


CASES = [
    Case("a latin-1 byte in the raw CSV", RAW, in_first_row(b"Dream", b"Dr\xe9am"),
         ("-m", f"{PACKAGE}.stages.clean"), ("is not valid utf-8", "data.encoding")),
    Case("a ;-separated raw CSV", RAW, lambda content: content.replace(b",", b";"),
         ("-m", f"{PACKAGE}.stages.clean"), ("set data.delimiter: ';'",)),
    Case("a duplicated raw header", RAW, extra_column(b"Island"),
         ("-m", f"{PACKAGE}.stages.clean"), ("'Island' more than once",)),
    Case("a 10 MB value in a category column", RAW, in_first_row(b"Dream", b"D" * 10_000_000),
         ("-m", f"{PACKAGE}.stages.clean"), ("'Island' fails isin", "characters)")),
    Case("an invalid estimator argument", Path("params.yaml"),
         replace_text(rf"^  {MODEL_ARGUMENT}: .*$", f"  {MODEL_ARGUMENT}: -1"),
         ("-m", f"{PACKAGE}.stages.train"), (f"params.yaml: model.{MODEL_ARGUMENT}",)),
    Case("a _target_ that is a function", Path("params.yaml"),
         replace_text(r"^  _target_: .*$", "  _target_: sklearn.utils.shuffle"),
         ("-m", f"{PACKAGE}.stages.train"), ("is not a scikit-learn estimator class",)),
    Case("a _target_ of a library the project does not allow", Path("params.yaml"),
         replace_text(r"^  _target_: .*$", "  _target_: tempfile.mkdtemp"),
         ("-m", f"{PACKAGE}.stages.train"), ("'tempfile.mkdtemp' is not from a library",)),
    Case("a YAML error in params.yaml, read by a stage", Path("params.yaml"),
         lambda content: content + b"data: [\n",
         ("-m", f"{PACKAGE}.stages.split"), ("params.yaml, line", "not valid YAML")),
    Case("a YAML error in params.yaml, checked by compose", Path("params.yaml"),
         lambda content: content + b"data: [\n",
         ("-m", PACKAGE, "compose", "--check"), ("params.yaml, line", "not valid YAML")),
    Case("a YAML alias bomb in params.yaml", Path("params.yaml"), alias_bomb,
         ("-m", f"{PACKAGE}.stages.split"), ("params.yaml: its aliases", "expand to over")),
    Case("a YAML alias bomb in conf/", Path("conf/config.yaml"), alias_bomb,
         ("-m", PACKAGE, "compose"), ("conf/config.yaml: its aliases", "expand to over")),
    Case("a 2 MB params.yaml", Path("params.yaml"), lambda content: content + b"#" * 2_000_000,
         ("-m", f"{PACKAGE}.stages.split"), ("params.yaml: 2", "bytes, over the")),
    Case("30,000 missing-value markers", Path("params.yaml"),
         replace_text(r"^  na_values:\n(?:  - .*\n)*", f"  na_values: [{MARKERS}]\n"),
         ("-m", f"{PACKAGE}.stages.clean"), ("data.na_values", "at most 1000")),
    Case("raw data outside the project, absolute", Path("params.yaml"),
         replace_text(r"^  raw_path: .*$", "  raw_path: /etc/passwd"),
         ("-m", f"{PACKAGE}.stages.clean"), ("data.raw_path", "inside the project")),
    Case("raw data outside the project, relative", Path("params.yaml"),
         replace_text(r"^  raw_path: .*$", "  raw_path: ../../../etc/passwd"),
         ("-m", f"{PACKAGE}.stages.clean"), ("data.raw_path", "inside the project")),
    Case("a 200 KB header name", RAW, lambda content: b"X" * 200_000 + b"," + content,
         ("-m", f"{PACKAGE}.stages.clean"), ("line 1 (the header)", "field larger")),
    Case("a 3 MB first line with no line end", RAW, lambda _: b"a," * 1_500_000,
         ("-m", f"{PACKAGE}.stages.clean"), ("line 1: over", "no line end")),
    Case("a bad value after a quoted value over three lines", RAW,
         quoted_newlines_then_a_bad_value,
         ("-m", f"{PACKAGE}.stages.clean"), ("'Atlantis' (line 14)",)),
    Case("an unknown top-level key in conf/", Path("conf/config.yaml"),
         replace_text(r"^task:", "tsk:"),
         ("-m", PACKAGE, "compose"), ("tsk: not a key the template knows",)),
    Case("a truncated model file", MODEL, lambda content: content[:1000],
         ("-m", f"{PACKAGE}.stages.evaluate"), ("not a readable skops", "dvc repro train")),
    Case("an empty model file", MODEL, lambda _: b"",
         ("-m", f"{PACKAGE}.stages.evaluate"), ("not a readable skops", "dvc pull")),
    Case("a pickle in place of the model", MODEL, lambda _: b"\x80\x04\x95\x05\x00N.",
         ("-m", f"{PACKAGE}.stages.evaluate"), ("not a readable skops",)),
    Case("a model file holding an unlisted type", MODEL, untrusted_model,
         ("-m", f"{PACKAGE}.stages.evaluate"), ("not trusted: sklearn.svm._classes.SVC",)),
{%- if cookiecutter.operations == 'yes' %}
    Case("a latin-1 byte in a batch to predict", RAW, in_first_row(b"Dream", b"Dr\xe9am"),
         ("-m", PACKAGE, "predict", "--input", str(RAW), "--output", "predictions.parquet"),
         ("is not valid utf-8", "data.encoding")),
    Case("a truncated model file, batch prediction", MODEL, lambda content: content[:1000],
         ("-m", PACKAGE, "predict", "--input", str(RAW), "--output", "predictions.parquet"),
         ("not a readable skops", "dvc repro train")),
    Case("a truncated model file, the API", MODEL, lambda content: content[:1000],
         ("-m", PACKAGE, "serve", "--port", "1"), ("not a readable skops",)),
{%- endif %}
]  # fmt: skip


def attempt(project: Path, case: Case, **env: str) -> subprocess.CompletedProcess:
    """Break ``case.file``, run the case's command, and put the file back."""
    target = project / case.file
    original = target.read_bytes()
    target.write_bytes(case.change(original))
    try:
        return command(project, *case.run, **env)
    finally:
        target.write_bytes(original)


def test_every_fault_ends_in_one_clear_message_and_changes_no_result(reproduced):
    project = reproduced
    before = results(project)
    problems = []
    for case in CASES:
        done = attempt(project, case)
        output = done.stdout + done.stderr
        missing = [word for word in case.words if word not in output]
        if done.returncode != 1 or "Traceback" in output or missing or len(output) > MAX_MESSAGE:
            shown = output[:800]
            problems.append(f"{case.name}: exit {done.returncode}, missing {missing}:\n{shown}")
        changed = [name for name, md5 in results(project).items() if before.get(name) != md5]
        if changed:
            problems.append(f"{case.name}: changed {changed}")
    assert problems == [], "\n\n".join(problems)
    status = command(project, "-m", "dvc", "status", "--json")
    assert json.loads(status.stdout) == {}, status.stdout  # DVC agrees: nothing half-written
    assert not (project / "predictions.parquet").exists()


def test_a_full_disk_names_the_file_and_keeps_the_old_one(reproduced):
    """A file size limit makes the kernel refuse the model's write (EFBIG), as a full
    disk (ENOSPC) or a read-only one (EROFS) would, which a test cannot arrange unprivileged."""
    import resource
    import signal

    def small_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # refuse the write, not kill
        resource.setrlimit(resource.RLIMIT_FSIZE, (2000, 2000))

    before = results(reproduced)
    done = subprocess.run(
        [sys.executable, "-m", f"{PACKAGE}.stages.train"], cwd=reproduced, capture_output=True,
        text=True, env={**os.environ, "PYTHONPATH": str(reproduced / "src")},
        preexec_fn=small_files, check=False,
    )  # fmt: skip
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"{MODEL} could not be written (File too large): its previous version is intact" in (
        done.stderr
    )
    assert results(reproduced) == before
    assert not list((reproduced / MODEL.parent).glob(".*.tmp"))


def test_the_debug_variable_shows_the_traceback(reproduced):
    project = reproduced
    (yaml_error,) = [
        case for case in CASES if case.name.startswith("a YAML error in params.yaml, read")
    ]
    quiet = attempt(project, yaml_error)
    loud = attempt(project, yaml_error, **{DEBUG_VARIABLE: "1"})
    assert "Traceback" not in quiet.stderr
    assert "Traceback" in loud.stderr and "ConfigError" in loud.stderr


def test_a_forced_retrain_writes_the_same_bytes_and_leaves_git_clean(reproduced):
    project = reproduced
    model_before = (project / MODEL).read_bytes()
    stale = project / "models" / ".model.skops.killed.tmp"  # as a SIGKILL mid-write leaves
    stale.write_bytes(b"half")
    repro = command(project, "-m", "dvc", "repro", "--force", "--single-item", "train")
    assert repro.returncode == 0, repro.stdout + repro.stderr
    assert (project / MODEL).read_bytes() == model_before
    assert not stale.exists()
    assert git(project, "status", "--porcelain") == ""
    assert oct((project / MODEL).stat().st_mode & 0o777) == oct(0o666 & ~current_umask())


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
{%- if cookiecutter.operations == 'yes' %}


CRAFTED = """
import io, json, sys, zipfile
text = {"__class__": "str", "__module__": "builtins", "__loader__": "JsonNode",
        "content": json.dumps("touch " + sys.argv[2]), "is_json": True, "__id__": 1}
call = {"__class__": "system", "__module__": "posix", "__loader__": "ConstructorFromReduceNode",
        "content": {"__class__": "tuple", "__module__": "builtins", "__loader__": "TupleNode",
                    "content": [text], "__id__": 2}, "__id__": 3, "protocol": 2}
with zipfile.ZipFile(sys.argv[1], "w") as archive:
    archive.writestr("schema.json", json.dumps(call))
"""


def test_a_crafted_bundle_runs_nothing_in_predict_or_serve(reproduced, tmp_path):
    """A bundle folder (what the container serves): params.yaml naming posix.system and a
    model file whose loading would call it. Used to run the command; now one line."""
    bundle, marker = tmp_path / "bundle", tmp_path / "ran"
    bundle.mkdir()
    params = (reproduced / "params.yaml").read_text()
    (bundle / "params.yaml").write_text(
        re.sub(r"(?m)^  _target_: .*$", "  _target_: posix.system", params)
    )
    (bundle / "release.json").write_text('{"version": "v9.9.9", "stage": "prod", "tag": "x"}')
    command(reproduced, "-c", CRAFTED, str(bundle / "model.skops"), str(marker))
    for run in (
        ("predict", "--input", str(RAW), "--output", str(tmp_path / "p.parquet")),
        ("serve", "--port", "1"),
    ):
        done = command(reproduced, "-m", PACKAGE, *run, "--bundle", str(bundle))
        assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
        assert "model._target_ 'posix.system' is not from a library this project allows" in (
            done.stderr
        )
        assert f"{bundle}/params.yaml" in done.stderr
    assert not marker.exists()


def test_monitor_reports_a_batch_whose_labels_are_still_blank(reproduced, tmp_path):
    """The target column is there, its cells empty: labels to come. The weekly
    `--latest` run used to fail on such a batch with a ValueError."""
    import pandas as pd

    data = load_params(reproduced / "params.yaml").data
    raw = pd.read_csv(reproduced / RAW, dtype=str, keep_default_na=False).head(120)
    batch = tmp_path / "unlabelled.csv"
    raw.assign(**{data.columns[data.target].source: ""}).to_csv(batch, index=False)
    output = tmp_path / "report"
    done = command(reproduced, "-m", PACKAGE, "monitor", "--input", str(batch), "--output",
                   str(output))  # fmt: skip
    assert "Traceback" not in done.stderr and done.returncode in (0, 1), done.stderr
    report = json.loads((output / "drift.json").read_text())
    metric = load_params(reproduced / "params.yaml").review.primary_metric
    unmeasured = {"metric": metric, "labelled_rows": 0, "status": "not measured"}
    assert report["performance"] == unmeasured
    assert "no row of the batch is labelled yet" in (output / "drift.md").read_text()


def test_add_batches_changes_raw_data_record_and_pointer_together(reproduced, tmp_path):
    """A failing `dvc add`, two runs at once, and a lost record: the raw file, the record
    and the .dvc pointer stay in step, and no batch's rows are appended twice."""
    project = reproduced
    state_files = [RAW, Path("data/added_batches.csv"), Path(f"{RAW}.dvc")]

    def state() -> list[bytes]:
        return [(project / p).read_bytes() if (project / p).exists() else b"" for p in state_files]

    lines = (project / RAW).read_bytes().splitlines(keepends=True)
    batches = project / "data/batches"
    for name, rows in (("b-1.csv", lines[1:6]), ("b-2.csv", lines[6:9])):
        renamed = [re.sub(rb"^[^,]*", name.encode(), row) for row in rows]  # studyName: unread
        (batches / name).write_bytes(lines[0] + b"".join(renamed))
    before = state()
    broken = project / ".dvc/config.local"
    broken.write_text("[core\nnot valid\n")  # dvc add fails after the raw file was written
    try:
        failed = command(project, "-m", PACKAGE, "add-batches")
    finally:
        broken.unlink()
    assert failed.returncode == 1 and "Traceback" not in failed.stderr, failed.stderr
    assert "`dvc add" in failed.stderr and state() == before

    environment = {**os.environ, "PYTHONPATH": str(project / "src")}
    adding = [sys.executable, "-m", PACKAGE, "add-batches"]
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    runs = [subprocess.Popen(adding, cwd=project, env=environment, **pipes) for _ in range(2)]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    record = (project / "data/added_batches.csv").read_text().splitlines()
    assert sorted(line.split(",")[0] for line in record[1:]) == ["b-1.csv", "b-2.csv"]
    grown = (project / RAW).read_bytes()
    assert len(grown.splitlines()) == len(lines) + 5 + 3, "each batch appended once"
    pointer_md5 = re.search(r"md5: (\w+)", (project / f"{RAW}.dvc").read_text())[1]
    assert pointer_md5 == hashlib.md5(grown).hexdigest()

    (project / "data/added_batches.csv").unlink()  # a lost record
    again = command(project, "-m", PACKAGE, "add-batches")
    assert again.returncode == 0, again.stderr
    assert "b-1.csv: its rows are already in the training data; recorded again" in again.stdout
    assert (project / RAW).read_bytes() == grown
    for name in ("b-1.csv", "b-2.csv"):
        (batches / name).unlink()
    (project / "data/added_batches.csv").unlink()  # put the shared project back
    git(project, "checkout", "--", f"{RAW}.dvc")
    command(project, "-m", "dvc", "checkout", "--force", str(RAW))
    assert state() == before
{%- endif %}
