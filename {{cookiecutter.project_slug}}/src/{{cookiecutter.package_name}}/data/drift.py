"""Distributions of a reference sample and a new one, and the statistics that compare them.

Per column: the population stability index (PSI, over the reference's quantile bins
for numbers, over categories otherwise), a two-sample test (Kolmogorov-Smirnov for
numbers, chi-squared for categories, from scipy.stats) and the change in the rate
of missing values. PSI reads, by convention: below 0.1 stable, 0.1 to 0.2 a moderate
shift, above 0.2 a significant one.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..core.markdown import MISSING

EPSILON = 1e-4  # stands in for an empty bin, so PSI stays finite
SAMPLE_SIZE = 5000  # reference values kept for the KS test
RARE_SHARE = 0.01  # categories rarer than this in the reference are compared as one
# ... and so are those the batch would hold fewer times than this: PSI and chi-squared
# over bins expected to hold a handful of values are noise.
MIN_EXPECTED = 10
OTHER = "(other)"  # that one category: the rare levels, and levels unseen in training


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index between two vectors of proportions."""
    expected = np.clip(np.asarray(expected, dtype=float), EPSILON, None)
    actual = np.clip(np.asarray(actual, dtype=float), EPSILON, None)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def numeric_profile(values: pd.Series, bins: int, seed: int) -> dict[str, Any]:
    """Quantile bin edges, the share of values in each bin, missing rate, a sample."""
    present = values.dropna().astype(float)
    edges = np.unique(np.quantile(present, np.linspace(0, 1, bins + 1)[1:-1]))
    sample = present.sample(min(len(present), SAMPLE_SIZE), random_state=seed)
    return {
        "kind": "numeric",
        "edges": edges.tolist(),
        "proportions": bin_shares(present, edges).tolist(),
        "missing_rate": float(values.isna().mean()),
        "values": len(present),
        "sample": sorted(sample.round(6).tolist()),
    }


def categorical_profile(values: pd.Series) -> dict[str, Any]:
    counts = values.astype(object).where(values.notna(), MISSING).value_counts()
    present = counts.drop(MISSING, errors="ignore")
    return {
        "kind": "categorical",
        "counts": {str(k): int(v) for k, v in sorted(present.items(), key=lambda kv: str(kv[0]))},
        "missing_rate": float(values.isna().mean()),
        "values": int(present.sum()),
    }


def bin_shares(values: pd.Series, edges: list[float] | np.ndarray) -> np.ndarray:
    """The share of ``values`` in each bin: (-inf, e1], (e1, e2], ..., (ek, inf)."""
    if len(values) == 0:
        return np.zeros(len(edges) + 1)
    indices = np.searchsorted(np.asarray(edges), values.to_numpy(dtype=float), side="left")
    return np.bincount(indices, minlength=len(edges) + 1) / len(values)


def distribution(bins: list[str], reference: Any, batch: Any) -> dict[str, list]:
    """Each bin's share of the reference's values and of the batch's: what the drift page
    draws, and what PSI compares."""
    return {
        "bins": bins,
        "reference": [round(float(share), 6) for share in reference],
        "batch": [round(float(share), 6) for share in batch],
    }


def bin_names(edges: list[float]) -> list[str]:
    """Readable names of the bins ``bin_shares`` counts in."""
    shown = [f"{edge:.4g}" for edge in edges]
    if not shown:
        return ["all values"]
    inner = [f"{low} to {high}" for low, high in pairwise(shown)]
    return [f"up to {shown[0]}", *inner, f"over {shown[-1]}"]


def compare_numeric(reference: dict[str, Any], values: pd.Series) -> dict[str, Any]:
    present = values.dropna().astype(float)
    shares = bin_shares(present, reference["edges"])
    result = {
        "psi": round(psi(reference["proportions"], shares), 6),
        "missing_rate": round(float(values.isna().mean()), 6),
        "reference_missing_rate": reference["missing_rate"],
        "values": len(present),
        "test": "kolmogorov-smirnov",
        "p_value": None,
        "distribution": distribution(
            bin_names(reference["edges"]), reference["proportions"], shares
        ),
    }
    if len(present) and reference["sample"]:
        result["p_value"] = float(stats.ks_2samp(reference["sample"], present).pvalue)
    return result


def common_levels(counts: dict[str, int], batch_values: int) -> set[str]:
    """The reference's categories that are neither rare nor expected fewer than
    ``MIN_EXPECTED`` times in a batch of ``batch_values``: each is compared on its own."""
    total = max(sum(counts.values()), 1)
    share = max(RARE_SHARE, MIN_EXPECTED / max(batch_values, 1))
    return {level for level, count in counts.items() if count / total >= share}


def compare_categorical(reference: dict[str, Any], values: pd.Series) -> dict[str, Any]:
    """PSI and chi-squared over the common levels and one (other) for the rest, so that a
    category of a hundred levels is not judged on levels seen a few times."""
    counts = values.dropna().astype(str).value_counts()
    unseen = counts[~counts.index.isin(list(reference["counts"]))]
    common = common_levels(reference["counts"], int(counts.sum()))
    categories = [*sorted(common), OTHER]

    def folded(level_counts: Any) -> np.ndarray:
        shares = {level: 0.0 for level in categories}
        for level, count in level_counts.items():
            shares[level if level in common else OTHER] += count
        return np.array([shares[level] for level in categories])

    expected, actual = folded(reference["counts"]), folded(counts)
    if not expected[-1] and not actual[-1]:  # no rare level on either side
        categories, expected, actual = categories[:-1], expected[:-1], actual[:-1]
    result = {
        "psi": round(psi(expected / max(expected.sum(), 1), actual / max(actual.sum(), 1)), 6),
        "missing_rate": round(float(values.isna().mean()), 6),
        "reference_missing_rate": reference["missing_rate"],
        "values": int(actual.sum()),
        "test": "chi-squared",
        "p_value": None,
        "unseen_categories": sorted(str(c) for c in unseen.index),
        "unseen_share": round(float(unseen.sum() / max(counts.sum(), 1)), 6),
        "distribution": distribution(
            categories, expected / max(expected.sum(), 1), actual / max(actual.sum(), 1)
        ),
    }
    if actual.sum() and len(categories) > 1:
        table = np.vstack([expected, actual])
        result["p_value"] = float(stats.chi2_contingency(table).pvalue)
    return result


def compare(reference: dict[str, Any], values: pd.Series) -> dict[str, Any]:
    """The column's statistics, with a binomial test of a rise in missing values."""
    compared = compare_numeric if reference["kind"] == "numeric" else compare_categorical
    result = compared(reference, values)
    missing = int(values.isna().sum())
    rise = stats.binomtest(missing, len(values), reference["missing_rate"], "greater")
    missing_p_value = float(rise.pvalue) if len(values) else None
    known = {"reference_values": reference.get("values"), "missing_p_value": missing_p_value}
    return {**result, **known}


def profile(values: pd.Series, categorical: bool, bins: int, seed: int) -> dict[str, Any]:
    return categorical_profile(values) if categorical else numeric_profile(values, bins, seed)
