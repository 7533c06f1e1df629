"""Add the labelled batches in data/batches/ to the raw training data, each one once.

Once the batches ``monitor`` checked carry their labels, they are what to retrain on.
Each new batch is checked against the whole raw schema, target included (every row
labelled), and its header must be the raw file's. Its rows are then appended to
``data.raw_path`` as written, so the raw file keeps its own dialect. The raw file is
versioned again with ``dvc add``, and data/added_batches.csv records each batch by
name, MD5 and rows: a batch already there is skipped, and anyone can read which
batches the training data holds. ``dvc repro`` then retrains. The retrain workflow
runs both on a schedule and opens a pull request.

The raw file, the record and the ``.dvc`` pointer change together or not at all: a lock
keeps two runs apart, and a journal under ``.dvc/tmp/`` holds the old bytes until the
last step is done. On any failure, Ctrl-C or SIGTERM they are put back; after a kill
that left no chance to, the next run puts them back first. A batch whose rows are
already at the end of some earlier append in the raw file (a lost or reverted record)
is recorded again, not appended twice.
"""

from __future__ import annotations

import argparse
import codecs
import csv
import io
import json
import mmap
import os
import re
import shutil
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from ..core import actions
from ..core.commands import dvc, git
from ..core.config import Data, load_params
from ..core.errors import DataError, PipelineError
from ..core.files import atomic_path, file_md5, remove, write_csv
from ..core.markdown import code
from ..data.reading import read_header
from ..data.schema import RawSchema
from .batches import batch_files

BATCHES = Path("data/batches")
RECORD = Path("data/added_batches.csv")  # in git: the batches the raw data holds
RECORD_COLUMNS = ["batch", "md5", "rows"]
LOCK = Path(".dvc/tmp/add-batches.lock")
JOURNAL = Path(".dvc/tmp/add-batches-journal")  # the old bytes, while a run changes them
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Batch:
    path: Path
    md5: str
    rows: int = 0
    appended: bool = True  # False: its rows were in the raw data already (only recorded)


def read_record() -> pd.DataFrame:
    """The batches already added: one row each (none before the first)."""
    if not RECORD.is_file():
        return pd.DataFrame(columns=RECORD_COLUMNS)
    try:
        record = pd.read_csv(RECORD, dtype={"batch": str, "md5": str, "rows": int})
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as error:
        problem = " ".join(str(error).split())[:200]
        record = None
    if record is None or list(record.columns) != RECORD_COLUMNS or record.isna().any().any():
        problem = "" if record is None else f"columns {list(record.columns)}, or a gap"
        raise DataError(
            f"{RECORD}: not the record add-batches writes (columns {', '.join(RECORD_COLUMNS)}"
            f", every cell filled): {problem or 'unreadable'}. Restore it with "
            f"`git checkout -- {RECORD}`; a batch whose rows the raw data already holds is "
            "recognised and recorded again"
        )
    return record


def checked_name(path: Path) -> Path:
    """A batch name goes into commit messages, branch names and Markdown: no control
    characters (a newline would forge a workflow output)."""
    if CONTROL.search(path.name):
        raise DataError(
            f"{path.parent / repr(path.name)[1:-1]}: a control character (a newline, a tab) "
            "in the file name; rename the batch"
        )
    return path


def new_batches(folder: Path, record: pd.DataFrame) -> list[Batch]:
    """The CSV files in ``folder`` not added yet. One added before and changed since is
    refused: its earlier rows are in the training data and cannot be taken back."""
    added = dict(zip(record["batch"], record["md5"], strict=True))
    known, found = set(added.values()), []
    for path in map(checked_name, batch_files(folder)):
        md5 = file_md5(path)
        if added.get(path.name, md5) != md5:
            raise DataError(
                f"{path} changed after it was added to the training data (MD5 "
                f"{added[path.name]} in {RECORD}, {md5} now): its rows cannot be "
                "taken back; put the new rows in a batch of their own"
            )
        if md5 in known:
            print(f"{path}: already in the training data, skipped")
        else:
            known.add(md5)
            found.append(Batch(path, md5))
    return found


