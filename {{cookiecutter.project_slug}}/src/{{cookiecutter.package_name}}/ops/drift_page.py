"""The drift report as one HTML page a person reads in seconds: the verdict first, then
for each input the training data's distribution and the batch's, drawn over each other.

Drawn offline into one self-contained file (core/charts.py) from the binned shares that
drift.json already holds, so its size depends on the number of bins, not of rows.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from ..core.charts import grouped_bars, page
from .performance import describe


def column_section(name: str, result: dict[str, Any]) -> str:
    p_value = "n/a" if result["p_value"] is None else f"{result['p_value']:.2g}"
    missing = (
        f"missing {result['reference_missing_rate']:.1%} in training, "
        f"{result['missing_rate']:.1%} in the batch"
    )
    if result["drift"]:
        why = f"Flagged: {'; '.join(result['drift'])}; {missing}."
    else:
        why = (
            f"Not flagged by the rules of conf/monitor/: PSI {result['psi']:.3f}, "
            f"{result['test']} p-value {p_value}, {missing}."
        )
    verdict = "drift" if result["drift"] else "no drift"
    return (
        f'<section class="{"drift" if result["drift"] else "stable"}">'
        f"<h2>{html.escape(name)}: {verdict}</h2>"
        f'<p class="why">{html.escape(why)}</p>'
        f"{grouped_bars(name, result['distribution'])}</section>"
    )


def drift_page(source: Path, report: dict[str, Any]) -> str:
    """The whole page, from monitor's report (drift.json)."""
    flagged = report["status"] != "ok"
    drifted = report["drifted_columns"]
    summary = (
        f"{len(drifted)} of {len(report['columns'])} inputs drifted"
        + (f" ({', '.join(drifted)})" if drifted else "")
        + f"; predictions {'drifted' if report['prediction_drift'] else 'stable'}; "
        f"{report['rows']} valid rows against {report['reference_rows']} training rows"
    )
    parts = [
        f"<h1>Drift report: {html.escape(str(source))}</h1>",
        f'<p class="verdict {"flagged" if flagged else "ok"}">Status: '
        f"<strong>{html.escape(report['status'])}</strong>. {html.escape(summary)}.</p>",
    ]
    if "performance" in report:
        sentence = describe(report["performance"]).replace("**", "").replace("`", "")
        parts.append(f"<p>{html.escape(sentence)}</p>")
    if report["schema_violations"]:
        violations = html.escape("\n".join(report["schema_violations"]))
        parts.append(
            f"<p>{report['invalid_rows']} rows break the raw schema and were left out:</p>"
            f"<pre>{violations}</pre>"
        )
    ordered = sorted(report["columns"].items(), key=lambda item: not item[1]["drift"])
    parts.append(column_section("predictions", report["prediction"]))
    parts += [column_section(name, result) for name, result in ordered]
    return page(f"Drift report: {Path(source).name}", parts)
