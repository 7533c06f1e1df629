"""The other programs the project runs (git, DVC, GTO), each failure said as what it is.

A program that is not installed is named with how to get it, rather than surfacing as
a ``FileNotFoundError`` or, worse, read as an answer ("no model is registered").
"""

from __future__ import annotations

import subprocess

from .errors import PipelineError

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