def labelled_schema(data: Data) -> RawSchema:
    """The raw schema, with the target required: a row without its label cannot train."""
    target = data.columns[data.target].model_copy(update={"required": True})
    schema = RawSchema.of(data)
    return replace(schema, columns={**schema.columns, data.target: target})


def checked(batch: Batch, raw_header: list[str], data: Data) -> Batch:
    """``batch`` with its row count, once its header and every row pass; else a DataError
    naming the columns, or the values and their lines."""
    header = read_header(batch.path, data.encoding, data.delimiter)
    if header != raw_header:
        missing = [name for name in raw_header if name not in header]
        extra = [name for name in header if name not in raw_header]
        detail = (
            f"missing {missing}" * bool(missing)
            + "; " * bool(missing and extra)
            + f"not in the raw data {extra}" * bool(extra)
        ) or "the same columns in another order"
        if header[:1] == [""] and header[1:] == raw_header:
            detail = "an unnamed first column: the row numbers pandas' to_csv() writes unless "
            detail += "given index=False"
        raise DataError(
            f"{batch.path}: its header is not {data.raw_path}'s ({detail}); a batch is "
            "appended as written, so it must have the raw file's columns in its order"
        )
    rows = len(labelled_schema(data).read(batch.path))
    return replace(batch, rows=rows)


def data_lines(path: Path, data: Data) -> bytes:
    """The file's text after its header line(s), encoded as the raw file is."""
    utf8 = codecs.lookup(data.encoding).name == "utf-8"
    text = path.read_bytes().decode("utf-8-sig" if utf8 else data.encoding)  # no BOM inside
    lines = io.StringIO(text, newline="")
    next(csv.reader(lines, delimiter=data.delimiter))  # a quoted header may span lines
    body = text[lines.tell() :]
    return (body if not body or body.endswith(("\n", "\r")) else body + "\n").encode(data.encoding)


def append_rows(raw: Path, batches: list[Batch], data: Data) -> None:
    """Write the raw file followed by each batch's rows, atomically."""
    with atomic_path(raw) as temporary:
        shutil.copyfile(raw, temporary)
        with temporary.open("r+b") as handle:
            handle.seek(0, io.SEEK_END)
            if handle.tell():
                handle.seek(-1, io.SEEK_END)
                if handle.read(1) not in (b"\n", b"\r"):
                    handle.write(b"\n")
            for batch in batches:
                handle.write(data_lines(batch.path, data))


def already_appended(raw: Path, rows: bytes) -> bool:
    """Whether the raw file holds ``rows`` as one run of whole lines (a batch appended
    before whose record was lost). Searched in place: the file is not read into memory."""
    if not rows or raw.stat().st_size < len(rows):
        return False
    with raw.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as text:
        at = text.find(rows)
        while at != -1:
            if at == 0 or text[at - 1 : at] in (b"\n", b"\r"):
                return True
            at = text.find(rows, at + 1)
    return False


@contextmanager
def exclusive(lock: Path) -> Iterator[None]:
    """One add-batches at a time: a second run waits for the first, then sees its record."""
    import fcntl

    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"waiting for another add-batches to finish ({lock})", file=sys.stderr)
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


LINK_FROM_BYTES = 1 << 20  # larger files are kept by a hard link, not a copy


def linked(path: Path, link: Path) -> bool:
    """Whether ``link`` could be made a hard link of ``path`` (not across file systems)."""
    try:
        os.link(path, link)
    except OSError:
        return False
    return True


def keep(files: list[Path], journal: Path) -> None:
    """Copy ``files`` into ``journal`` (a missing one noted as missing), then seal it.

    A large file (the raw data) is kept by a hard link, which costs nothing: its new
    version is written beside it and renamed in (``append_rows``, ``dvc add``), so the
    old inode keeps the old bytes. Small files, which DVC may rewrite in place, are copied.
    """
    remove(journal)
    journal.mkdir(parents=True)
    saved = {}
    for number, path in enumerate(files):
        if path.exists():
            kept = journal / str(number)
            if not (path.stat().st_size >= LINK_FROM_BYTES and linked(path, kept)):
                shutil.copy2(path, kept)
            saved[str(path)] = kept.name
        else:
            saved[str(path)] = None
    (journal / "sealed.json").write_text(json.dumps(saved))


