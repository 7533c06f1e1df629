"""Stage {{ 7 if cookiecutter.operations == 'yes' else 6 }}, report: reports/report.html, the page a person opens after ``dvc repro``.

Gathers what evaluate and clean wrote (metrics, slices, plot tables, data quality, the
model's metadata){{ ' and the monitoring history' if cookiecutter.operations == 'yes' else '' }} into one self-contained HTML file
(model_card/report_page.py). It reads reports, never data, so it takes seconds at any size.
"""

from __future__ import annotations

import pandas as pd

from ..core import paths
from ..core.config import load_params
from ..core.errors import run_main
from ..core.files import read_json, write_text
from ..model_card.report_page import Results, report_page


def plot_tables() -> dict[str, pd.DataFrame]:
    """Every table under reports/plots/, by its path there (``roc/Adelie.csv``)."""
    return {
        path.relative_to(paths.PLOTS).as_posix(): pd.read_csv(path)
        for path in sorted(paths.PLOTS.rglob("*.csv"))
    }
{%- if cookiecutter.operations == 'yes' %}


def monitoring_history() -> pd.DataFrame | None:
    """monitor's history, or None while it is empty (no batch monitored yet)."""
    if not paths.HISTORY.is_file() or not paths.HISTORY.stat().st_size:
        return None
    return pd.read_csv(paths.HISTORY, dtype={"batch_md5": str})
{%- endif %}


def main() -> None:
    params = load_params()
    tables = plot_tables()
    results = Results(
        project="{{ cookiecutter.project_name }}",
        task=params.task,
        target=params.data.target,
        primary_metric=params.review.primary_metric,
        fairness_gap=params.evaluate.fairness_gap,
        metrics=read_json(paths.METRICS),
        validation=read_json(paths.VALIDATION_METRICS),
        slices=read_json(paths.SLICE_METRICS),
        quality=read_json(paths.DATA_QUALITY),
        missing=read_json(paths.MISSING_VALUES),
        metadata=read_json(paths.METADATA),
        importance=tables.pop("importance.csv"),
        plots=tables,
{%- if cookiecutter.operations == 'yes' %}
        history=monitoring_history(),
        psi_threshold=params.monitor.psi_threshold,
{%- endif %}
        seed=params.seed,
    )
    write_text(report_page(results), paths.REPORT)
    size = paths.REPORT.stat().st_size
    print(f"report: {size / 1024:.0f} KB -> {paths.REPORT}")


if __name__ == "__main__":
    run_main(main)
