"""Which files in a folder are batches, in which order, and which are refused unread.

A batch is a regular file whose name ends in ``.csv`` in any case (``x.CSV`` too); names
starting with a dot (editors' lock and temporary files) are passed over. Batches are
ordered by name with the numbers in it compared as numbers, so ``batch-9.csv`` comes
before ``batch-10.csv`` and ``2026-12-01.csv`` before ``2026-12-15.csv``: the newest
batch is the last. Each entry is checked with ``lstat`` before anything opens it: a
directory, a FIFO (which would block a reader forever), a dangling link or a link to a
file outside the project is refused with what it is.
"""

from __future__ import annotations

import re
import stat
from pathlib import Path

from ..core.errors import DataError

DIGITS = re.compile(r"(\d+)")


def natural_order(path: Path) -> list[object]:
    """``path``'s name as text and numbers: even places text, odd places numbers."""
    parts = DIGITS.split(path.name.lower())
    return [int(part) if index % 2 else part for index, part in enumerate(parts)]


def kind_of(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device or other special file"


def regular_file(path: Path, inside: Path | None = None) -> Path:
    """``path``, once it is (or links to) a regular file, inside ``inside`` when given;
    checked without opening it."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    if stat.S_ISLNK(info.st_mode):
        target = path.resolve()
        if not target.exists():
            raise DataError(f"{path}: a link to {target}, which does not exist")
        if inside is not None and not target.is_relative_to(inside.resolve()):
            raise DataError(
                f"{path}: a link to {target}, outside the project; it was not read. Copy "
                "the file into the project instead"
            )
        info = target.stat()
    if not stat.S_ISREG(info.st_mode):
        raise DataError(
            f"{path}: {kind_of(info.st_mode)}, not a CSV file; it was not opened. A batch "
            "is a regular file"
        )
    return path


def batch_files(folder: Path) -> list[Path]:
    """The batches in ``folder``, oldest first; a DataError for any entry that looks like
    a batch and is not a regular file inside the project."""
    if not Path(folder).is_dir():
        raise DataError(f"{folder}: not a folder of batches")
    found = [
        path
        for path in Path(folder).iterdir()
        if path.name.lower().endswith(".csv") and not path.name.startswith(".")
    ]
    return sorted((regular_file(path, Path.cwd()) for path in found), key=natural_order)
