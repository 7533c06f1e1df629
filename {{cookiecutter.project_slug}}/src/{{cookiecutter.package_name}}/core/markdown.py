"""Numbers, tables and charts as the reports, the model card and the drift report print
them in Markdown, and the one escaping rule for values that come from data or config.

A class label, a slice group, a param value or a file name is data: rendered by GitHub,
a ``|`` would shift table cells, a backtick would end a code span, a newline would end
a table row, ``<`` would open raw HTML and ``@name`` would notify someone. Every such
value goes through ``code`` (shown as code) or ``text`` (shown as prose) below.
"""

from __future__ import annotations

import html
import re
from typing import Any

MISSING = "(missing)"  # a missing value, as a slice group, a category or a table cell
LONGEST = 200  # characters of one value shown; the rest is cut with an ellipsis
MENTION = re.compile(r"@(?=\w)")  # @name, @org/team: notifies unless broken


def one_line(value: object) -> str:
    """``value`` as one line of at most ``LONGEST`` characters."""
    flat = " ".join(str(value).split())
    return flat if len(flat) <= LONGEST else flat[: LONGEST - 1] + "…"


def code(value: object) -> str:
    """``value`` as an inline code span that nothing in it can end or break out of: safe
    in a table cell (``|`` escaped, as GitHub's tables require even inside code) and on
    one line. Code spans show ``@`` and ``<`` literally, so mentions and HTML are inert."""
    shown = one_line(value).replace("|", "\\|")
    longest_run = max((len(run) for run in re.findall(r"`+", shown)), default=0)
    fence = "`" * (longest_run + 1)
    padded = f" {shown} " if shown.startswith("`") or shown.endswith("`") else shown
    return f"{fence}{padded}{fence}"


def text(value: object) -> str:
    """``value`` as plain prose on one line: what could end a table cell or a code span,
    make a link or an image, or open HTML is escaped, and ``@`` mentions are broken by a
    zero-width space. (Emphasis characters are left: they cannot escape the text.)"""
    escaped = html.escape(one_line(value), quote=False)
    escaped = re.sub(r"([\\`|\[\]])", r"\\\1", escaped)
    return MENTION.sub("@\u200b", escaped)


def number(value: Any, signed: bool = False) -> str:
    """Six significant digits; ``signed`` for a change; text and booleans as code."""
    if value is None:
        return MISSING
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return code(value)
    if signed:
        return "0" if value == 0 else f"{value:+.6g}"
    return f"{value:.6g}"


def table(header: list[str], rows: list[list[Any]]) -> str:
    """A Markdown table; cells are used as given."""
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def mermaid_text(text: object, limit: int = 30) -> str:
    """``text`` as a quoted Mermaid string: no double quotes inside, at most ``limit`` long."""
    cleaned = " ".join(str(text).replace('"', "'").replace("`", "'").split())
    return '"' + (cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…") + '"'


def bar_chart(
    title: str,
    labels: list[str],
    bars: list[float],
    line: list[float] | None = None,
    horizontal: bool = False,
    y_range: tuple[float, float] | None = None,
) -> str:
    """A Mermaid XY chart: ``bars``, with ``line`` drawn over them, one value per label.

    GitHub draws Mermaid blocks in Markdown itself, so the chart needs no image host.
    """
    values = [*bars, *(line or [])]
    low, high = y_range or (min(0.0, *values), max(values))
    lines = [
        "```mermaid",
        "xychart-beta" + (" horizontal" if horizontal else ""),
        f"    title {mermaid_text(title, 80)}",
        f"    x-axis [{', '.join(mermaid_text(label) for label in labels)}]",
        f"    y-axis {low:.6g} --> {high if high > low else low + 1:.6g}",
        f"    bar [{', '.join(f'{value:.6g}' for value in bars)}]",
    ]
    if line is not None:
        lines.append(f"    line [{', '.join(f'{value:.6g}' for value in line)}]")
    return "\n".join([*lines, "```"])
