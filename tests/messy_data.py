"""Messy raw tables built from datasets that scikit-learn ships, as a new user's data looks.

Headers with spaces and parentheses, a text target, `?` and `-` for missing numbers,
a category written with case and whitespace variants, duplicate rows and blank targets.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

REGION_VARIANTS = ["North", "north ", " east", "East", "SOUTH", "south"]
REGIONS = {"north", "east", "south"}


def header(name: str) -> str:
    words = name.replace("_", " ").split()
    return " ".join(word.capitalize() for word in words)


def make_messy(frame: pd.DataFrame, target: str, seed: int) -> pd.DataFrame:
    """``frame`` with the usual faults of a hand-kept table injected, reproducibly."""
    rng = np.random.default_rng(seed)
    frame = frame.copy().astype(object)
    numeric = [c for c in frame.columns if c != target]
    for marker, column in zip(["?", "-"], numeric[:2], strict=True):
        frame.loc[rng.choice(len(frame), 8, replace=False), column] = marker
    frame.insert(1, "Sales Region", rng.choice(REGION_VARIANTS, len(frame)))
    frame.loc[rng.choice(len(frame), 5, replace=False), target] = ""
    return pd.concat([frame, frame.iloc[:6]], ignore_index=True)  # six duplicate rows


def breast_cancer_csv(path: Path) -> Path:
    """569 tumours (+ 6 duplicates): diagnosis as text, 30 measurements, a messy region."""
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer(as_frame=True)
    frame = data.data.rename(columns=lambda c: f"{header(c)} (units)")
    frame.insert(0, "Diagnosis", data.target.map(dict(enumerate(data.target_names))))
    make_messy(frame, "Diagnosis", seed=1).to_csv(path, index=False)
    return path


def diabetes_csv(path: Path) -> Path:
    """442 patients (+ 6 duplicates): disease progression after a year, ten baselines."""
    from sklearn.datasets import load_diabetes

    data = load_diabetes(as_frame=True, scaled=False)
    frame = data.data.rename(columns=lambda c: f"Baseline {c.upper()} (raw)")
    frame.insert(0, "Progression (1 year)", data.target)
    make_messy(frame, "Progression (1 year)", seed=2).to_csv(path, index=False)
    return path
