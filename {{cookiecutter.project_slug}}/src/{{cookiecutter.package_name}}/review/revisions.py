"""Files as another git revision holds them, and DVC's own comparisons as data.

Pull-request checks compare the working tree (just reproduced) with a committed
revision: HEAD to check that results reproduce, the base branch to report changes.
DVC runs from this interpreter's environment, the one the pipeline ran in.
"""

from __future__ import annotations

import sys
from typing import Any

from ..core.commands import git, run
from ..core.yaml_files import parse_yaml


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
