"""The other programs the project runs (git, DVC, GTO), each failure said as what it is,
and files as another git revision holds them. The CI checks (review/) and the
operations (ops/) both call them from here.

A program that is not installed is named with how to get it, rather than surfacing as
a ``FileNotFoundError`` or, worse, read as an answer ("no model is registered"). DVC
runs from this interpreter's environment, the one the pipeline ran in.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from .errors import PipelineError
from .yaml_files import parse_yaml

INSTALL = {
    "git": "install git (https://git-scm.com) and make sure it is on PATH",
    "gto": "install the project's dependencies (`uv sync --extra dev`): GTO comes with them",
}


def started(command: list[str]) -> subprocess.CompletedProcess:
    """``command``'s result, failed or not; a PipelineError when it cannot start."""
    try:
        return subprocess.run(command, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        name = command[0].rsplit("/", 1)[-1]
        hint = INSTALL.get(name, f"install {name}")
        raise PipelineError(
            f"{name} is not installed here ({command[0]!r} not found): {hint}"
        ) from None


def run(*command: str, shown: str | None = None) -> subprocess.CompletedProcess:
    """Run ``command``; stop with its own message (as ``shown``) when it fails."""
    result = started(list(command))
    if result.returncode != 0:
        output = (result.stderr or result.stdout).strip()
        raise PipelineError(f"`{shown or ' '.join(command)}` failed:\n{output}")
    return result


def git(*args: str) -> subprocess.CompletedProcess:
    """Run git and return the result, failed or not: callers decide what a failure means."""
    return started(["git", *args])


def dvc(*args: str) -> str:
    """Run DVC from this interpreter's environment and return what it printed."""
    return run(sys.executable, "-m", "dvc", *args, shown="dvc " + " ".join(args)).stdout


def read_at(revision: str, path: str) -> str | None:
    """The text of ``path`` at ``revision``, or None where the revision has no such file."""
    result = git("show", f"{revision}:{path}")
    return result.stdout if result.returncode == 0 else None


def yaml_at(revision: str, path: str) -> Any:
    text = read_at(revision, path)
    return None if text is None else parse_yaml(text, f"{revision}:{path}")
