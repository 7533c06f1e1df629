"""Pages people open: charts drawn offline, embedded in one self-contained HTML file.

Charts are Vega-Lite specifications built with Altair (the grammar DVC's own plots use),
rendered to SVG by vl-convert, in process and without a browser or network. Pages embed
the SVG inline, so they load nothing, need no JavaScript and open anywhere. Every chart
is drawn from aggregated or sampled data, so a page's size depends on bins and classes,
not on rows.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

import pandas as pd

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 64rem;
       padding: 0 1rem; color: #222; }
.verdict { font-size: 1.3rem; padding: .6rem 1rem; border-radius: .4rem; }
.ok { background: #e6f4ea; } .flagged { background: #fde8e8; }
section { border-top: 1px solid #ddd; padding: .5rem 0 1rem; }
section.drift h2, td.flagged { color: #b3261e; font-weight: bold; }
.why { margin: .2rem 0 .6rem; }
.charts { display: flex; flex-wrap: wrap; gap: 1.5rem; align-items: flex-start; }
table { border-collapse: collapse; margin: .5rem 0; }
th, td { border-bottom: 1px solid #e3e3e3; padding: .25rem .7rem; text-align: left; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
tr.primary { background: #f3f6fb; }
pre { white-space: pre-wrap; }
"""
# The palette of every chart: reference data in grey, the data judged in blue.
COLOURS = {"training": "#9aa5b1", "batch": "#1f77b4"}
MAX_LABEL = 40  # characters of a category shown on an axis


def svg(chart: Any) -> str:
    """An Altair chart as inline SVG."""
    import vl_convert

    return vl_convert.vegalite_to_svg(chart.to_dict())


def shortened(label: object) -> str:
    text = str(label)
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def page(title: str, parts: Iterable[str]) -> str:
    """One HTML document: ``parts`` (HTML fragments) under ``title``, styled inline."""
    body = "\n".join(parts)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
        f"<body>\n{body}\n</body></html>\n"
    )


def section(heading: str, *parts: str, css: str = "") -> str:
    css_class = f' class="{css}"' if css else ""
    return f"<section{css_class}><h2>{html.escape(heading)}</h2>{''.join(parts)}</section>"


def paragraph(text: str, css: str = "") -> str:
    css_class = f' class="{css}"' if css else ""
    return f"<p{css_class}>{html.escape(text)}</p>"


def html_table(
    header: list[str], rows: list[list[Any]], flagged: set[tuple[int, int]] = frozenset()
) -> str:
    """A table of text and numbers; cells at (row, column) in ``flagged`` stand out."""

    def cell(value: Any, at: tuple[int, int]) -> str:
        numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
        text = "" if value is None else f"{value:.6g}" if isinstance(value, float) else value
        css = [name for name, on in (("number", numeric), ("flagged", at in flagged)) if on]
        attribute = f' class="{" ".join(css)}"' if css else ""
        return f"<td{attribute}>{html.escape(str(text))}</td>"

    head = "".join(f"<th>{html.escape(name)}</th>" for name in header)
    body = "".join(
        "<tr>" + "".join(cell(value, (r, c)) for c, value in enumerate(row)) + "</tr>"
        for r, row in enumerate(rows)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def grouped_bars(title: str, distribution: dict[str, list]) -> str:
    """Each bin's share in the training data and in the batch, side by side."""
    import altair as alt

    rows = [
        {"bin": shortened(name), "data": source, "share": shares[order]}
        for source, shares in (
            ("training", distribution["reference"]),
            ("batch", distribution["batch"]),
        )
        for order, name in enumerate(distribution["bins"])
    ]
    sort = list(dict.fromkeys(shortened(name) for name in distribution["bins"]))
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
    return svg(chart)


def horizontal_bars(
    frame: pd.DataFrame, x: str, y: str, title: str, x_title: str, error: str | None = None
) -> str:
    """One bar per row of ``frame``, longest first, with ``error`` as a ± whisker."""
    import altair as alt

    frame = frame.assign(**{y: frame[y].map(shortened)})
    order = list(frame[y])
    base = alt.Chart(frame, title=title, width=360, height=max(60, 18 * len(frame)))
    bars = base.mark_bar(color=COLOURS["batch"]).encode(
        x=alt.X(f"{x}:Q", title=x_title), y=alt.Y(f"{y}:N", sort=order, title=None)
    )
    if error is None:
        return svg(bars)
    whiskers = base.mark_errorbar(color="#333").encode(
        x=alt.X(f"{x}:Q", title=x_title),
        xError=alt.XError(f"{error}:Q"),
        y=alt.Y(f"{y}:N", sort=order),
    )
    return svg(bars + whiskers)
