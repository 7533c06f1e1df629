"""The drift report as one HTML page a person reads in seconds: the verdict first, then
for each input the training data's distribution and the batch's, drawn over each other.

The charts are Vega-Lite specifications (built with Altair: the grammar DVC's own plots
use), rendered to SVG by vl-convert, in process and offline. The page embeds them
inline, so it loads nothing, needs no JavaScript, and its size depends on the number
of bins, not of rows. The data are the binned shares that drift.json already holds.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from .performance import describe

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; color: #222; }
.verdict { font-size: 1.4rem; padding: .6rem 1rem; border-radius: .4rem; }
.ok { background: #e6f4ea; } .flagged { background: #fde8e8; }
section { border-top: 1px solid #ddd; padding: .5rem 0; }
section.drift h2 { color: #b3261e; }
.why { margin: .2rem 0 .6rem; }
pre { white-space: pre-wrap; }
"""
COLOURS = {"training": "#9aa5b1", "batch": "#1f77b4"}


def distribution_chart(title: str, distribution: dict[str, list]) -> str:
    """Grouped bars: each bin's share in training and in the batch, as inline SVG."""
    import altair as alt
    import pandas as pd
    import vl_convert

    rows = [
        {"bin": name, "order": order, "data": source, "share": shares[order]}
        for source, shares in (
            ("training", distribution["reference"]),
            ("batch", distribution["batch"]),
        )
        for order, name in enumerate(distribution["bins"])
    ]
    sort = distribution["bins"]
    chart = (
        alt.Chart(pd.DataFrame(rows), title=title, width=max(160, 34 * len(sort)), height=150)
        .mark_bar()
        .encode(
            x=alt.X("bin:N", sort=sort, title=None, axis=alt.Axis(labelAngle=-30)),
            xOffset=alt.XOffset("data:N", sort=list(COLOURS)),
            y=alt.Y("share:Q", title="share of values", axis=alt.Axis(format="%")),
            color=alt.Color(
                "data:N",
                sort=list(COLOURS),
                scale=alt.Scale(domain=list(COLOURS), range=list(COLOURS.values())),
                title=None,
            ),
        )
    )
    return vl_convert.vegalite_to_svg(chart.to_dict())


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
            f"No statistic passed its threshold: PSI {result['psi']:.3f}, {result['test']} "
            f"p-value {p_value}, {missing}."
        )
    verdict = "drift" if result["drift"] else "no drift"
    return (
        f'<section class="{"drift" if result["drift"] else "stable"}">'
        f"<h2>{html.escape(name)}: {verdict}</h2>"
        f'<p class="why">{html.escape(why)}</p>'
        f"{distribution_chart(name, result['distribution'])}</section>"
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
    body = "\n".join(parts)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>Drift report: {html.escape(Path(source).name)}</title>"
        f"<style>{STYLE}</style></head><body>\n{body}\n</body></html>\n"
    )
