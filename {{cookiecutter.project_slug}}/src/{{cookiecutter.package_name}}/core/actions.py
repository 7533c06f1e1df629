"""Talk to GitHub Actions through the files it provides; do nothing elsewhere.

A job's summary page and a step's outputs are files whose paths GitHub puts in
``GITHUB_STEP_SUMMARY`` and ``GITHUB_OUTPUT``. Run locally, these variables are
unset and the functions return quietly, so the same commands work on a laptop.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def add_to_summary(markdown: str) -> None:
    """Append Markdown to the job summary shown on the workflow run's page."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if path:
        with Path(path).open("a", encoding="utf-8") as handle:
            handle.write(markdown.rstrip("\n") + "\n\n")


def set_output(name: str, value: str) -> None:
    """Make ``value`` readable by later steps as ``steps.<id>.outputs.<name>``.

    Written in GitHub's multi-line form, between a random delimiter the value cannot
    guess, so a value holding a newline (from a file name, say) cannot add an output.
    """
    path = os.environ.get("GITHUB_OUTPUT")
    if path:
        delimiter = f"EOF_{secrets.token_hex(16)}"
        with Path(path).open("a", encoding="utf-8") as handle:
            handle.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