def restore(journal: Path) -> bool:
    """Put back what ``journal`` kept; False when there is no sealed journal."""
    sealed = journal / "sealed.json"
    if not sealed.is_file():
        remove(journal)  # killed before it was sealed: nothing had changed yet
        return False
    for name, kept in json.loads(sealed.read_text()).items():
        if kept is None:
            Path(name).unlink(missing_ok=True)
        elif (journal / kept).exists():  # not yet put back by a restore that was killed
            os.replace(journal / kept, name)
    remove(journal)
    return True


@contextmanager
def all_or_nothing(files: list[Path], journal: Path = JOURNAL) -> Iterator[None]:
    """Change ``files`` inside; on any failure, Ctrl-C or SIGTERM put them back."""

    def stop(number: int, _frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(number).name)

    keep(files, journal)
    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    except BaseException:
        restore(journal)
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
    remove(journal)


def add_batches(folder: Path) -> list[Batch]:
    """Add the new labelled batches in ``folder``; return them (none: nothing changed)."""
    data = load_params().data
    raw = Path(data.raw_path)
    if raw.suffix.lower() != ".csv" or not raw.is_file():
        raise DataError(
            f"data.raw_path {raw} is not a CSV file: batches are appended to a CSV raw file"
        )
    pointer = raw.with_name(raw.name + ".dvc")
    with exclusive(LOCK):
        if restore(JOURNAL):
            print("an add-batches that was killed part way was undone first", file=sys.stderr)
        record = read_record()
        raw_header = read_header(raw, data.encoding, data.delimiter)
        batches = [checked(b, raw_header, data) for b in new_batches(folder, record)]
        if not batches:
            return []
        ignore = raw.with_name(".gitignore")
        with all_or_nothing([raw, RECORD, pointer, ignore]):
            batches = [
                replace(b, appended=not already_appended(raw, data_lines(b.path, data)))
                for b in batches
            ]
            append_rows(raw, [b for b in batches if b.appended], data)
            added = [[b.path.name, b.md5, b.rows] for b in batches]
            write_csv(pd.concat([record, pd.DataFrame(added, columns=RECORD_COLUMNS)]), RECORD)
            dvc("add", str(raw))
        return batches


def branch_name(batch: Batch) -> str:
    """``retrain/<name as a slug>-<its MD5's first 8>``: ASCII, and one a name of any
    script or punctuation cannot make invalid or make the same as another batch's."""
    slug = re.sub(r"[^a-z0-9]+", "-", batch.path.stem.lower()).strip("-")[:40].strip("-")
    name = f"retrain/{slug or 'batch'}-{batch.md5[:8]}"
    if git("check-ref-format", "--branch", name).returncode != 0:
        raise PipelineError(f"{name!r} is not a valid git branch name (git check-ref-format)")
    return name


def title(batches: list[Batch]) -> str:
    names = ", ".join(code(b.path.name) for b in batches)
    rows = sum(b.rows for b in batches)
    return f"Retrain with {rows} labelled rows from {names}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=Path, default=BATCHES, help="folder of CSV batches")
    args = parser.parse_args(argv)
    batches = add_batches(args.batches)
    for batch in batches:
        if not batch.appended:
            print(f"{batch.path}: its rows are already in the training data; recorded again")
    batches = [batch for batch in batches if batch.appended]
    if not batches:
        print(f"no new labelled batch in {args.batches}: the training data is unchanged")
        return
    for batch in batches:
        print(f"{batch.path}: {batch.rows} rows added to the training data")
    print(f"recorded in {RECORD}; run `dvc repro` to retrain")
    actions.set_output("title", title(batches))
    actions.set_output("branch", branch_name(batches[-1]))
    actions.add_to_summary(f"**{title(batches)}**")
