"""Model files: skops archives written byte for byte the same, loaded only as declared.

skops names an archive's members after Python object ids and stamps them with the
time, so the same model gave different bytes on every run: a new hash in dvc.lock and a
new model version each retrain. ``save`` rewrites the archive canonically. ``load``
refuses any object type not in ``trusted``, rather than skops' default of trusting every
scikit-learn estimator, and turns a damaged file into one clear message.
"""

from __future__ import annotations

import io
import json
import warnings
import zipfile
from pathlib import Path
from typing import Any

from .errors import DataError
from .files import write_with

SCHEMA = "schema.json"
FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip archive can hold
REBUILD = "Rebuild it with `dvc repro train`, or fetch it with `dvc pull`."


def renumbered(schema: Any, members: dict[str, bytes]) -> tuple[Any, dict[str, bytes]]:
    """The schema and members with object ids and file names numbered by first appearance."""
    ids: dict[Any, int] = {}
    files: dict[str, str] = {}

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, dict):
            return node
        copy = {}
        for key, value in node.items():
            if key == "__id__":
                copy[key] = ids.setdefault(value, len(ids))
            elif key == "file" and isinstance(value, str) and value in members:
                copy[key] = files.setdefault(value, f"{len(files)}{Path(value).suffix}")
            else:
                copy[key] = walk(value)
        return copy

    schema = walk(schema)
    return schema, {files.get(name, name): content for name, content in members.items()}


def canonical(archive: bytes) -> dict[str, bytes]:
    """An archive's members, renumbered, as the bytes to write under each name."""
    with zipfile.ZipFile(io.BytesIO(archive)) as source:
        members = {name: source.read(name) for name in source.namelist()}
    schema, renamed = renumbered(json.loads(members.pop(SCHEMA)), members)
    return {SCHEMA: json.dumps(schema, separators=(",", ":")).encode(), **renamed}


def write_canonical(members: dict[str, bytes], target: Path) -> None:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as archive:
        for name in sorted(members):
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.external_attr = 0o644 << 16
            archive.writestr(info, members[name])


def save(model: Any, path: Path) -> None:
    """Write ``model`` with skops; the same model always gives the same bytes."""
    import skops.io as sio

    members = canonical(sio.dumps(model))  # in memory: the file is written once
    write_with(path, lambda temporary: write_canonical(members, temporary))


def object_types(node: Any, found: set[str] | None = None) -> set[str]:
    """Every ``module.Class`` the archive builds as a plain object.

    These are the ones skops trusts broadly by default (any scikit-learn estimator, for
    one), so they are checked against the project's list instead. skops keeps its narrow
    defaults for the other kinds of member: numbers, containers, arrays, losses.
    """
    found = set() if found is None else found
    if isinstance(node, dict):
        if node.get("__loader__") == "ObjectNode":
            found.add(f"{node.get('__module__')}.{node.get('__class__')}")
        for value in node.values():
            object_types(value, found)
    elif isinstance(node, list):
        for value in node:
            object_types(value, found)
    return found


def load(path: Path, trusted: list[str], libraries: tuple[str, ...] = ()) -> Any:
    """The model in ``path``, refusing a damaged file or any type that is neither in
    ``trusted`` nor defined in one of ``libraries`` (top-level package names)."""
    import skops.io as sio

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} not found. {REBUILD}")
    content = path.read_bytes()  # read once, checked and loaded from memory
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            types = object_types(json.loads(archive.read(SCHEMA)))
        types |= set(sio.get_untrusted_types(data=content))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as error:
        raise DataError(f"{path} is not a readable skops model file ({error}). {REBUILD}") from None
    ours = {name for name in types if name.split(".")[0] in libraries}
    untrusted = sorted(types - set(trusted) - ours)
    if untrusted:
        raise DataError(
            f"{path} contains types that are not trusted: {', '.join(untrusted)}. If you "
            "created this model yourself, add them to TRUSTED_TYPES in modeling.py."
        )
    from sklearn.exceptions import InconsistentVersionWarning

    try:
        with warnings.catch_warnings():  # another version may read it wrongly: refuse
            warnings.simplefilter("error", InconsistentVersionWarning)
            return sio.loads(content, trusted=sorted(types))
    except InconsistentVersionWarning as mismatch:
        raise DataError(
            f"{path} was saved by scikit-learn {mismatch.original_sklearn_version} and this "
            f"environment has {mismatch.current_sklearn_version}, which may read it wrongly: "
            "install the locked versions (`uv sync --locked`), or retrain with `dvc repro`"
        ) from None
    except Exception as error:  # skops raises many kinds for a damaged member
        raise DataError(f"{path} could not be loaded ({error}). {REBUILD}") from None
