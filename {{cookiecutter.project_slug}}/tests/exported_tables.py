"""A loan table shaped like the ones people export, written the two common ways.

Repeated customer IDs, a 50-level and a 100-level category with long tails, a month-year
column, a numeric column missing on 85 % of rows, and a target that is {{ '94 % one class' if cookiecutter.task == 'classification' else 'a skewed interest rate' }}.
Written by pandas' default ``to_csv()`` (an unnamed row index, missing values empty) or
as R's ``write.csv`` does (every header and text quoted, row names under "", ``NA``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

TARGET = "{{ 'Defaulted' if cookiecutter.task == 'classification' else 'Interest Rate' }}"
GRADES = list("ABCDEFG")
MONTHS = [f"{month}-{year}" for year in (2018, 2019) for month in
          ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
           "Dec")]  # fmt: skip


def long_tail(levels: int) -> np.ndarray:
    """Shares of ``levels`` levels: a few common, many rare (Zipf-like)."""
    weights = 1 / np.arange(1, levels + 1)
    return weights / weights.sum()


def loan_table(rows: int, seed: int = 0) -> pd.DataFrame:
    """``rows`` loans of about rows / 2.5 customers, each with one to four loans."""
    rng = np.random.default_rng(seed)
    customer = np.sort(rng.integers(0, int(rows / 2.5), rows))
    grade = rng.choice(len(GRADES), rows, p=[0.2, 0.25, 0.2, 0.15, 0.1, 0.06, 0.04])
    income = rng.lognormal(11, 0.5, rows).round(-2)
    bureau = np.where(rng.random(rows) < 0.85, np.nan, rng.normal(650, 60, rows).round())
    state = rng.choice(50, rows, p=long_tail(50))
    frame = pd.DataFrame(
        {
            "Customer ID": [f"C{c:05d}" for c in customer],
            "State": [f"State {s:02d}" for s in state],
            "Country": [f"Country {c:03d}" for c in rng.choice(100, rows, p=long_tail(100))],
            "Issue Month": rng.choice(MONTHS, rows),
            "Annual Income": income,
            "Bureau Score": bureau,  # missing on 85 % of rows
            "Grade": [GRADES[g] for g in grade],
            "Loan Amount": rng.integers(10, 400, rows) * 100,
        }
    )
    risk = grade * 0.6 - (np.log(income) - 11) * 1.5 + (state < 5) * 0.5
{%- if cookiecutter.task == 'classification' %}
    cut = np.quantile(risk + rng.normal(0, 0.8, rows), 0.94)  # the riskiest 6 % default
    frame[TARGET] = np.where(risk + rng.normal(0, 0.8, rows) > cut, "Yes", "No")
{%- else %}
    frame[TARGET] = (6 + risk * 2 + rng.gamma(2, 0.8, rows)).round(2)
{%- endif %}
    return frame


def pandas_export(frame: pd.DataFrame, path: Path) -> Path:
    """As ``frame.to_csv(path)`` writes it: the index first, under an empty header."""
    frame.to_csv(path)
    return path


def r_export(frame: pd.DataFrame, path: Path) -> Path:
    """As R's ``write.csv`` writes it: quoted headers and text, row names from 1, NA."""

    def cell(value: object) -> str:
        if pd.isna(value):
            return "NA"
        return f'"{value}"' if isinstance(value, str) else f"{value:.15g}"

    lines = [",".join(['""', *(f'"{name}"' for name in frame.columns)])]
    for number, row in enumerate(frame.itertuples(index=False), start=1):
        lines.append(",".join([f'"{number}"', *map(cell, row)]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
