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


def record(row: dict[str, Any], output: Path) -> pd.DataFrame:
    """Add ``row`` to ``output``'s history, replacing an earlier run on the same batch."""
    path = Path(output) / HISTORY
    earlier = []
    if path.is_file() and path.stat().st_size:  # the project starts with an empty one
        earlier = pd.read_csv(path, dtype={"batch_md5": str}).to_dict("records")
    kept = [run for run in earlier if run["batch_md5"] != row["batch_md5"]]
    history = pd.DataFrame([*kept, row])  # columns in order of first use
    write_csv(history, path)
    return history
