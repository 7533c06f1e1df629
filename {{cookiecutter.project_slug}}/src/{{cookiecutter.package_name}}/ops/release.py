"""A registered model version, as ``serve`` and ``predict`` use it with ``--stage``,
``--version`` or ``--bundle``; the GTO helpers ``champion`` uses to register them.

By default both use the working tree's models/model.skops. A downstream service should
use what is released instead: the version GTO assigns to a stage (``prod``), or a
version by number. Its model file is fetched at the version's git tag (``dvc get``,
from the DVC cache or remote), and the params.yaml of that commit decides its schema,
features and trusted types, so a model trained on older columns is served as trained.

Where there is no git repository, as in a container, ``bundle`` first copies a
version's model file, params.yaml and name into a folder, which ``--bundle`` reads.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from ..core import paths
from ..core.commands import dvc, read_at, run, started, yaml_at
from ..core.config import Params, parse
from ..core.errors import PipelineError
from ..core.files import atomic_path, read_json
from ..core.yaml_files import read_yaml

ARTIFACT = "model"  # the name under `artifacts:` in dvc.yaml
STAGE = "prod"


def gto_command() -> str:
    """GTO's command from this interpreter's environment (it has no `python -m` form)."""
    beside = Path(sys.executable).with_name("gto")
    return str(beside) if beside.is_file() else shutil.which("gto") or "gto"


def gto(*args: str) -> str:
    return run(gto_command(), *args).stdout.strip()


NOT_REGISTERED = "Cannot find artifact"  # what GTO says before the first registration


def gto_show(name: str, *args: str) -> str | None:
    """What ``gto show`` says of ``name``, or None where GTO knows nothing of it yet; a
    PipelineError with GTO's own words when GTO fails (no git repository, a bad .gto)."""
    result = started([gto_command(), "show", name, *args])
    said = (result.stderr or result.stdout).strip()
    if result.returncode == 0 or NOT_REGISTERED in said:
        return result.stdout.strip() or None if result.returncode == 0 else None
    first = said.splitlines()[0].lstrip("❌ ") if said else f"exit code {result.returncode}"
    raise PipelineError(f"`gto show {name}` failed: {first}")


def model_md5_at(revision: str) -> str | None:
    """The model file's MD5 as dvc.lock records it at ``revision``."""
    lock = yaml_at(revision, "dvc.lock") or {}
    for stage in (lock.get("stages") or {}).values():
        for out in stage.get("outs") or []:
            if out.get("path") == str(paths.MODEL):
                return out.get("md5")
    return None


@dataclass(frozen=True)
class Release:
    """A registered version: its number, stage (if chosen by stage), tag and params."""

    version: str
    stage: str | None
    tag: str
    params: Params
    source: str  # where params came from, as messages name it
    model_file: Path | None = None  # a bundle's; None: fetched at the tag


BUNDLE_FILES = (paths.MODEL.name, paths.PARAMS.name, "release.json")


def add_release_options(parser: argparse.ArgumentParser) -> None:
    chosen = parser.add_mutually_exclusive_group()
    chosen.add_argument("--stage", help="use the model version assigned to this stage, e.g. prod")
    chosen.add_argument("--version", help="use this registered model version, e.g. v1.2.0")
    chosen.add_argument("--bundle", type=Path, help="use the version `bundle` copied here")


def find_release(
    stage: str | None, version: str | None, bundle: Path | None = None
) -> Release | None:
    """The version ``stage``, ``version`` or ``bundle`` names (None: none was given), or
    a PipelineError saying what GTO knows instead."""
    if bundle is not None:
        return read_bundle(bundle)
    if stage is None and version is None:
        return None
    name = f"{ARTIFACT}#{stage}" if stage else f"{ARTIFACT}@{version}"
    tag = gto_show(name, "--ref")
    if tag is None:
        what = f"stage {stage!r}" if stage else f"version {version!r}"
        raise PipelineError(
            f"no model is registered in {what}: see `gto show {ARTIFACT}`; register and "
            f"assign one with `gto register {ARTIFACT}` and `gto assign {ARTIFACT} --version "
            "<version> --stage <stage>` (or `champion --promote`)"
        )
    return release_at(name, tag, stage, version)


def release_at(name: str, tag: str, stage: str | None, version: str | None) -> Release:
    """The release GTO calls ``name``, whose git tag is ``tag``, with its params."""
    number = version or gto_show(name, "--version") or tag
    source = f"{paths.PARAMS} at {tag}"
    params = parse(Params, yaml_at(tag, str(paths.PARAMS)) or {}, source)
    return Release(number, stage, tag, params, source)


def fetch_model_file(release: Release, folder: Path) -> Path:
    """The release's model file: its bundle's, or fetched into ``folder``."""
    if release.model_file is not None:
        return release.model_file
    target = Path(folder) / paths.MODEL.name
    dvc("get", ".", str(paths.MODEL), "--rev", release.tag, "-o", str(target))
    return target


def write_bundle(release: Release, folder: Path) -> None:
    """Copy the release's model file, its params.yaml and its name into ``folder``."""
    with atomic_path(Path(folder), directory=True) as temporary:
        fetch_model_file(release, temporary)
        (temporary / paths.PARAMS.name).write_text(read_at(release.tag, str(paths.PARAMS)))
        named = {"version": release.version, "stage": release.stage, "tag": release.tag}
        (temporary / "release.json").write_text(json.dumps(named, indent=2) + "\n")


def read_bundle(folder: Path) -> Release:
    """The release ``write_bundle`` copied into ``folder``."""
    missing = [name for name in BUNDLE_FILES if not (Path(folder) / name).is_file()]
    if missing:
        raise PipelineError(
            f"--bundle {folder}: no {', '.join(missing)} there; write a bundle with "
            f"`bundle --stage {STAGE} --output {folder}`"
        )
    again = f"write the bundle again with `bundle --stage {STAGE} --output {folder}`"
    named = read_json(Path(folder) / "release.json", again)
    if not isinstance(named, dict) or not all(
        isinstance(named.get(key), str) for key in ("version", "tag")
    ):
        raise PipelineError(
            f"{Path(folder) / 'release.json'}: not a bundle's record (a mapping with text "
            f"version, stage and tag); {again}"
        )
    source = f"{Path(folder) / paths.PARAMS.name}"
    params = parse(Params, read_yaml(Path(folder) / paths.PARAMS.name), source)
    model_file = Path(folder) / paths.MODEL.name
    return Release(named["version"], named.get("stage"), named["tag"], params, source, model_file)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="copy a registered model version into a folder, for a container"
    )
    chosen = parser.add_mutually_exclusive_group(required=True)
    chosen.add_argument("--stage", help="the version assigned to this stage, e.g. prod")
    chosen.add_argument("--version", help="this registered version, e.g. v1.2.0")
    parser.add_argument("--output", type=Path, required=True, help="the folder to write")
    args = parser.parse_args(argv)
    release = find_release(args.stage, args.version)
    write_bundle(release, args.output)
    print(f"bundle: {ARTIFACT} {release.version} ({release.tag}) -> {args.output}")
