"""Atomic reads and writes of the files stages exchange.

Every write goes to a temporary file in the destination's directory and is then
renamed over the target, so an interrupted or failing stage never leaves a half
file that DVC, or the next stage, could mistake for a result.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import DataError

if TYPE_CHECKING:
    import pandas as pd

# Why a write can fail that the user can fix: no space, a read-only or forbidden place.
UNWRITABLE = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM}


def temporary_files(target: Path) -> list[Path]:
    """Writes of ``target`` in progress, or left behind by a killed process."""
    return list(target.parent.glob(f".{target.name}.*.tmp"))


def default_mode(directory: bool = False) -> int:
    """The mode a new file (0644 under the usual umask 022) or directory (0755) gets."""
    mask = os.umask(0)
    os.umask(mask)
    return (0o777 if directory else 0o666) & ~mask


def remove(path: Path) -> None:
    """Remove a file or a directory tree, if it is there."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


@contextmanager
def atomic_path(target: Path, directory: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it over ``target`` on success.

    With ``directory`` the temporary path is an empty directory (a partitioned Parquet
    output), and whatever was at ``target`` before, file or directory, is replaced. The
    name matches ``.*.tmp``, which .gitignore and .dvcignore leave out; stale ones from an
    earlier, killed write of the same target are removed first.
    """
    shown, target = target, Path(target).absolute()  # a Dask worker may run elsewhere
    temporary = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        for stale in temporary_files(target):
            remove(stale)
        prefix, where = f".{target.name}.", target.parent
        if directory:
            temporary = Path(tempfile.mkdtemp(prefix=prefix, suffix=".tmp", dir=where))
        else:
            handle, name = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=where)
            os.close(handle)
            temporary = Path(name)
        yield temporary
        os.chmod(temporary, default_mode(directory))  # mkstemp and mkdtemp make 0600, 0700
        if target.is_dir() or (directory and target.exists()):  # no rename over: swap
            old = Path(tempfile.mkdtemp(prefix=prefix, suffix=".tmp", dir=where))
            os.replace(target, old / target.name)
            os.replace(temporary, target)
            remove(old)
        else:
            os.replace(temporary, target)
    except OSError as error:
        reason = unwritable(error)
        if reason is None:
            raise
        kept = "its previous version is intact" if target.exists() else "nothing was written"
        raise DataError(f"{shown} could not be written ({reason}): {kept}") from None
    finally:
        if temporary is not None:
            remove(temporary)


def unwritable(error: OSError) -> str | None:
    """Why ``error`` stopped a write, when it is a reason the user can fix (pyarrow
    raises OSError with the reason in its message only)."""
    for number in UNWRITABLE:
        if error.errno == number or os.strerror(number) in str(error):
            return os.strerror(number)
    return None


def write_with(target: Path, writer: Callable[[Path], None]) -> None:
    """Write ``target`` atomically with ``writer(temporary_path)``."""
    with atomic_path(target) as temporary:
        writer(temporary)


def write_parquet(frame: pd.DataFrame, target: Path) -> None:
    write_with(target, lambda path: frame.to_parquet(path, index=False))


def write_csv(frame: pd.DataFrame, target: Path) -> None:
    write_with(target, lambda path: frame.to_csv(path, index=False, lineterminator="\n"))


def write_text(text: str, target: Path) -> None:
    write_with(target, lambda path: path.write_text(text, encoding="utf-8"))


def write_json(payload: Any, target: Path) -> None:
    write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n", target)


def file_md5(path: Path) -> str:
    """The MD5 DVC records for a file in its .dvc file and dvc.lock (read in 1 MB pieces,
    so a large batch is never whole in memory)."""
    digest = hashlib.md5()
    with Path(path).open("rb") as handle:
        for piece in iter(lambda: handle.read(1 << 20), b""):
            digest.update(piece)
    return digest.hexdigest()


def require_input(path: Path) -> None:
    """Refuse a missing input, saying which stage produces it."""
    if not Path(path).exists():  # a file, or a partitioned Parquet directory
        raise DataError(f"{path} not found. It is produced by an earlier stage: run `dvc repro`.")


STAGE_OUTPUT = "it is written by a stage: run `dvc repro --force` to rewrite it"


def read_json(path: Path, fix: str = STAGE_OUTPUT) -> Any:
    """Read a JSON input, saying which stage produces it when it is missing and where it
    breaks, and ``fix``, when it is damaged."""
    require_input(path)
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        where = (
            f"{error.msg}, line {error.lineno} column {error.colno}"
            if isinstance(error, json.JSONDecodeError)
            else "not UTF-8 text"
        )
        raise DataError(f"{path}: not valid JSON ({where}); {fix}") from None


def read_parquet(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """Read a stage's input (all columns, or ``columns``), saying which stage produces
    it when it is missing."""
    require_input(path)
    import pandas as pd  # not paid for by commands that never read a table

    return pd.read_parquet(path, columns=columns)


def parquet_rows(path: Path) -> int:
    """A Parquet file's row count, from its footer: no need to read the table."""
    require_input(path)
    import pyarrow.parquet as pq

    files = sorted(Path(path).glob("*.parquet")) if Path(path).is_dir() else [path]
    return sum(pq.read_metadata(file).num_rows for file in files)
