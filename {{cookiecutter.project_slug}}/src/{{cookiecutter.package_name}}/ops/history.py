"""Every monitor run remembered: one row per batch in ``<output>/history.csv``.

A drift report describes one batch; a slow slide over weeks shows only across batches.
Each run adds the batch's row (or replaces it, for a batch checked before: the same
content, by MD5, is one batch whatever its file name): when it was checked, the model
version, rows, status, the PSI of each input and of the predictions and, for a labelled
batch, the primary metric beside its test score. The file is small: commit it, and
``dvc plots show`` draws any of its columns over the batches, and the project report
(stage report) draws the PSI of each input over the batches monitored.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pandas as pd

from ..core.errors import DataError
from ..core.files import file_md5, write_csv

HISTORY = "history.csv"


def history_row(source: Path, report: dict[str, Any], version: str) -> dict[str, Any]:
    """The batch's row: what it was, when it was checked, and what was found."""
    row = {
        "batch": Path(source).name,
        "batch_md5": file_md5(source),
        "checked_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "model_version": version,
        "rows": report["rows"],
        "status": report["status"],
        "drifted_columns": " ".join(report["drifted_columns"]),
        **{f"psi_{name}": result["psi"] for name, result in report["columns"].items()},
        "psi_prediction": report["prediction"]["psi"],
    }
    found = report.get("performance") or {}
    if "score" in found:
        row |= {found["metric"]: found["score"], f"test_{found['metric']}": found["test_score"]}
    return row


def read_history(path: Path) -> pd.DataFrame | None:
    """The history at ``path``, or None while it is missing or empty (the project starts
    with an empty one); a DataError naming the fix when it is damaged."""
    if not Path(path).is_file() or not Path(path).stat().st_size:
        return None
    try:
        history = pd.read_csv(path, dtype={"batch_md5": str, "batch": str})
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError):
        history = None
    if history is None or not {"batch", "batch_md5", "status"} <= set(history.columns):
        raise DataError(
            f"{path}: not a monitor history (a CSV with batch, batch_md5, status, ...); "
            f"restore it with `git checkout -- {path}`, or move it away to start a new one"
        )
    return history


def record(row: dict[str, Any], output: Path) -> pd.DataFrame:
    """Add ``row`` to ``output``'s history, replacing an earlier run on the same batch."""
    path = Path(output) / HISTORY
    history = read_history(path)
    earlier = [] if history is None else history.to_dict("records")
    kept = [run for run in earlier if run["batch_md5"] != row["batch_md5"]]
    history = pd.DataFrame([*kept, row])  # columns in order of first use
    write_csv(history, path)
    return history
