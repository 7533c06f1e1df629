"""A registered model version, as ``serve`` and ``predict`` use it with ``--stage`` or
``--version``.

By default both use the working tree's models/model.skops. A downstream service should
use what is released instead: the version GTO assigns to a stage (``prod``), or a
version by number. Its model file is fetched at the version's git tag (``dvc get``,
from the DVC cache or remote), and the params.yaml of that commit decides its schema,
features and trusted types, so a model trained on older columns is served as trained.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ..core import paths
from ..core.config import Params, parse
from ..core.errors import PipelineError
from ..review.revisions import dvc, run, yaml_at

ARTIFACT = "model"  # the name under `artifacts:` in dvc.yaml
STAGE = "prod"


def gto_command() -> str:
    """GTO's command from this interpreter's environment (it has no `python -m` form)."""
    beside = Path(sys.executable).with_name("gto")
    return str(beside) if beside.is_file() else shutil.which("gto") or "gto"


def gto(*args: str) -> str:
    return run(gto_command(), *args).stdout.strip()


def gto_show(name: str, *args: str) -> str | None:
    """What ``gto show`` says of ``name``, or None where GTO knows nothing of it yet."""
    command = [gto_command(), "show", name, *args]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    return result.stdout.strip() or None if result.returncode == 0 else None


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


def add_release_options(parser: argparse.ArgumentParser) -> None:
    chosen = parser.add_mutually_exclusive_group()
    chosen.add_argument("--stage", help="use the model version assigned to this stage, e.g. prod")
    chosen.add_argument("--version", help="use this registered model version, e.g. v1.2.0")


def find_release(stage: str | None, version: str | None) -> Release | None:
    """The version ``stage`` or ``version`` names (None: neither was given), or a
    PipelineError saying what GTO knows instead."""
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
    number = version or gto_show(name, "--version") or tag
    trained_with = yaml_at(tag, str(paths.PARAMS)) or {}
    params = parse(Params, trained_with, f"{paths.PARAMS} at {tag}")
    return Release(number, stage, tag, params)


def fetch_model_file(release: Release, folder: Path) -> Path:
    """The release's model file, fetched into ``folder``."""
    target = Path(folder) / paths.MODEL.name
    dvc("get", ".", str(paths.MODEL), "--rev", release.tag, "-o", str(target))
    return target
